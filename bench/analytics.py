"""Analytics benchmark: ``api.kpi`` over many tickets, the rollup cost per ticket event, snapshot refreshes.

    nice -n 10 uv run python -m bench.analytics             # 10 million tickets (26 min on 2 quiet cores, 42 busy)
    uv run python -m bench.analytics --tickets 2000000      # fewer

On a throwaway cluster:
  * **api.kpi**: ``--tickets`` raw tickets (``qms.tickets``) and their events (``qms.ticket_events``: issue and
    first call) generated set-based for one tenant and one month with the event triggers off (80 % in the
    measured branch, 4 services, 5 channels, 3 priority classes, 10 counters, waits and service times drawn at
    random, outcomes done/no_show/cancelled/waiting), i.e. tickets issued before analytics existed; then the
    analytics (facts, hourly and service rollups with wait histograms) are built by the project's backfill,
    ``worker.analytics_rebuild``; then ``api.kpi`` for that month and branch as an analyst, by day and by
    hour (median of 5 runs after one warm-up).
  * **rollup cost per event**: ``api.create_ticket`` client latency (one ticket event each) with the
    analytics trigger enabled and then disabled, p50/p99 of each, on the same database.
  * **snapshot refresh**: the full build of a tenant's SQLite file (``--snapshot-tickets`` tickets), then an
    incremental refresh after 1000 consecutive tickets of a branch changed and another after 1000 tickets
    spread over the month changed (``CHANGED``).
Results are printed and written between markers into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.run import machine_info
from qms.pg import Cluster, find_bin_dir, free_port
from qms.testing import TestDatabases
from workers import analytics_snapshot

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- analytics:begin -->", "<!-- analytics:end -->"
MONTH_START = "2026-11-01"

SEED = """
insert into qms.branches (tenant_id, branch_id, name, timezone)
select %(t)s, b, 'Branch ' || i, 'Asia/Jakarta'
from unnest(%(branches)s::uuid[]) with ordinality as x(b, i);
insert into qms.services (tenant_id, service_id, branch_id, name, prefix)
select %(t)s, s, %(b0)s, 'Service ' || i, chr(64 + i::int) from unnest(%(services)s::uuid[]) with ordinality as x(s, i);
insert into qms.counters (tenant_id, counter_id, branch_id, name, status)
select %(t)s, c, %(b0)s, 'Counter ' || i, 'available' from unnest(%(counters)s::uuid[]) with ordinality as x(c, i);
"""
# Raw tickets and their events for one chunk of the month, written set-based with the event triggers off
# (session_replication_role = replica): the state of tickets issued before analytics existed. A called ticket
# gets two events (issue, first call: what the recomputation reads from the log), the other timestamps are on
# the ticket row. Waits 10 s..45 min, service times 1..15 min; 80 % done, 8 % no-show, 7 % cancelled, 5 %
# waiting.
TICKETS = """
with x as (
    select g, r,
           %(start)s::timestamptz + make_interval(secs => (g::double precision / %(n)s::double precision) * 30 * 86400) as c
    from (select g, random() as r from generate_series(%(lo)s::bigint, %(hi)s::bigint) g) y
), t as (
    insert into qms.tickets (tenant_id, ticket_id, branch_id, service_id, counter_id, ticket_number, number_seq,
        business_date, status, channel, priority_class, queued_at, created_at, called_at, served_at, completed_at,
        ended_at, event_count)
    select %(t)s, gen_random_uuid(), case when g %% 5 = 0 then %(b1)s else %(b0)s end,
           (%(services)s::uuid[])[1 + g %% 4],
           case when r < 0.88 then (%(counters)s::uuid[])[1 + g %% 10] end,
           'A-' || g, g, (c at time zone 'Asia/Jakarta')::date,
           (case when r < 0.80 then 'done' when r < 0.88 then 'no_show' when r < 0.95 then 'cancelled'
                 else 'waiting' end)::qms.ticket_status,
           (array['kiosk', 'web', 'mobile', 'staff', 'api'])[1 + (g / 7) %% 5],
           (array['regular', 'regular', 'regular', 'priority', 'vip'])[1 + g %% 5],
           c, c, w.called, w.served, w.served + make_interval(secs => 60 + 840 * random()),
           case when r < 0.95 then w.called + make_interval(secs => 900) end,
           case when r < 0.88 then 2 else 1 end
    from x cross join lateral (
        select case when x.r < 0.88 then x.c + make_interval(secs => 10 + 2690 * random()) end as called,
               case when x.r < 0.80 then x.c + make_interval(secs => 2700 + 60 * random()) end as served) w
    returning tenant_id, ticket_id, branch_id, service_id, counter_id, ticket_number, channel, priority_class,
              created_at, called_at
)
insert into qms.ticket_events (tenant_id, ticket_id, ticket_seq, branch_id, service_id, counter_id, type, payload,
    created_at, hash)
select t.tenant_id, t.ticket_id, e.ticket_seq, t.branch_id, t.service_id, e.counter_id, e.type,
       jsonb_build_object('changes', e.changes), e.at, '\\x00'::bytea
from t cross join lateral (
    values (1, null::uuid, 'ticket.created',
            jsonb_build_object('status', 'waiting', 'channel', t.channel, 'priority_class', t.priority_class,
                               'ticket_number', t.ticket_number, 'created_at', t.created_at), t.created_at),
           (2, t.counter_id, 'ticket.called', jsonb_build_object('status', 'called', 'called_at', t.called_at),
            t.called_at)
) e(ticket_seq, counter_id, type, changes, at)
where e.ticket_seq = 1 or t.called_at is not null
"""


def seed_tenant(conn: psycopg.Connection[Any], n: int, chunk: int = 250_000) -> tuple[dict[str, Any], float]:
    """A tenant with n raw tickets, then its analytics built by worker.analytics_rebuild (the backfill path);
    returns the ids and the rebuild's seconds."""
    tenant = conn.execute("select qms.create_tenant('Bench', %s)", (f"bench-{uuid.uuid4().hex[:8]}",)).fetchone()
    assert tenant is not None
    ids: dict[str, Any] = {
        "t": tenant[0],
        "branches": [uuid.uuid4(), uuid.uuid4()],
        "services": [uuid.uuid4() for _ in range(4)],
        "counters": [uuid.uuid4() for _ in range(10)],
    }
    ids["b0"], ids["b1"] = ids["branches"]
    for statement in SEED.strip().split(";\n"):
        conn.execute(statement, ids)
    conn.execute("set session_replication_role = replica")
    for lo in range(1, n + 1, chunk):
        conn.execute(TICKETS, {**ids, "lo": lo, "hi": min(lo + chunk - 1, n), "n": n, "start": MONTH_START})
        print(f"  tickets {min(lo + chunk - 1, n):,}/{n:,}", flush=True)
    conn.execute("set session_replication_role = origin")
    conn.execute("vacuum analyze qms.tickets, qms.ticket_events")
    t0 = time.perf_counter()
    conn.execute("set role qms_worker")
    conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps({"role": "qms_worker"}),))
    conn.execute("select worker.analytics_rebuild(%s)", (ids["t"],))
    conn.execute("reset role")
    rebuilt = time.perf_counter() - t0
    print(f"  analytics rebuilt in {rebuilt:.0f} s", flush=True)
    conn.execute("vacuum analyze analytics.ticket_facts, analytics.hourly_rollups, analytics.service_rollups")
    return ids, rebuilt


def time_kpi(url: str, tenant: uuid.UUID, branch: uuid.UUID, granularity: str, runs: int = 5) -> tuple[float, int]:
    claims = {"role": "qms_analyst", "tenant_id": str(tenant), "sub": "bench"}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))
        conn.execute("set role qms_analyst")
        q = "select jsonb_array_length(api.kpi(from_date => %s, to_date => %s, branch_id => %s, granularity => %s))"
        args = (MONTH_START, "2026-11-30", branch, granularity)
        row = conn.execute(q, args).fetchone()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            conn.execute(q, args).fetchone()
            times.append(time.perf_counter() - t0)
    return statistics.median(times), int(row[0]) if row else 0


def event_latency(url: str, tenant: uuid.UUID, branch: uuid.UUID, service: uuid.UUID, n: int) -> tuple[float, float]:
    claims = {"role": "qms_agent", "tenant_id": str(tenant), "sub": "bench", "branch_ids": [str(branch)]}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))
        conn.execute("set role qms_agent")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute("select api.create_ticket(service_id => %s)", (service,))
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000


# The tickets whose facts an incremental refresh finds changed: 1,000 consecutive ones of one branch (a few
# hours: what a refresh every few seconds sees) or 1,000 random ones over the month (about half of its
# (branch, hour) pairs, whose KPI rows are all copied again).
CHANGED = {"consecutive": "order by branch_id, bucket_hour", "spread": "order by ticket_id"}


def snapshot_times(url: str, tenant: uuid.UUID, directory: Path) -> tuple[float, dict[str, float], int]:
    """The full build of a tenant's file, then one incremental refresh per kind of change in CHANGED."""
    incremental = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set role qms_worker")
        top = conn.execute(
            "select max(last_seq) from analytics.ticket_facts where tenant_id = %s", (tenant,)
        ).fetchone()
        upto = int(top[0]) if top else 0
        with conn.cursor(row_factory=dict_row) as cur:
            t0 = time.perf_counter()
            copied = analytics_snapshot.refresh_tenant(cur, directory, tenant, upto)
            full = time.perf_counter() - t0
        for step, (kind, order) in enumerate(CHANGED.items(), start=1):
            conn.execute("reset role")
            conn.execute(
                "update analytics.ticket_facts set last_seq = last_seq + %s where tenant_id = %s and ticket_id in"
                f" (select ticket_id from analytics.ticket_facts where tenant_id = %s {order} limit 1000)",
                (step * upto, tenant, tenant),
            )
            conn.execute("set role qms_worker")
            with conn.cursor(row_factory=dict_row) as cur:
                t0 = time.perf_counter()
                analytics_snapshot.refresh_tenant(cur, directory, tenant, (step + 1) * upto)
                incremental[kind] = time.perf_counter() - t0
    return full, incremental, copied


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=10_000_000)
    ap.add_argument("--snapshot-tickets", type=int, default=200_000)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="qms-bench-analytics-"))
    cluster = Cluster(base, bin_dir=find_bin_dir())
    cluster.init(port=free_port(56500))
    with (cluster.pgdata / "postgresql.auto.conf").open("a") as fh:
        fh.write(
            "max_wal_size = '16GB'\ncheckpoint_timeout = '30min'\nwork_mem = '64MB'\nshared_buffers = '4GB'\n"
            "maintenance_work_mem = '1GB'\nsynchronous_commit = off\n"
        )
    try:
        cluster.start()
        dbs = TestDatabases(cluster, with_pgtap=False)
        dbs.build_template()
        url = dbs.clone()
        lines = []
        with psycopg.connect(url, autocommit=True) as conn:
            t0 = time.perf_counter()
            big, rebuilt = seed_tenant(conn, args.tickets)
            seeded = time.perf_counter() - t0
            small, _ = seed_tenant(conn, args.snapshot_tickets)
            size = conn.execute("select pg_size_pretty(pg_total_relation_size('analytics.ticket_facts'))").fetchone()
        in_branch = args.tickets - args.tickets // 5
        load_before = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
        for gran in ("day", "hour"):
            secs, rows = time_kpi(url, big["t"], big["b0"], gran)
            lines.append(
                f"| api.kpi, one month, one branch ({in_branch:,} tickets), by {gran} | {secs * 1000:.0f} ms | {rows} rows |"
            )
        with_p50, with_p99 = event_latency(url, small["t"], small["b0"], small["services"][0], args.events)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("alter table qms.ticket_events disable trigger ticket_events_analytics")
        without_p50, without_p99 = event_latency(url, small["t"], small["b0"], small["services"][1], args.events)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("alter table qms.ticket_events enable trigger ticket_events_analytics")
        lines.append(
            f"| api.create_ticket (1 event) with the analytics trigger | p50 {with_p50:.2f} ms, p99 {with_p99:.2f} ms | {args.events} calls |"
        )
        lines.append(
            f"| api.create_ticket without it | p50 {without_p50:.2f} ms, p99 {without_p99:.2f} ms | added: p50 {with_p50 - without_p50:+.2f} ms, p99 {with_p99 - without_p99:+.2f} ms |"
        )
        directory = base / "snapshots"
        directory.mkdir()
        full, incremental, copied = snapshot_times(url, small["t"], directory)
        lines.append(f"| snapshot, full build of a tenant | {full:.1f} s | {copied:,} tickets |")
        for kind, secs in incremental.items():
            lines.append(f"| snapshot, incremental refresh | {secs * 1000:.0f} ms | 1,000 tickets changed, {kind} |")
        info = machine_info(url)
        report = (
            f"- Command: `nice -n 10 uv run python -m bench.analytics --tickets {args.tickets}"
            f" --snapshot-tickets {args.snapshot_tickets} --events {args.events}`; tickets and events generated and"
            f" analytics rebuilt in {seeded:.0f} s (of which `worker.analytics_rebuild` {rebuilt:.0f} s);"
            f" `analytics.ticket_facts` {size[0] if size else '?'} for {args.tickets + args.snapshot_tickets:,} tickets;"
            f" load average before the reads {load_before}\n"
            f"- Machine: {info['cpu']}, {info['memory']} RAM, {info['os']}; {info['postgres']}\n\n"
            "| what | time | notes |\n|---|---|---|\n" + "\n".join(lines) + "\n"
        )
        print(report)
        if not args.no_doc:
            text = DOC.read_text()
            block = f"{BEGIN}\n{report}{END}"
            if BEGIN in text:
                head, rest = text.split(BEGIN, 1)
                text = head + block + rest.split(END, 1)[1]
            else:
                text += f"\n## Analytics benchmark\n\n{block}\n"
            DOC.write_text(text)
        return 0
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
