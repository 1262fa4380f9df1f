"""Database CPU per engine command at one client: the server process's own CPU time per call.

    uv run python -m bench.cpu                                   # this checkout's sql/
    uv run python -m bench.cpu --sql-root ../old/sql --sql-root sql   # two versions, interleaved

One throwaway cluster, one tenant (a branch, one service, ``--counters`` available counters), one
connection per version (``--sql-root``, repeatable; default this checkout's sql/). Each call is its own
transaction, as the gateway runs it: identity (role and claims), then the ``api`` call. First ``--calls``
``create_ticket`` (the queue grows from 0 to ``--calls``), then as many rounds of ``call_next`` →
``ticket_action start`` → ``ticket_action complete`` over the counters in turn (the queue drains). The figure
is the backend's CPU time (``/proc/<pid>/schedstat``, in ns) per call of each command: it counts only the
database's work for the command (parse, plan, execute, commit), not the client's. With several versions the
calls are interleaved in chunks of ``--chunk`` (A, B, A, B, …), so every version sees the same machine load
and the ratios to the first version are same-run figures even on a busy machine. ``--request-ids`` sends a
fresh request_id with every command, as the apps do, so idempotency is paid too. ``bench/variants.py`` makes
copies of sql/ with one guarantee taken out, to compare against this checkout's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from qms import migrate as migrations
from qms.pg import Cluster, find_bin_dir, free_port
from qms.testing import TEST_HELPERS
from tests.engine_fixtures import seed_branch

CREATE = "select api.create_ticket(service_id => %s, channel => 'kiosk', request_id => %s)"
CALL = "select api.call_next(counter_id => %s, request_id => %s)"
ACT = "select api.ticket_action(ticket_id => %s, action => %s, counter_id => %s, request_id => %s)"


def backend_cpu_seconds(pid: int) -> float:
    """CPU time a server process has run, in seconds: the scheduler's own count, in nanoseconds (first field
    of /proc/<pid>/schedstat). utime + stime (/proc/<pid>/stat) would count in clock ticks of 10 ms."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


class Meter:
    """Per-command CPU and wall time of one connection's server process, summed call by call.

    The server process waits for the client between calls, so the scheduler's count read before and after a
    call is that call's CPU to the nanosecond (the process is not running when it is read)."""

    def __init__(self, conn: psycopg.Connection[Any], claims: dict[str, Any]) -> None:
        row = conn.execute("select pg_backend_pid()").fetchone()
        assert row is not None
        self.conn, self.pid = conn, int(row[0])
        self.identity = (str(claims["role"]), json.dumps(claims))
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def call(self, name: str, query: str, args: tuple[Any, ...]) -> Any:
        cpu0, wall0 = backend_cpu_seconds(self.pid), time.perf_counter()
        with self.conn.transaction():
            self.conn.execute(
                "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)", self.identity
            )
            row = self.conn.execute(query, args).fetchone()
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall0
        self.cpu[name] = self.cpu.get(name, 0.0) + backend_cpu_seconds(self.pid) - cpu0
        self.calls[name] = self.calls.get(name, 0) + 1
        return None if row is None else row[0]

    def results(self) -> dict[str, dict[str, float]]:
        return {
            name: {"cpu_us": self.cpu[name] / n * 1e6, "wall_us": self.wall[name] / n * 1e6, "calls": n}
            for name, n in self.calls.items()
        }


@dataclass
class Subject:
    """One version under test: its database, seeded branch and metered connection."""

    sql_root: Path
    meter: Meter
    service_id: uuid.UUID
    counter_ids: list[uuid.UUID]
    request_ids: bool
    done: int = 0

    def rid(self) -> uuid.UUID | None:
        """A fresh request_id per command, as the apps send (idempotency on), or none."""
        return uuid.uuid4() if self.request_ids else None

    def create(self, n: int) -> None:
        for _ in range(n):
            self.meter.call("create_ticket", CREATE, (self.service_id, self.rid()))

    def serve(self, n: int) -> None:
        for _ in range(n):
            counter = self.counter_ids[self.done % len(self.counter_ids)]
            ticket = self.meter.call("call_next", CALL, (counter, self.rid()))["ticket"]
            self.meter.call("ticket_action start", ACT, (ticket["ticket_id"], "start", counter, self.rid()))
            self.meter.call("ticket_action complete", ACT, (ticket["ticket_id"], "complete", counter, self.rid()))
            self.done += 1


@dataclass
class Database:
    """A throwaway cluster's seeded database: a tenant with a branch, one service and its counters."""

    url: str
    service_id: uuid.UUID
    counter_ids: list[uuid.UUID]
    claims: dict[str, Any]  # an agent of the branch, as the gateway sets them


@contextmanager
def database(sql_root: Path, n_counters: int, port: int, conf: dict[str, str] | None = None) -> Iterator[Database]:
    """A cluster (``conf`` added to its settings) migrated from ``sql_root`` and seeded; removed on exit."""
    base = Path(tempfile.mkdtemp(prefix="qms-bench-cpu-"))
    cluster = Cluster(base, bin_dir=find_bin_dir())
    cluster.init(port=free_port(port))
    with (cluster.pgdata / "postgresql.auto.conf").open("a") as fh:
        fh.writelines(f"{key} = {value}\n" for key, value in (conf or {}).items())
    cluster.start()
    try:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            admin.execute("create database bench")
        url = cluster.url("bench")
        migrations.migrate(url, sql_root / "schema", (sql_root / "functions", sql_root / "policies"))
        with psycopg.connect(url, autocommit=True) as conn:  # the seeding fixtures (tests.seed_branch)
            conn.execute("create schema tests")
            conn.execute(TEST_HELPERS.read_text().encode())
        seed = seed_branch(url, n_services=1, n_counters=n_counters)
        claims = {
            "role": "qms_agent",
            "tenant_id": str(seed.tenant_id),
            "sub": "bench-agent",
            "branch_ids": [str(seed.branch_id)],
        }
        yield Database(url, seed.service_ids[0], list(seed.counter_ids), claims)
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def subject(sql_root: Path, n_counters: int, port: int, request_ids: bool) -> Iterator[Subject]:
    with database(sql_root, n_counters, port) as db, psycopg.connect(db.url, autocommit=True) as conn:
        warm = Meter(conn, db.claims)
        for _ in range(50):  # plans cached, catalogs warm
            warm.call("warm", CREATE, (db.service_id, uuid.uuid4() if request_ids else None))
        yield Subject(sql_root, Meter(conn, db.claims), db.service_id, db.counter_ids, request_ids)


def run(
    sql_roots: list[Path], n: int, n_counters: int, chunk: int, request_ids: bool = False
) -> list[dict[str, dict[str, float]]]:
    with ExitStack() as stack:
        subjects = [
            stack.enter_context(subject(root, n_counters, 57300 + 20 * i, request_ids))
            for i, root in enumerate(sql_roots)
        ]
        for step in ("create", "serve"):
            for start in range(0, n, chunk):
                for s in subjects:
                    getattr(s, step)(min(chunk, n - start))
        return [s.meter.results() for s in subjects]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sql-root", type=Path, action="append", help="an sql/ directory to migrate from (repeatable)")
    ap.add_argument("--calls", type=int, default=1000, help="calls per command (default 1000)")
    ap.add_argument("--counters", type=int, default=10, help="counters serving the one service (default 10)")
    ap.add_argument("--chunk", type=int, default=50, help="calls per version before switching (default 50)")
    ap.add_argument(
        "--request-ids", action="store_true", help="send a fresh request_id with every command, as the apps do"
    )
    args = ap.parse_args()
    roots = [r.resolve() for r in (args.sql_root or [migrations.SQL_DIR])]
    label = str(uuid.uuid4())[:8]
    load = os.getloadavg()[0]
    results = run(roots, args.calls, args.counters, args.chunk, args.request_ids)
    ids = ", a request_id each" if args.request_ids else ""
    print(f"run {label}: {args.calls} calls per command{ids}, load {load:.1f} → {os.getloadavg()[0]:.1f}")
    for root, res in zip(roots, results, strict=True):
        print(f"  {root}")
        for name, r in res.items():
            ratio = r["cpu_us"] / results[0][name]["cpu_us"] if results[0][name]["cpu_us"] else float("nan")
            print(
                f"    {name:24s} {r['cpu_us']:8.0f} µs backend CPU per call   {r['wall_us']:8.0f} µs wall"
                f"   {ratio:.2f} of the first"
            )


if __name__ == "__main__":
    main()
