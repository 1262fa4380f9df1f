"""Queue-engine throughput and latency against pgbench's simple-update ceiling, on one throwaway cluster.

    uv run python -m bench.run            # ~5 s per point
    uv run python -m bench.run --quick    # ~2 s per point

For each client count (1, 4, 16, 64) it measures, on the same server:
  * ``pgbench -N`` (built-in simple-update) TPS: the ceiling for one short write transaction per round trip;
  * ``api.call_next`` with each client process owning one counter and looping call_next -> start ->
    complete, for
    (a) one hot service shared by every counter and (b) tickets spread over 50 services;
  * ``api.call_next`` alone: each client walks a pool of available counters, one call per counter, so that
    every measured transaction is a call_next (comparable with pgbench's one transaction per round trip),
    driven once by pgbench itself (a custom script: the same C client as the ceiling) and once by Python
    client processes;
  * ``api.create_ticket`` for (a) and (b).
Clients are separate processes (multiprocessing, fork) so the Python client is not the bottleneck.
Then, in the same run: database CPU per call of each command at one client (bench.cpu) and what a ticket's
position costs at 10 / 1,000 / 10,000 waiting (bench.position), summed up per command with the peak
throughput and its share of pgbench -N's peak.
Results are printed and written between markers into docs/benchmarks.md (the text around them is kept).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import cpu, position
from qms import migrate as migrations
from qms.pg import Cluster, find_bin_dir, free_port
from qms.testing import TestDatabases

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
N_SPREAD = 50
MAX_CLIENTS = 64
# Server settings on top of qms.pg.Cluster's defaults (shared_buffers 256MB, fsync on, max_connections 200).
SERVER_SETTINGS = {
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'30min'",
    "track_functions": "'pl'",
}


# The agent loop after each call: the engine serves a ticket (start) before it completes it.
FINISH = ("start", "complete")


# -- seeding ----------------------------------------------------------------------------------------
@dataclass
class Scenario:
    name: str
    tenant_id: uuid.UUID
    branch_id: uuid.UUID
    service_ids: list[uuid.UUID]
    counter_ids: list[uuid.UUID]
    mapping: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)

    def claims(self, sub: str) -> dict[str, Any]:
        return {"role": "qms_agent", "tenant_id": str(self.tenant_id), "branch_ids": [str(self.branch_id)], "sub": sub}


def seed(url: str, name: str, n_services: int, per_counter: int) -> Scenario:
    """A tenant with one branch, ``n_services`` services and MAX_CLIENTS available counters, made through the
    api by the test fixtures (tests.seed_branch, tests.add_counter in sql/tests/_helpers.sql).
    Counter i is mapped to services i, i + n/per_counter, … (mod n), so low counter numbers use distinct services."""
    slug = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        row = conn.execute("select qms.create_tenant(%s, %s)", (slug, slug)).fetchone()
        assert row is not None
        tenant: uuid.UUID = row[0]
        row = conn.execute(
            "select tests.seed_branch(%s, p_services => %s, p_counters => 0, p_name => 'Bench')", (tenant, n_services)
        ).fetchone()
        assert row is not None
        branch = uuid.UUID(row[0]["branch_id"])
        services = [uuid.UUID(s) for s in row[0]["service_ids"]]
    sc = Scenario(name, tenant, branch, services, [])
    sc.counter_ids = add_counters(url, sc, MAX_CLIENTS, per_counter)
    return sc


def admin_connection(url: str, sc: Scenario) -> psycopg.Connection[Any]:
    """A session as a tenant-wide admin of the scenario's tenant."""
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(
        "select set_config('request.jwt.claims', %s, false)",
        (json.dumps({"role": "qms_admin", "tenant_id": str(sc.tenant_id), "sub": "bench-admin"}),),
    )
    conn.execute("set role qms_admin")
    return conn


def agent_connection(url: str, claims: dict[str, Any]) -> psycopg.Connection[Any]:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))
    conn.execute("set role qms_agent")
    return conn


def _fill(url: str, claims: dict[str, Any], service_id: str, n: int) -> int:
    """Issue ``n`` tickets through api.create_ticket. Each issue counts the waiting tickets ahead (an
    index-only scan once the visibility map is set), so the table is vacuumed between batches: without it,
    every count of a deep benchmark queue visits the heap and seeding grows with the square of the queue."""
    with agent_connection(url, claims) as conn, psycopg.connect(url, autocommit=True) as owner:
        made = 0
        while made < n:
            k = min(250, n - made)
            conn.execute(
                "select count(api.create_ticket(service_id => %s, channel => 'api')) from generate_series(1, %s)",
                (service_id, k),
            )
            made += k
            owner.execute("vacuum (skip_locked) qms.tickets")
    return made


def top_up(url: str, sc: Scenario, services: list[uuid.UUID], per_service: int) -> None:
    """Make sure each of ``services`` has at least ``per_service`` waiting tickets (parallel, batches of 500)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select service_id, count(*) from qms.tickets where tenant_id = %s and status = 'waiting'"
            " group by service_id",
            (sc.tenant_id,),
        ).fetchall()
    have = {r[0]: int(r[1]) for r in rows}
    jobs = [(url, sc.claims("seeder"), str(s), per_service - have.get(s, 0)) for s in services]
    jobs = [j for j in jobs if j[3] > 0]
    if jobs:
        with mp.get_context("fork").Pool(min(len(jobs), os.cpu_count() or 2)) as pool:
            pool.starmap(_fill, jobs)


# -- client processes -------------------------------------------------------------------------------
@dataclass
class WorkerResult:
    ops: int = 0
    txns: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ran_dry: bool = False


def _wait_until(t: float) -> None:
    while (delay := t - time.time()) > 0:
        time.sleep(min(delay, 0.05))


def _timed_call_next(conn: psycopg.Connection[Any], counter: str, res: WorkerResult) -> dict[str, Any] | bool | None:
    """One call_next, timed and counted into ``res``: the ticket, None when nothing was left, False on error."""
    start = time.perf_counter()
    try:
        row = conn.execute("select api.call_next(counter_id => %s)", (counter,)).fetchone()
    except psycopg.Error as exc:
        res.errors.append(f"call_next: {exc.sqlstate} {exc.diag.message_detail or exc}")
        return False
    res.latencies.append(time.perf_counter() - start)
    res.txns += 1
    assert row is not None
    ticket: dict[str, Any] | None = row[0].get("ticket")
    if ticket is not None:
        res.ops += 1
    return ticket


def call_worker(url: str, claims: dict[str, Any], counter: str, t0: float, t1: float) -> WorkerResult:
    """Loop call_next -> start -> complete on one counter; latency is call_next's alone."""
    res = WorkerResult()
    with agent_connection(url, claims) as conn:
        _wait_until(t0)
        while time.time() < t1:
            ticket = _timed_call_next(conn, counter, res)
            if ticket is False:
                continue
            if ticket is None:
                res.ran_dry = True
                break
            for action in FINISH:
                try:
                    conn.execute(
                        "select api.ticket_action(ticket_id => %s, action => %s, counter_id => %s)",
                        (ticket["ticket_id"], action, counter),
                    )
                    res.txns += 1
                except psycopg.Error as exc:
                    res.errors.append(f"{action}: {exc.sqlstate} {exc.diag.message_detail or exc}")
                    break
    return res


def create_worker(url: str, claims: dict[str, Any], service: str, t0: float, t1: float) -> WorkerResult:
    res = WorkerResult()
    with agent_connection(url, claims) as conn:
        _wait_until(t0)
        while time.time() < t1:
            start = time.perf_counter()
            try:
                conn.execute("select api.create_ticket(service_id => %s, channel => 'api')", (service,))
            except psycopg.Error as exc:
                res.errors.append(f"create_ticket: {exc.sqlstate} {exc.diag.message_detail or exc}")
                continue
            res.latencies.append(time.perf_counter() - start)
            res.ops += 1
            res.txns += 1
    return res


@dataclass
class Point:
    tps: float
    p50_ms: float
    p99_ms: float
    txn_tps: float = 0.0
    errors: int = 0
    ran_dry: bool = False
    first_error: str = ""


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def run_clients(fn: Any, jobs: list[tuple[Any, ...]], duration: float) -> Point:
    t0 = time.time() + 1.0 + 0.03 * len(jobs)
    t1 = t0 + duration
    with mp.get_context("fork").Pool(len(jobs)) as pool:
        results: list[WorkerResult] = pool.starmap(fn, [(*job, t0, t1) for job in jobs])
    lat = [x for r in results for x in r.latencies]
    errors = [e for r in results for e in r.errors]
    return Point(
        tps=sum(r.ops for r in results) / duration,
        p50_ms=_percentile(lat, 0.50) * 1000,
        p99_ms=_percentile(lat, 0.99) * 1000,
        txn_tps=sum(r.txns for r in results) / duration,
        errors=len(errors),
        ran_dry=any(r.ran_dry for r in results),
        first_error=errors[0] if errors else "",
    )


def bench_call_next(url: str, sc: Scenario, clients: int, duration: float, guess_tps: float) -> Point:
    counters = sc.counter_ids[:clients]
    used = sorted({s for c in counters for s in sc.mapping[c]})
    need = max(200, int(guess_tps * duration * 1.5))
    for _attempt in range(3):
        top_up(url, sc, used, math.ceil(need / len(used)) + 50)
        vacuum(url, "qms.tickets", "qms.ticket_events", "qms.ticket_number_counters", "qms.idempotency_keys")
        jobs = [(url, sc.claims(f"agent-{i}"), str(c)) for i, c in enumerate(counters)]
        point = run_clients(call_worker, jobs, duration)
        if not point.ran_dry:
            return point
        need *= 3
    return point


def add_counters(url: str, sc: Scenario, n: int, per_counter: int | None = None) -> list[uuid.UUID]:
    """``n`` more available counters (tests.add_counter), mapped like the scenario's own (counter i → services
    i, i + step, …); ``per_counter`` defaults to the scenario's."""
    per_counter = per_counter or max(len(m) for m in sc.mapping.values())
    step = max(1, len(sc.service_ids) // per_counter)
    new: list[uuid.UUID] = []
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for i in range(n):
            services = sorted({sc.service_ids[(i + k * step) % len(sc.service_ids)] for k in range(per_counter)})
            row = conn.execute(
                "select tests.add_counter(%s, %s, %s, %s)",
                (sc.tenant_id, sc.branch_id, f"H{uuid.uuid4().hex[:12]}", services),
            ).fetchone()
            assert row is not None
            new.append(row[0])
            sc.mapping[row[0]] = services
    return new


def retire_counters(url: str, sc: Scenario, counters: list[uuid.UUID]) -> None:
    """Unmap a finished point's counter pool (and close the counters): real branches have tens of counters,
    and create_ticket's wait estimate counts the available counters of the service, so pools left mapped
    would make every later issue slower than any real one."""
    with admin_connection(url, sc) as conn, conn.transaction():
        for counter in counters:
            conn.execute("select api.update_counter(%s, service_ids => '{}')", (counter,))
            conn.execute("select api.set_counter_status(%s, 'closed')", (counter,))
    for c in counters:
        sc.mapping.pop(c, None)


def held_worker(url: str, claims: dict[str, Any], counters: list[str], t0: float, t1: float) -> WorkerResult:
    """call_next once on each counter of a pool: every measured transaction is a call_next (the counter keeps
    its ticket, so no start/complete is needed to call again)."""
    res = WorkerResult()
    with agent_connection(url, claims) as conn:
        _wait_until(t0)
        for counter in counters:
            if time.time() >= t1:
                break
            ticket = _timed_call_next(conn, counter, res)
            if ticket is False:
                continue
            if ticket is None:
                res.ran_dry = True
                break
        else:
            res.ran_dry = time.time() < t1  # the pool ran out before the time did
    return res


def bench_call_held(url: str, sc: Scenario, clients: int, duration: float, guess_tps: float) -> Point:
    """Pure call_next throughput: each client walks its own pool of available counters."""
    need = max(400, int(guess_tps * duration * 1.2))
    per_client = math.ceil(need / clients) + 20
    for _attempt in range(3):
        pools = [add_counters(url, sc, per_client) for _ in range(clients)]
        used = sorted({s for pool in pools for c in pool for s in sc.mapping[c]})
        top_up(url, sc, used, math.ceil(need / len(used)) + 50)
        vacuum(url, "qms.tickets", "qms.ticket_events", "qms.counters", "qms.counter_services")
        jobs = [(url, sc.claims(f"held-{i}"), [str(c) for c in pool]) for i, pool in enumerate(pools)]
        point = run_clients(held_worker, jobs, duration)
        retire_counters(url, sc, [c for pool in pools for c in pool])
        if not point.ran_dry:
            return point
        need *= 3
        per_client = math.ceil(need / clients) + 20
    return point


def bench_create(url: str, sc: Scenario, clients: int, duration: float) -> Point:
    vacuum(url, "qms.tickets", "qms.ticket_events", "qms.ticket_number_counters", "qms.idempotency_keys")
    jobs = [(url, sc.claims(f"kiosk-{i}"), str(sc.service_ids[i % len(sc.service_ids)])) for i in range(clients)]
    return run_clients(create_worker, jobs, duration)


def vacuum(url: str, *tables: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"vacuum (analyze) {table}")


# -- pgbench ----------------------------------------------------------------------------------------
def pgbench_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def pgbench_init(cluster: Cluster, db: str, scale: int) -> list[str]:
    assert cluster.bin_dir is not None
    cmd = [str(cluster.bin_dir / "pgbench"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
    subprocess.run([*cmd, "-i", "-q", "-s", str(scale), db], check=True, capture_output=True, env=pgbench_env())
    return cmd


def pgbench_point(
    cmd: list[str], db: str, clients: int, duration: float, logdir: Path, workload: list[str] | None = None
) -> Point:
    """One pgbench run (default the built-in simple-update, -N); p50/p99 from its per-transaction log.
    ``ran_dry`` when a client aborted (a custom script that ran out of work)."""
    for old in logdir.glob("pgbench_log*"):
        old.unlink()
    jobs = min(clients, os.cpu_count() or 1)
    args = [*cmd, *(workload or ["-N"]), "-M", "prepared", "-c", str(clients), "-j", str(jobs)]
    args += ["-T", str(max(1, round(duration))), "-l", f"--log-prefix={logdir / 'pgbench_log'}", db]
    proc = subprocess.run(args, capture_output=True, text=True, env=pgbench_env(), cwd=logdir)
    aborted = "aborted" in proc.stderr or "aborted" in proc.stdout
    if proc.returncode != 0 and not aborted:
        raise RuntimeError(f"pgbench failed: {proc.stderr}")
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", proc.stdout)
    if m is None:
        raise RuntimeError(f"no tps in pgbench output: {proc.stdout} {proc.stderr}")
    lat: list[float] = []
    for log in logdir.glob("pgbench_log*"):
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                lat.append(int(parts[2]) / 1e6)
    errors = re.findall(r"ERROR: .*", proc.stderr)
    return Point(
        float(m.group(1)),
        _percentile(lat, 0.5) * 1000,
        _percentile(lat, 0.99) * 1000,
        txn_tps=len(lat) / max(1, round(duration)),
        ran_dry=aborted,
        first_error=errors[0] if errors and not aborted else "",
    )


# call_next driven by pgbench itself, so that the engine and the ceiling share the same C client: each
# pgbench client walks its own pool of available counters (bench.pool, one row per client and step), one
# call_next per transaction. The login role qms_bench_<scenario> carries the agent role and the claims as
# role settings, so a transaction is the single `select api.call_next(...)` statement, as -N's are three.
PGBENCH_CALL_SCRIPT = (
    "\\set i :i + 1\n"
    "select api.call_next((select counter_id from bench.pool where client = :client_id and idx = :i));\n"
)


def pgbench_call_setup(url: str, sc: Scenario) -> str:
    role = f"qms_bench_{sc.name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists bench")
        conn.execute(
            "create table if not exists bench.pool"
            " (client int, idx int, counter_id uuid not null, primary key (client, idx))"
        )
        conn.execute("grant usage on schema bench to public")
        conn.execute("grant select on bench.pool to public")
        if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is None:
            conn.execute(sql.SQL("create role {} login in role qms_agent").format(sql.Identifier(role)))
        conn.execute(sql.SQL("alter role {} set role = 'qms_agent'").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("alter role {} set request.jwt.claims = {}").format(
                sql.Identifier(role), sql.Literal(json.dumps(sc.claims("pgbench")))
            )
        )
    return role


def bench_call_pgbench(
    cmd: list[str], url: str, sc: Scenario, clients: int, duration: float, guess_tps: float, logdir: Path
) -> Point:
    """call_next alone under pgbench (see PGBENCH_CALL_SCRIPT); a point that runs dry is redone with more."""
    role = pgbench_call_setup(url, sc)
    db = url.rsplit("/", 1)[1].split("?", 1)[0]
    user_cmd = [c if c != "postgres" else role for c in cmd]
    script = logdir / f"call_next_{sc.name}.sql"
    script.write_text(PGBENCH_CALL_SCRIPT)
    need = max(400, int(guess_tps * duration * 1.3))
    for _attempt in range(3):
        per_client = math.ceil(need / clients) + 20
        pools = [add_counters(url, sc, per_client) for _ in range(clients)]
        used = sorted({s for pool in pools for c in pool for s in sc.mapping[c]})
        top_up(url, sc, used, math.ceil(need / len(used)) + 50)
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("truncate bench.pool")
            cur.executemany(
                "insert into bench.pool (client, idx, counter_id) values (%s, %s, %s)",
                [(ci, k + 1, c) for ci, pool in enumerate(pools) for k, c in enumerate(pool)],
            )
            row = cur.execute("select coalesce(max(seq), 0) from qms.ticket_events").fetchone()
            before = int(row[0]) if row else 0
        vacuum(url, "qms.tickets", "qms.ticket_events", "qms.counters", "qms.counter_services", "bench.pool")
        point = pgbench_point(user_cmd, db, clients, duration, logdir, ["-n", "-D", "i=0", "-f", str(script)])
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "select count(*) from qms.ticket_events where seq > %s and type = 'ticket.called' and tenant_id = %s",
                (before, sc.tenant_id),
            ).fetchone()
        called = int(row[0]) if row else 0
        retire_counters(url, sc, [c for pool in pools for c in pool])
        # Every transaction must have called a ticket (an empty answer would flatter the figure).
        point.ran_dry = point.ran_dry or called < round(point.txn_tps * max(1, round(duration)))
        if not point.ran_dry:
            return point
        need *= 3
    return point


# -- report -----------------------------------------------------------------------------------------
def machine_info(url: str) -> dict[str, str]:
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    with psycopg.connect(url, autocommit=True) as conn:
        version = conn.execute("select version()").fetchone()
        settings = conn.execute(
            "select name, setting, unit from pg_settings where source not in ('default', 'override')"
            " and name not in ('port', 'listen_addresses', 'unix_socket_directories') order by name"
        ).fetchall()
    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgres": version[0] if version else "?",
        "settings": ", ".join(f"{n}={s}{u or ''}" for n, s, u in settings),
    }


def fmt(p: Point | None, ceiling: Point | None = None) -> str:
    if p is None:
        return "-"
    text = f"{p.tps:,.0f} ({p.p50_ms:.2f}/{p.p99_ms:.2f})"
    if ceiling is not None and ceiling.tps > 0:
        text += f" **{100 * p.tps / ceiling.tps:.0f} %**"
    if p.errors:
        text += f" ⚠{p.errors} err"
    if p.ran_dry:
        text += " (ran dry)"
    return text


def table(results: dict[int, dict[str, Point]]) -> str:
    head = (
        "| clients | pgbench -N TPS (p50/p99 ms) | call_next via pgbench, 1 service "
        "| call_next via pgbench, 50 services | call_next alone (psycopg), 1 service "
        "| call_next alone (psycopg), 50 services "
        "| agent loop calls/s, 1 service | agent loop calls/s, 50 services "
        "| create_ticket 1 service | create_ticket 50 services | engine txn/s (agent loop, 1 / 50 svc) |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for clients, r in sorted(results.items()):
        ceiling = r.get("pgbench")
        a, b = r.get("call_a"), r.get("call_b")
        txn = f"{a.txn_tps:,.0f} / {b.txn_tps:,.0f}" if a and b else "-"
        rows.append(
            f"| {clients} | {fmt(ceiling)} | {fmt(r.get('pgb_a'), ceiling)} | {fmt(r.get('pgb_b'), ceiling)} "
            f"| {fmt(r.get('held_a'), ceiling)} | {fmt(r.get('held_b'), ceiling)} "
            f"| {fmt(a, ceiling)} | {fmt(b, ceiling)} "
            f"| {fmt(r.get('create_a'), ceiling)} | {fmt(r.get('create_b'), ceiling)} | {txn} |"
        )
    return head + "\n".join(rows) + "\n"


def summary(results: dict[int, dict[str, Point]], per_call: dict[str, dict[str, float]], calls: int) -> str:
    """Per command: database CPU per call at one client, peak calls/s over the client counts and its share
    of pgbench -N's peak (the issue's targets: CPU ≤ 400 / 350 / 300 µs, share ≥ 35 % over 50 services)."""
    peak = max((r["pgbench"].tps for r in results.values() if "pgbench" in r), default=0.0)

    def best(key: str) -> str:
        points = [(r[key].tps, n) for n, r in results.items() if key in r]
        if not points or not peak:
            return "- | -"
        tps, n = max(points)
        return f"{tps:,.0f} ({n} clients) | {100 * tps / peak:.0f} %"

    rows = [
        ("create_ticket", "create_ticket", "create_b"),
        ("call_next", "call_next", "pgb_b"),
        ("ticket_action start", "ticket_action start", None),
        ("ticket_action complete", "ticket_action complete", None),
    ]
    lines = [
        f"Per command: database CPU per call at 1 client (bench.cpu: the server process's CPU time, "
        f"{calls} calls each, one service, queue 0 → {calls}) and peak throughput over 50 services against "
        f"pgbench -N's peak ({peak:,.0f} TPS) in this run.\n",
        "| command | database CPU µs per call, 1 client | peak calls/s, 50 services | share of pgbench -N peak |",
        "|---|---:|---:|---:|",
    ]
    for label, name, key in rows:
        us = per_call.get(name, {}).get("cpu_us", float("nan"))
        lines.append(f"| {label} | {us:,.0f} | {best(key) if key else '- | -'} |")
    return "\n".join(lines) + "\n"


def depth_table(depths: dict[int, dict[str, float]]) -> str:
    lines = [
        "Position cost (bench.position): database CPU µs per call with the ticket last in a queue of N waiting "
        "(its position is counted), and of issuing one more ticket at the tail.\n",
        "| waiting | get_ticket | get_public_ticket | create_ticket |",
        "|---:|---:|---:|---:|",
    ]
    for n, r in sorted(depths.items()):
        lines.append(f"| {n:,} | {r['get_ticket']:,.0f} | {r['get_public_ticket']:,.0f} | {r['create_ticket']:,.0f} |")
    return "\n".join(lines) + "\n"


def write_doc(body: str) -> None:
    old = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in old or END not in old:
        old = old.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    pre, rest = old.split(BEGIN, 1)
    post = rest.split(END, 1)[1]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(f"{pre}{BEGIN}\n{body}{END}{post}")


# -- main -------------------------------------------------------------------------------------------
@contextmanager
def queue_folding(url: str, interval: float = 1.0) -> Iterator[None]:
    """The worker's ``queue_fold`` job beside the clients, as ``qms up`` runs it: positions are read from
    bucket counts, and the queue ledger is folded into them every second (ADR 0021)."""
    stop = threading.Event()

    def loop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.wait(interval):
                position.fold_queue(conn)

    thread = threading.Thread(target=loop, name="queue-fold", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per measured point (default 5)")
    ap.add_argument("--quick", action="store_true", help="2 s per point")
    ap.add_argument("--clients", default="1,4,16,64", help="comma-separated client counts (max 64)")
    ap.add_argument("--scale", type=int, default=10, help="pgbench scale factor (default 10: 1M accounts)")
    ap.add_argument("--pgbench-only", action="store_true", help="measure only the pgbench ceiling")
    ap.add_argument("--no-doc", action="store_true", help="print only; do not rewrite docs/benchmarks.md")
    ap.add_argument("--cpu-calls", type=int, default=1000, help="calls per command for the CPU figures")
    ap.add_argument("--depths", default="10,1000,10000", help="queue depths for the position cost")
    args = ap.parse_args(argv)
    duration = 2.0 if args.quick else args.duration
    clients = [int(c) for c in args.clients.split(",")]
    if max(clients) > MAX_CLIENTS:
        ap.error(f"at most {MAX_CLIENTS} clients")
    command = "uv run python -m bench.run " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )

    base = Path(tempfile.mkdtemp(prefix="qms-bench-"))
    cluster = Cluster(base, bin_dir=find_bin_dir())
    cluster.init(port=free_port(56000))
    with (cluster.pgdata / "postgresql.auto.conf").open("a") as fh:
        for key, value in SERVER_SETTINGS.items():
            fh.write(f"{key} = {value}\n")
    try:
        cluster.start()
        dbs = TestDatabases(cluster, with_pgtap=False)
        dbs.build_template()
        url = dbs.clone()
        with psycopg.connect(dbs.admin_url(), autocommit=True) as conn:
            conn.execute("create database pgbench")
        print(f"cluster up on port {cluster.port}; seeding …", flush=True)
        hot = seed(url, "hot", 1, 1)
        spread = seed(url, "spread", N_SPREAD, 2)
        pgb = pgbench_init(cluster, "pgbench", args.scale)
        logdir = base / "pgbench-logs"
        logdir.mkdir()
        results: dict[int, dict[str, Point]] = {}
        last: dict[str, float] = {}
        with queue_folding(url):
            for n in clients:
                r: dict[str, Point] = {}
                vacuum(cluster.url("pgbench"), "pgbench_accounts", "pgbench_history")
                r["pgbench"] = pgbench_point(pgb, "pgbench", n, duration, logdir)
                if args.pgbench_only:
                    results[n] = r
                    print(f"{n:>3} clients: pgbench {fmt(r['pgbench'])}", flush=True)
                    continue
                r["create_a"] = bench_create(url, hot, n, duration)
                r["create_b"] = bench_create(url, spread, n, duration)
                # Queue depth for the call points: twice the last point's rate (a point that runs dry is redone).
                r["call_a"] = bench_call_next(url, hot, n, duration, 2 * last.get("call_a", 300.0))
                r["call_b"] = bench_call_next(url, spread, n, duration, 2 * last.get("call_b", 300.0))
                # Seeding goes through api.create_ticket: ask for a little more than the last point's rate
                # (a point that runs dry is redone with three times as many).
                r["held_a"] = bench_call_held(url, hot, n, duration, 1.3 * last.get("held_a", 800.0))
                r["held_b"] = bench_call_held(url, spread, n, duration, 1.3 * last.get("held_b", 800.0))
                r["pgb_a"] = bench_call_pgbench(pgb, url, hot, n, duration, 1.3 * last.get("pgb_a", 1500.0), logdir)
                r["pgb_b"] = bench_call_pgbench(pgb, url, spread, n, duration, 1.3 * last.get("pgb_b", 1500.0), logdir)
                last.update({k: r[k].tps for k in ("call_a", "call_b", "held_a", "held_b", "pgb_a", "pgb_b")})
                results[n] = r
                print(f"{n:>3} clients: " + ", ".join(f"{k} {fmt(v)}" for k, v in r.items()), flush=True)
                for k, v in r.items():
                    if v.first_error:
                        print(f"    {k} first error: {v.first_error}", flush=True)
        print("position cost …", flush=True)
        depths = position.measure(url, tuple(int(d) for d in args.depths.split(",")))
        info = machine_info(url)
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)

    print("database CPU per command …", flush=True)
    per_call = cpu.run([migrations.SQL_DIR], args.cpu_calls, 10, 50)[0]
    out = table(results)
    ratios = {
        n: {
            k: 100 * r[k].tps / r["pgbench"].tps
            for k in ("pgb_a", "pgb_b", "held_a", "held_b")
            if k in r and r["pgbench"].tps
        }
        for n, r in results.items()
    }
    body = (
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command.strip()}` "
        f"({duration:g} s per point; call loop = call_next → {' → '.join(FINISH)}; the worker's queue position fold "
        "runs every second beside the clients, as in `qms up`).\n\n"
        f"- Machine: {info['cpu']}, {info['memory']} RAM, {info['os']}, Python {info['python']}\n"
        f"- Server: {info['postgres']}\n"
        f"- Settings (non-default): {info['settings']}\n"
        f"- pgbench: `pgbench -N -M prepared -c N -j min(N, nproc) -T {max(1, round(duration))}` "
        f"at scale {args.scale}\n\n"
        "Cells: operations/s (p50/p99 latency in ms) and, in bold, the share of pgbench -N TPS. "
        "*call_next via pgbench*: pgbench itself (same C client, connections and -M prepared as the ceiling) runs "
        "`select api.call_next(...)` as its transaction, each client walking its own pool of available counters, "
        "so every transaction is one call_next and calls a ticket (checked against the event log). "
        "*call_next alone (psycopg)*: the same with Python client processes. "
        "*Agent loop*: one counter per client doing call_next → "
        f"{' → '.join(FINISH)}; it counts calls, so each call costs {1 + len(FINISH)} transactions.\n\n"
        f"{out}\n"
        "call_next via pgbench, share of pgbench -N: "
        + "; ".join(
            f"{n} clients: 1 service {v.get('pgb_a', 0):.0f} %, 50 services {v.get('pgb_b', 0):.0f} %"
            for n, v in sorted(ratios.items())
        )
        + " (psycopg clients: "
        + "; ".join(f"{n}: {v.get('held_a', 0):.0f} % / {v.get('held_b', 0):.0f} %" for n, v in sorted(ratios.items()))
        + ")"
        + "\n\n"
        + summary(results, per_call, args.cpu_calls)
        + "\n"
        + depth_table(depths)
    )
    print()
    print(body)
    if not args.no_doc:
        write_doc(body)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
