"""Database CPU per engine command at one client: the server process's own CPU time per call.

    uv run python -m bench.cpu                     # this checkout's sql/
    uv run python -m bench.cpu --sql-root ../old   # another checkout's sql/ (before/after comparisons)

One throwaway cluster, one tenant (a branch, one service, ``--counters`` available counters), one
connection. Each call is its own transaction, as the gateway runs it: identity (role and claims), then the
``api`` call. First ``--calls`` ``create_ticket`` (the queue grows from 0 to ``--calls``), then as many
rounds of ``call_next`` → ``ticket_action start`` → ``ticket_action complete`` over the counters in turn
(the queue drains). The figure is the backend's user + system CPU (``/proc/<pid>/stat``) per call of each
command: it counts only the
database's work for the command (parse, plan, execute, commit), not the client's, and it moves far less
than wall time when other processes share the cores. Run it twice back to back to compare two versions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from qms import migrate as migrations
from qms.pg import Cluster, find_bin_dir, free_port
from qms.testing import TEST_HELPERS
from tests.engine_fixtures import seed_branch

CLK_TCK = os.sysconf("SC_CLK_TCK")


def backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a server process, in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Meter:
    """Per-command CPU and wall time of one connection's server process, summed call by call.

    /proc counts CPU in clock ticks (10 ms): a single call reads 0 or 1 tick, but summed over many calls the
    ticks fall on each command in proportion to the CPU it used, like a sampling profiler."""

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


def run(sql_root: Path, n: int, n_counters: int) -> dict[str, dict[str, float]]:
    base = Path(tempfile.mkdtemp(prefix="qms-bench-cpu-"))
    cluster = Cluster(base, bin_dir=find_bin_dir())
    cluster.init(port=free_port(57300))
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
        create = "select api.create_ticket(service_id => %s, channel => 'kiosk')"
        act = "select api.ticket_action(ticket_id => %s, action => %s, counter_id => %s)"
        with psycopg.connect(url, autocommit=True) as conn:
            warm = Meter(conn, claims)
            for _ in range(50):  # plans cached, catalogs warm
                warm.call("warm", create, (seed.service_ids[0],))
            meter = Meter(conn, claims)
            for _ in range(n):
                meter.call("create_ticket", create, (seed.service_ids[0],))
            for i in range(n):
                counter = seed.counter_ids[i % n_counters]
                ticket = meter.call("call_next", "select api.call_next(counter_id => %s)", (counter,))["ticket"]
                meter.call("ticket_action start", act, (ticket["ticket_id"], "start", counter))
                meter.call("ticket_action complete", act, (ticket["ticket_id"], "complete", counter))
        return meter.results()
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sql-root", type=Path, default=migrations.SQL_DIR, help="the sql/ directory to migrate from")
    ap.add_argument("--calls", type=int, default=1000, help="calls per command (default 1000)")
    ap.add_argument("--counters", type=int, default=10, help="counters serving the one service (default 10)")
    args = ap.parse_args()
    label = str(uuid.uuid4())[:8]
    results = run(args.sql_root.resolve(), args.calls, args.counters)
    print(f"run {label}: {args.sql_root} ({args.calls} calls per phase, load {os.getloadavg()[0]:.1f})")
    for name, r in results.items():
        print(f"  {name:24s} {r['cpu_us']:8.0f} µs backend CPU per call   {r['wall_us']:8.0f} µs wall")


if __name__ == "__main__":
    main()
