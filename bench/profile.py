"""Where an engine command's database CPU goes: the statements it runs, and a perf profile of its server process.

    uv run python -m bench.profile --calls 200 --perf-seconds 0        # statements per command
    uv run python -m bench.profile --calls 0 --perf-seconds 60         # perf split (without pg_stat_statements)
    uv run python -m bench.profile --calls 0 --perf-seconds 0 --floor 400   # per-statement floor

One throwaway cluster as bench.cpu builds it; with ``--calls``, pg_stat_statements (``track = all``, planning
counted). Each command runs on its own connection (create_ticket; call_next, start and complete in rounds over
the counters), every call with a fresh request_id, as the apps send. The statements of each command (nested
ones too: those of PL/pgSQL functions and triggers) are counted from the statistics read before and after it.
Then, while ``perf record`` (cpu-clock, DWARF call chains) samples the four server processes, rounds for
``--perf-seconds``: each sample goes in one cell of a table per command, its row where it ran (the statements,
a row, statement or deferred trigger, a foreign-key check, commit) and its column what it did (the innermost of
executor start-up, planning, plan cache checks, parsing, executor run, executor shutdown, WAL flush, the
PL/pgSQL interpreter), read from its call chain. ``--floor``: a transaction running one PL/pgSQL call as the
agent, and what each primary-key read statement in it adds. Needs perf (``/usr/bin/perf``).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from bench.cpu import ACT, CALL, CREATE, Database, Meter, database
from qms import migrate as migrations

CONF = {
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "all",
    "pg_stat_statements.track_planning": "on",
}
COMMANDS = ("create_ticket", "call_next", "ticket_action start", "ticket_action complete")
# Innermost frame wins. Where: the statement's own work, or inside a trigger / foreign-key check / commit.
WHERE = {
    "RI_FKey_": "foreign-key checks",
    "AfterTriggerEndQuery": "row triggers",
    "ExecBSInsertTriggers": "statement trigger",
    "AfterTriggerFireDeferred": "deferred trigger",
    "CommitTransactionCommand": "commit",
}
WHAT = {
    "XLogFlush": "WAL flush",
    "ExecutorStart": "executor start-up",
    "ExecInitNode": "executor start-up",
    "ExecInitExpr": "executor start-up",
    "ExecInitQual": "executor start-up",
    "ExecBuildProjectionInfo": "executor start-up",
    "ExecutorEnd": "executor shutdown",
    "FreeExecutorState": "executor shutdown",
    "standard_planner": "planning",
    "pg_plan_query": "planning",
    "BuildCachedPlan": "planning",
    "raw_parser": "parse/analyze",
    "parse_analyze": "parse/analyze",
    "pg_analyze_and_rewrite": "parse/analyze",
    "plpgsql_compile": "parse/analyze",
    "GetCachedPlan": "plan cache checks",
    "CheckExprStillValid": "plan cache checks",
    "ExecutorRun": "executor run",
    "plpgsql_exec": "PL/pgSQL",
}
# Shares of the samples with the frame anywhere in their chain (they overlap).
INCLUSIVE = (
    "ExecutorStart",
    "ExecInitNode",
    "ExecInitExprWithParams",
    "ExecInitStoredGenerated",
    "ExecConstraints",
    "stringToNode",
    "GetCachedPlan",
    "ExecInsertIndexTuples",
    "heap_update",
    "ExecInitRangeTable",
    "AfterTriggerEndQuery",
    "RI_FKey_check",
    "AfterTriggerFireDeferred",
    "CommitTransactionCommand",
    "XLogFlush",
    "fmgr_sql",  # an SQL function run (parsed and planned) instead of inlined
    "fmgr_security_definer",  # a security definer or SET clause: its settings swapped per call
)


def classify(frames: list[str], markers: dict[str, str], default: str) -> str:
    """The label of the innermost frame (frames leaf first) whose name contains a marker."""
    for frame in frames:
        for marker, label in markers.items():
            if marker in frame:
                return label
    return default


def snapshot(admin: psycopg.Connection[Any]) -> Counter[str]:
    """Calls of every statement (``stmt:`` and its text) and plannings (``plans``) so far."""
    counts: Counter[str] = Counter()
    for query, calls, plans in admin.execute(
        "select query, calls, plans from pg_stat_statements where query not like '%pg_stat_%'"
    ):
        counts["stmt:" + " ".join(query.split())[:90]] += calls
        counts["plans"] += plans
    return counts


def rounds(meters: dict[str, Meter], db_service: uuid.UUID, counters: list[uuid.UUID], n: int) -> Any:
    """Yield after each command of ``n`` rounds (create, then call → start → complete at the next counter)."""
    for i in range(n):
        counter = counters[i % len(counters)]
        meters["create_ticket"].call("create_ticket", CREATE, (db_service, uuid.uuid4()))
        yield "create_ticket"
        ticket = meters["call_next"].call("call_next", CALL, (counter, uuid.uuid4()))["ticket"]
        yield "call_next"
        for action in ("start", "complete"):
            name = f"ticket_action {action}"
            meters[name].call(name, ACT, (ticket["ticket_id"], action, counter, uuid.uuid4()))
            yield name


def perf_table(data: Path, pids: dict[str, int]) -> dict[str, Counter[tuple[str, str]]]:
    """Samples per (where, what) for each command, from ``perf script`` of the recording; ("leaf", symbol)
    counts the sampled functions themselves."""
    by_pid = {pid: name for name, pid in pids.items()}
    out = subprocess.run(["perf", "script", "-i", str(data), "-F", "pid,ip,sym"], capture_output=True, text=True)
    tables: dict[str, Counter[tuple[str, str]]] = {name: Counter() for name in pids}
    for block in out.stdout.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or not lines[0].strip().split()[0].isdigit():
            continue
        frames = [line.split(None, 1)[-1].removesuffix(" (inlined)") for line in lines[1:]]  # "ip symbol"
        name = by_pid.get(int(lines[0].split()[0]))
        if name and frames:
            tables[name][(classify(frames, WHERE, "statements"), classify(frames, WHAT, "other"))] += 1
            tables[name][("leaf", frames[0])] += 1
            tables[name].update(("in", marker) for marker in INCLUSIVE if any(marker in f for f in frames))
    return tables


def count_statements(admin: psycopg.Connection[Any], meters: dict[str, Meter], db: Database, n: int) -> None:
    """Print the statements each command runs per call, counted over ``n`` rounds."""
    per: dict[str, Counter[str]] = {name: Counter() for name in COMMANDS}
    before = snapshot(admin)
    for name in rounds(meters, db.service_id, db.counter_ids, n):
        after = snapshot(admin)
        per[name].update(after - before)
        before = snapshot(admin)
    for name in COMMANDS:
        stmts = {k: v for k, v in per[name].items() if k.startswith("stmt:")}
        print(f"{name}: {sum(stmts.values()) / n:.1f} statements per call (with begin, identity, the")
        print(f"  api call and commit), {per[name]['plans'] / n:.1f} planned; per call:")
        for query, calls in sorted(stmts.items(), key=lambda kv: -kv[1]):
            print(f"    {calls / n:5.2f}  {query[5:]}")


FLOOR_SQL = """
create schema floor;
create function floor.reads(p_ticket uuid, p_n integer) returns integer language plpgsql as $$
declare v qms.tickets;
begin
    for i in 1..p_n loop  -- a primary-key read of a ticket under the caller's row security
        select * into v from qms.tickets t where t.tenant_id = qms.current_tenant_id() and t.ticket_id = p_ticket;
    end loop;
    return p_n;
end $$;
grant usage on schema floor to qms_agent;
grant execute on function floor.reads(uuid, integer) to qms_agent;
"""


def floor(admin: psycopg.Connection[Any], meter: Meter, db: Database, n: int) -> None:
    """Print the floor: a transaction running one PL/pgSQL call, and each primary-key read statement more."""
    admin.execute(FLOOR_SQL)
    ticket = meter.call("floor", CREATE, (db.service_id, None))["ticket_id"]
    for k in (0, 20) * (n // 50 + 1):  # interleaved in chunks of 50, the first chunk of each a warm-up
        for _ in range(50):
            meter.call(f"reads {k}", "select floor.reads(%s, %s)", (ticket, k))
    cpu = {k: meter.cpu[f"reads {k}"] / meter.calls[f"reads {k}"] * 1e6 for k in (0, 20)}
    print(f"floor: a transaction with one PL/pgSQL call {cpu[0]:.0f} µs (read-only: no WAL flush);")
    print(f"  each primary-key read statement in it, under row security, {(cpu[20] - cpu[0]) / 20:.1f} µs more")


def record(meters: dict[str, Meter], db: Database, seconds: float) -> None:
    """Run rounds for ``seconds`` under perf and print each command's split."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        pids = {name: m.pid for name, m in meters.items()}
        pid_list = ",".join(str(p) for p in pids.values())
        perf = subprocess.Popen(
            ["perf", "record", "--call-graph", "dwarf,32768", "-F", "499", "-o", str(data), "-p", pid_list],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in rounds(meters, db.service_id, db.counter_ids, 10):
                pass
        perf.send_signal(2)
        perf.wait()
        for name, table in perf_table(data, pids).items():
            leaves = Counter({key[1]: n for key, n in table.items() if key[0] == "leaf"})
            total = leaves.total() or 1
            print(f"\n{name}: {total} samples, % of the command's CPU (where, what)")
            for (where, what), n in sorted(table.items(), key=lambda kv: -kv[1]):
                if where not in ("leaf", "in"):
                    print(f"  {100 * n / total:5.1f}  {where:20s} {what}")
            print("  in the chain: " + ", ".join(f"{m} {100 * table['in', m] / total:.1f}" for m in INCLUSIVE))
            print("  sampled functions: " + ", ".join(f"{f} {100 * n / total:.1f}" for f, n in leaves.most_common(12)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sql-root", type=Path, default=migrations.SQL_DIR)
    ap.add_argument("--calls", type=int, default=200, help="rounds for the statement counts (0: no counts)")
    ap.add_argument("--perf-seconds", type=float, default=20, help="seconds of rounds under perf (0: no perf)")
    ap.add_argument("--floor", type=int, default=0, help="calls for the per-statement floor (default 0: none)")
    args = ap.parse_args()
    conf = CONF if args.calls else {}  # perf alone: without the statistics' own hooks
    with database(args.sql_root.resolve(), 10, 57900, conf) as db, psycopg.connect(db.url, autocommit=True) as admin:
        if args.calls:
            admin.execute("create extension pg_stat_statements")
        conns = {name: psycopg.connect(db.url, autocommit=True) for name in COMMANDS}
        meters = {name: Meter(conn, db.claims) for name, conn in conns.items()}
        for _ in rounds(meters, db.service_id, db.counter_ids, 50):  # plans cached, catalogs warm
            pass
        if args.calls:
            count_statements(admin, meters, db, args.calls)
        if args.perf_seconds > 0:
            record(meters, db, args.perf_seconds)
        if args.floor:
            floor(admin, meters["create_ticket"], db, args.floor)
        for conn in conns.values():
            conn.close()


if __name__ == "__main__":
    main()
