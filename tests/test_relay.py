"""Event delivery: the visibility watermark, the relay (order, exactly once, latency, restart), snapshots'
as_of_seq under in-flight writers, and two no-show sweepers at once. Real Postgres, many connections."""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from qms.apicall import call_api
from qms.relay import CHANNEL, MAX_PAYLOAD, Relay, pack_batches


# -- fixture data: tenant, branch, service and counter through the api fixtures; tickets and events are
# written raw (new_ticket, insert_event), so each test controls exactly which log rows the relay sees ------
@dataclass
class World:
    url: str
    tenant_id: uuid.UUID = field(default_factory=uuid.uuid4)
    branch_id: uuid.UUID = field(default_factory=uuid.uuid4)
    service_id: uuid.UUID = field(default_factory=uuid.uuid4)
    counter_id: uuid.UUID = field(default_factory=uuid.uuid4)
    numbers: int = 0

    def setup(self) -> World:
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("select qms.create_tenant('Acme', %s)", (f"t-{uuid.uuid4().hex[:12]}",)).fetchone()
            assert row is not None
            self.tenant_id = row[0]
            row = conn.execute("select tests.seed_branch(%s)", (self.tenant_id,)).fetchone()
            assert row is not None
            self.branch_id = uuid.UUID(row[0]["branch_id"])
            self.service_id = uuid.UUID(row[0]["service_ids"][0])
            self.counter_id = uuid.UUID(row[0]["counter_ids"][0])
        return self

    def new_ticket(self, conn: psycopg.Connection[Any]) -> uuid.UUID:
        self.numbers += 1
        ticket_id = uuid.uuid4()
        conn.execute(
            "insert into qms.tickets (tenant_id, ticket_id, branch_id, service_id, ticket_number, number_seq,"
            " business_date, channel) values (%s, %s, %s, %s, %s, %s, current_date, 'kiosk')",
            (self.tenant_id, ticket_id, self.branch_id, self.service_id, f"A-{self.numbers:03}", self.numbers),
        )
        return ticket_id


def insert_event(conn: psycopg.Connection[Any], w: World, ticket_id: uuid.UUID, ticket_seq: int, status: str) -> int:
    row = conn.execute(
        "insert into qms.ticket_events (tenant_id, ticket_id, ticket_seq, branch_id, service_id, type, payload, hash)"
        " values (%s, %s, %s, %s, %s, 'ticket.test', jsonb_build_object('changes', jsonb_build_object('status', %s::text)),"
        " sha256(gen_random_uuid()::text::bytea)) returning seq",
        (w.tenant_id, ticket_id, ticket_seq, w.branch_id, w.service_id, status),
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def world(db_url: str) -> World:
    return World(db_url).setup()


@contextmanager
def worker_conn(url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set role qms_worker")
        yield conn


def relay_once(conn: psycopg.Connection[Any], after: int) -> list[int]:
    """One relay_events call in its own transaction (as the relay does)."""
    with conn.transaction():
        return [int(r[0]) for r in conn.execute("select seq from worker.relay_events(%s)", (after,)).fetchall()]


# -- packing ---------------------------------------------------------------------------------------------
def test_pack_batches_splits_under_the_notify_limit_in_order() -> None:
    envelopes = [
        {"v": 1, "seq": i, "type": "ticket.called", "payload": {"ticket_number": "Ä" * 50}} for i in range(400)
    ]
    payloads = pack_batches(envelopes)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD for p in payloads)
    seqs = [e["seq"] for p in payloads for e in json.loads(p)["events"]]
    assert seqs == list(range(400))
    assert pack_batches([]) == []


# -- the watermark rule ------------------------------------------------------------------------------------
def test_an_old_xid_with_a_higher_seq_is_held_back_until_the_lower_seq_commits(world: World) -> None:
    """T1 takes its xid first, T2 draws seq s1, T1 draws s2 > s1 and commits: s2 must wait for s1.

    The naive rule (deliver events whose own xid < snapshot xmin) would deliver s2 and lose s1."""
    url = world.url
    with (
        psycopg.connect(url) as t1,
        psycopg.connect(url) as t2,
        psycopg.connect(url, autocommit=True) as owner,
        worker_conn(url) as relay,
    ):
        tickets = [world.new_ticket(owner) for _ in range(2)]
        base = relay_once(relay, 0)
        for _ in range(3):  # settle everything so far
            base = relay_once(relay, 0)
        after = max(base, default=0)
        t1.execute("select pg_current_xact_id()")  # T1's xid is older than T2's
        t2.execute("select pg_current_xact_id()")
        s1 = insert_event(t2, world, tickets[0], 1, "waiting")
        s2 = insert_event(t1, world, tickets[1], 1, "waiting")
        assert s1 < s2
        t1.commit()
        naive = owner.execute(
            "select seq from qms.ticket_events where xid < pg_snapshot_xmin(pg_current_snapshot()) and seq > %s",
            (after,),
        ).fetchall()
        assert (s2,) in naive, "the naive xid rule would deliver s2 while s1 is in flight"
        for _ in range(5):
            delivered = relay_once(relay, after)
            assert s2 not in delivered and s1 not in delivered
            time.sleep(0.01)
        t2.commit()
        got: list[int] = []
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            got = relay_once(relay, after)
            time.sleep(0.005)
        assert got == [s1, s2]


def test_snapshot_as_of_seq_never_passes_an_event_in_flight(world: World) -> None:
    url = world.url
    claims = {"role": "qms_agent", "tenant_id": str(world.tenant_id), "branch_ids": [str(world.branch_id)], "sub": "a"}
    with (
        psycopg.connect(url) as writer,
        psycopg.connect(url, autocommit=True) as owner,
        psycopg.connect(url, autocommit=True) as agent,
        worker_conn(url) as relay,
    ):
        ticket = world.new_ticket(owner)

        def as_of() -> int:
            return int(call_api(agent, "queue_snapshot", claims, branch_id=world.branch_id)["as_of_seq"])

        writer.execute("update qms.tickets set status = 'waiting' where ticket_id = %s", (ticket,))  # old xid
        s1 = insert_event(writer, world, ticket, 1, "waiting")
        other = world.new_ticket(owner)
        s2 = insert_event(owner, world, other, 1, "waiting")  # committed, higher seq
        for _ in range(4):
            relay_once(relay, 0)
            time.sleep(0.005)
        assert as_of() < s1, "as_of_seq must stay below an event still in flight"
        writer.commit()
        deadline = time.monotonic() + 5
        while as_of() < s2 and time.monotonic() < deadline:
            relay_once(relay, 0)
            time.sleep(0.005)
        assert as_of() >= s2
        # every event with seq <= as_of_seq is visible to the reader
        seen = agent.execute("select count(*) from qms.ticket_events where seq in (%s, %s)", (s1, s2)).fetchone()
        assert seen == (2,)


# -- the relay ---------------------------------------------------------------------------------------------
@dataclass
class Listener:
    url: str
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"listen {CHANNEL}")
            self.ready.set()
            while not self.stop.is_set():
                for n in conn.notifies(timeout=0.2):
                    now = time.monotonic()
                    assert len(n.payload.encode()) <= MAX_PAYLOAD
                    for env in json.loads(n.payload)["events"]:
                        self.received.append((now, env))

    def seqs(self) -> list[int]:
        return [int(e["seq"]) for _, e in self.received]


@contextmanager
def running(target: Any) -> Iterator[threading.Thread]:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    yield thread


def test_relay_delivers_out_of_order_commits_in_seq_order_exactly_once(world: World) -> None:
    url = world.url
    listener = Listener(url)
    relay = Relay(url, interval=0.005)
    committed: dict[int, float] = {}
    lock = threading.Lock()
    rolled_back: list[int] = []

    def writer(k: int) -> None:
        rnd = random.Random(k)
        with psycopg.connect(url) as conn:
            ticket = world.new_ticket(conn)
            conn.commit()
            ticket_seq = 0
            for _ in range(25):
                if rnd.random() < 0.5:
                    conn.execute("select pg_current_xact_id()")  # take the xid early, seq later
                time.sleep(rnd.random() * 0.003)
                seq = insert_event(conn, world, ticket, ticket_seq + 1, "waiting")
                time.sleep(rnd.random() * 0.006)
                if rnd.random() < 0.1:
                    conn.rollback()
                    with lock:
                        rolled_back.append(seq)
                    continue
                conn.commit()
                done = time.monotonic()
                ticket_seq += 1
                with lock:
                    committed[seq] = done

    with running(listener.run) as lt, running(relay.run) as rt:
        assert listener.ready.wait(10)
        writers = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        deadline = time.monotonic() + 10
        while len(listener.received) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # anything extra (a duplicate) would arrive now
        relay.stop()
        listener.stop.set()
        rt.join(10)
        lt.join(10)

    seqs = listener.seqs()
    assert seqs == sorted(committed), "every committed event once, in seq order"
    assert not set(seqs) & set(rolled_back)
    latencies = sorted((at - committed[int(e["seq"])]) * 1000 for at, e in listener.received)
    p50 = statistics.median(latencies)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"\nrelay latency commit->notify over {len(latencies)} events: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    assert p50 < 500, "generous bound: the relay polls every 5 ms"
    env = listener.received[0][1]
    assert set(env) == {"v", "type", "seq", "ts", "tenant_id", "branch_id", "payload"}
    assert set(env["payload"]) == {
        "service_id", "counter_id", "area_id", "display_area_id", "prev_display_area_id", "ticket_id",
        "ticket_number", "status",
    }  # fmt: skip
    assert env["payload"]["status"] == "waiting" and env["tenant_id"] == str(world.tenant_id)


def test_relay_cli_stops_on_sigterm_and_resumes_from_its_position(world: World) -> None:
    url = world.url
    listener = Listener(url)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "qms.relay", "--database-url", url, "--interval", "0.005"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )

    def add_events(n: int) -> list[int]:
        with psycopg.connect(url, autocommit=True) as conn:
            ticket = world.new_ticket(conn)
            return [insert_event(conn, world, ticket, i + 1, "waiting") for i in range(n)]

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 15
        while len(listener.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    with running(listener.run) as lt:
        assert listener.ready.wait(10)
        first = add_events(5)
        proc = start()
        try:
            wait_for(5)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "relay stopped" in err
        second = add_events(3)
        proc = start()
        try:
            wait_for(8)
            time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=15)
        listener.stop.set()
        lt.join(10)
    assert listener.seqs() == first + second, "the restarted relay resumes after its stored position"
    with psycopg.connect(url) as conn:
        assert conn.execute("select last_seq from qms.relay_state where relay_name = 'default'").fetchone() == (
            second[-1],
        )


# -- two sweepers at once ---------------------------------------------------------------------------------
def test_two_sweepers_at_once_write_one_no_show_event_per_ticket(world: World) -> None:
    url = world.url
    n = 120
    with psycopg.connect(url, autocommit=True) as owner:
        # n overdue called tickets (each a counter of its own: one active ticket per counter)
        for i in range(n):
            ticket = world.new_ticket(owner)
            row = owner.execute(
                "select tests.add_counter(%s, %s, %s, %s)",
                (world.tenant_id, world.branch_id, f"K{i}", [world.service_id]),
            ).fetchone()
            assert row is not None
            counter = row[0]
            owner.execute(
                "update qms.tickets set status = 'called', counter_id = %s, called_at = now() - interval '1 hour'"
                " where ticket_id = %s",
                (counter, ticket),
            )
    barrier = threading.Barrier(2)
    swept: list[int] = []

    def sweeper() -> None:
        with worker_conn(url) as conn:
            conn.execute(
                """select set_config('request.jwt.claims', '{"role": "qms_worker", "sub": "sweeper"}', false)"""
            )
            barrier.wait()
            total = 0
            while True:
                with conn.transaction():
                    row = conn.execute("select worker.sweep_no_shows(max_rows => 7)").fetchone()
                assert row is not None
                total += int(row[0])
                if row[0] == 0:
                    break
            swept.append(total)

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(swept) == n
    with psycopg.connect(url) as conn:
        counts = conn.execute(
            "select count(*) filter (where type = 'ticket.no_show'), count(distinct ticket_id) filter (where type = 'ticket.no_show')"
            " from qms.ticket_events where tenant_id = %s",
            (world.tenant_id,),
        ).fetchone()
        assert counts == (n, n)
        assert conn.execute(
            "select count(*) from qms.tickets where tenant_id = %s and status = 'no_show'", (world.tenant_id,)
        ).fetchone() == (n,)


def test_relay_latency_with_short_transactions(world: World) -> None:
    """Commit -> NOTIFY latency when writers behave like the engine (short transactions), reported."""
    url = world.url
    listener = Listener(url)
    relay = Relay(url, interval=0.005)
    committed: dict[int, float] = {}
    with running(listener.run) as lt, running(relay.run) as rt:
        assert listener.ready.wait(10)
        with psycopg.connect(url) as conn:
            ticket = world.new_ticket(conn)
            conn.commit()
            for i in range(60):
                seq = insert_event(conn, world, ticket, i + 1, "waiting")
                conn.commit()
                committed[seq] = time.monotonic()
                time.sleep(0.01 + random.random() * 0.01)
        deadline = time.monotonic() + 10
        while len(listener.received) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.02)
        relay.stop()
        listener.stop.set()
        rt.join(10)
        lt.join(10)
    assert listener.seqs() == sorted(committed)
    latencies = sorted((at - committed[int(e["seq"])]) * 1000 for at, e in listener.received)
    p50 = statistics.median(latencies)
    print(f"\nrelay latency, short transactions: p50 {p50:.1f} ms, max {latencies[-1]:.1f} ms")
    assert p50 < 250, "generous bound: the relay polls every 5 ms"
