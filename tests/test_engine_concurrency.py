"""The queue engine under many real connections: call_next never hands out a ticket twice nor loses one,
idempotent retries racing each other produce one effect, and racing no-show sweepers act once per ticket."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from engine_fixtures import AGENT, WORKER, Seed, connect_as, create_tickets, make_claims, owner_rows, seed_branch

WORKERS = 32
TICKETS = 2000


def run_threads(n: int, target: Callable[[int, threading.Barrier], None], timeout: float = 120) -> None:
    """Start ``n`` threads that share a barrier, wait for all of them, and fail when one hangs."""
    barrier = threading.Barrier(n, timeout=30)
    threads = [threading.Thread(target=target, args=(i, barrier), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a worker thread hung (deadlock or lost wake-up?)"


def drain_counters(url: str, seed: Seed, workers: int) -> tuple[list[str], list[str]]:
    """``workers`` threads, each owning one counter, loop call_next -> start -> complete until the queue
    is empty. Returns (ticket ids called, errors raised)."""
    called: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(i: int, barrier: threading.Barrier) -> None:
        counter = str(seed.counter_ids[i])
        mine: list[str] = []
        try:
            with connect_as(url, AGENT, seed.claims(sub=f"agent-{i}")) as conn:
                barrier.wait()
                while True:
                    row = conn.execute("select api.call_next(counter_id => %s) as r", (counter,)).fetchone()
                    assert row is not None
                    result = row["r"]
                    ticket = result["ticket"]
                    if ticket is None:
                        assert result["reason"] == "queue_empty", result
                        break
                    assert ticket["status"] == "called" and ticket["counter_id"] == counter, ticket
                    mine.append(ticket["ticket_id"])
                    for action in ("start", "complete"):
                        conn.execute(
                            "select api.ticket_action(ticket_id => %s, action => %s, counter_id => %s)",
                            (ticket["ticket_id"], action, counter),
                        )
        except Exception as exc:  # collected and asserted on in the main thread
            with lock:
                errors.append(f"worker {i}: {type(exc).__name__}: {exc}")
        with lock:
            called.extend(mine)

    run_threads(workers, work)
    return called, errors


def assert_each_ticket_done_once(url: str, seed: Seed, called: list[str], errors: list[str]) -> None:
    assert errors == []
    assert len(called) == TICKETS
    assert len(set(called)) == TICKETS, "a ticket was handed to two counters"
    tickets = owner_rows(
        url, "select ticket_id::text, status::text from qms.tickets where tenant_id = %s", (seed.tenant_id,)
    )
    assert {t["ticket_id"] for t in tickets} == set(called), "a ticket was lost or never called"
    assert {t["status"] for t in tickets} == {"done"}
    events = owner_rows(
        url,
        "select ticket_id::text, count(*) as n from qms.ticket_events"
        " where tenant_id = %s and type = 'ticket.called' group by ticket_id",
        (seed.tenant_id,),
    )
    assert sum(e["n"] for e in events) == TICKETS
    assert max(e["n"] for e in events) == 1, "a ticket has two ticket.called events"


def test_32_counters_drain_one_service(db_url: str) -> None:
    seed = seed_branch(db_url, n_services=1, n_counters=WORKERS)
    assert create_tickets(db_url, seed.claims(), seed.service_ids[0], TICKETS) == TICKETS
    called, errors = drain_counters(db_url, seed, WORKERS)
    assert_each_ticket_done_once(db_url, seed, called, errors)


def test_32_counters_drain_twenty_services(db_url: str) -> None:
    seed = seed_branch(db_url, n_services=20, n_counters=WORKERS, services_per_counter=3)
    for sid in seed.service_ids:
        create_tickets(db_url, seed.claims(), sid, TICKETS // 20)
    called, errors = drain_counters(db_url, seed, WORKERS)
    assert_each_ticket_done_once(db_url, seed, called, errors)
    # every counter served only services it is mapped to
    rows = owner_rows(
        db_url,
        "select counter_id, service_id from qms.ticket_events where tenant_id = %s and type = 'ticket.called'",
        (seed.tenant_id,),
    )
    assert all(r["service_id"] in seed.mapping[r["counter_id"]] for r in rows)


def race_same_request(url: str, claims: dict[str, Any], sql: str, params: tuple[Any, ...], n: int = 8) -> list[Any]:
    """``n`` connections send the same command at the same moment; returns their responses."""
    responses: list[Any] = [None] * n
    errors: list[str] = []

    def work(i: int, barrier: threading.Barrier) -> None:
        try:
            with connect_as(url, AGENT, claims) as conn:
                barrier.wait()
                row = conn.execute(sql, params).fetchone()
                assert row is not None
                responses[i] = row["r"]
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    run_threads(n, work)
    assert errors == []
    return responses


def test_same_request_id_create_ticket_races_to_one_ticket(db_url: str) -> None:
    seed = seed_branch(db_url)
    rid = str(uuid.uuid4())
    responses = race_same_request(
        db_url,
        seed.claims(),
        "select api.create_ticket(service_id => %s, request_id => %s) as r",
        (seed.service_ids[0], rid),
    )
    assert all(r == responses[0] for r in responses), responses
    tickets = owner_rows(db_url, "select ticket_id::text from qms.tickets where tenant_id = %s", (seed.tenant_id,))
    assert [t["ticket_id"] for t in tickets] == [responses[0]["ticket_id"]]
    events = owner_rows(db_url, "select type from qms.ticket_events where tenant_id = %s", (seed.tenant_id,))
    assert [e["type"] for e in events] == ["ticket.created"]


def test_same_request_id_call_next_races_to_one_call(db_url: str) -> None:
    seed = seed_branch(db_url)
    create_tickets(db_url, seed.claims(), seed.service_ids[0], 3, batch=1)
    rid = str(uuid.uuid4())
    responses = race_same_request(
        db_url,
        seed.claims(),
        "select api.call_next(counter_id => %s, request_id => %s) as r",
        (seed.counter_ids[0], rid),
    )
    assert all(r == responses[0] for r in responses), responses
    ticket = responses[0]["ticket"]
    assert ticket is not None and ticket["status"] == "called"
    statuses = owner_rows(
        db_url,
        "select status::text, count(*) as n from qms.tickets where tenant_id = %s group by status order by status",
        (seed.tenant_id,),
    )
    assert {s["status"]: s["n"] for s in statuses} == {"called": 1, "waiting": 2}
    events = owner_rows(
        db_url,
        "select ticket_id::text from qms.ticket_events where tenant_id = %s and type = 'ticket.called'",
        (seed.tenant_id,),
    )
    assert [e["ticket_id"] for e in events] == [ticket["ticket_id"]]


def call_one_per_counter(url: str, seed: Seed) -> list[str]:
    """Each counter of ``seed`` calls one ticket; returns the called ticket ids in counter order."""
    ids = []
    with connect_as(url, AGENT, seed.claims()) as conn:
        for cid in seed.counter_ids:
            row = conn.execute("select api.call_next(counter_id => %s) as r", (cid,)).fetchone()
            assert row is not None and row["r"]["ticket"] is not None, row
            ids.append(row["r"]["ticket"]["ticket_id"])
    return ids


@pytest.mark.parametrize("max_rows", [7, 500])
def test_racing_sweepers_mark_each_overdue_ticket_once(db_url: str, max_rows: int) -> None:
    overdue: list[str] = []
    recent: list[str] = []
    for _ in range(2):  # two tenants: a tenant-less worker sweeps all of them
        seed = seed_branch(db_url, n_counters=23, policy={"called_grace_seconds": 60, "return_to_queue": False})
        create_tickets(db_url, seed.claims(), seed.service_ids[0], 23)
        ids = call_one_per_counter(db_url, seed)
        overdue += ids[:20]
        recent += ids[20:]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "update qms.tickets set called_at = now() - interval '1 hour' where ticket_id = any(%s::uuid[])",
            (overdue,),
        )
    swept = [0, 0]
    errors: list[str] = []

    def sweep(i: int, barrier: threading.Barrier) -> None:
        try:
            with connect_as(db_url, WORKER, make_claims(WORKER, None, sub=f"sweeper-{i}")) as conn:
                barrier.wait()
                while True:
                    row = conn.execute("select worker.sweep_no_shows(max_rows => %s) as r", (max_rows,)).fetchone()
                    assert row is not None
                    if row["r"] == 0:
                        break
                    swept[i] += row["r"]
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    run_threads(2, sweep)
    assert errors == []
    assert sum(swept) == len(overdue)
    rows = owner_rows(
        db_url,
        "select t.ticket_id::text, t.status::text,"
        " (select count(*) from qms.ticket_events e where e.tenant_id = t.tenant_id and e.ticket_id = t.ticket_id"
        "   and e.type = 'ticket.no_show') as no_shows"
        " from qms.tickets t where t.ticket_id = any(%s::uuid[])",
        (overdue + recent,),
    )
    by_id = {r["ticket_id"]: r for r in rows}
    assert all(by_id[t]["status"] == "no_show" and by_id[t]["no_shows"] == 1 for t in overdue), rows
    assert all(by_id[t]["status"] == "called" and by_id[t]["no_shows"] == 0 for t in recent), rows
