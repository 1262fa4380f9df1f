"""Notification benchmark on one throwaway cluster:

    uv run python -m bench.notify            # 1,000 commands per point, 1,000 messages per sender run
    uv run python -m bench.notify --quick    # 300 / 300

* Enqueue cost: ``api.create_ticket`` (with an e-mail contact) and ``api.call_next`` timed per call (each its
  own transaction, so the deferred trigger runs in the measured commit) for a tenant with e-mail
  notifications on and one with them off, calls interleaved so both see the same machine load. The difference
  is what the outbox adds to a command.
* Send throughput: that many queued deliveries sent to a local SMTP server (aiosmtpd in this process) by 1
  and by 4 sender processes (``python -m workers.notify``); messages per second from start to the last one.
Results are printed and written between markers into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from email import message_from_bytes
from pathlib import Path
from typing import Any

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from qms.pg import Cluster, find_bin_dir, free_port
from qms.testing import TestDatabases

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench-notify:begin -->", "<!-- bench-notify:end -->"


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content or b""
        message_from_bytes(content.encode() if isinstance(content, str) else content)
        self.count += 1
        return "250 OK"


def seed(conn: psycopg.Connection[Any], notify: bool) -> dict[str, str]:
    slug = f"b-{uuid.uuid4().hex[:10]}"
    tenant = str(conn.execute("select qms.create_tenant(%s, %s)", (slug, slug)).fetchone()[0])  # type: ignore[index]
    branch, service, counter = (str(uuid.uuid4()) for _ in range(3))
    conn.execute("insert into qms.branches (tenant_id, branch_id, name) values (%s, %s, 'B')", (tenant, branch))
    conn.execute(
        "insert into qms.services (tenant_id, service_id, branch_id, name, prefix) values (%s, %s, %s, 'S', 'A')",
        (tenant, service, branch),
    )
    conn.execute(
        "insert into qms.counters (tenant_id, counter_id, branch_id, name, status) values (%s, %s, %s, 'C', 'available')",
        (tenant, counter, branch),
    )
    conn.execute(
        "insert into qms.counter_services (tenant_id, branch_id, counter_id, service_id) values (%s, %s, %s, %s)",
        (tenant, branch, counter, service),
    )
    conn.execute("insert into qms.notification_settings (tenant_id, enabled) values (%s, %s)", (tenant, notify))
    conn.execute("update qms.tenants set pii_policy = '{\"contacts\": true}' where tenant_id = %s", (tenant,))
    return {"tenant": tenant, "branch": branch, "service": service, "counter": counter}


def agent(url: str, s: dict[str, str]) -> psycopg.Connection[Any]:
    conn = psycopg.connect(url, autocommit=True)
    claims = {"role": "qms_agent", "tenant_id": s["tenant"], "branch_ids": [s["branch"]], "sub": "bench"}
    conn.execute(
        "select set_config('request.jwt.claims', %s, false), set_config('role', 'qms_agent', false)",
        (json.dumps(claims),),
    )
    return conn


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def trigger_time(url: str) -> dict[str, float]:
    """Server-side time of the notification trigger per event (pg_stat_user_functions, track_functions = pl):
    what the outbox adds to a command's transaction, without the client's and the scheduler's noise."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_stat_force_next_flush()")
        row = conn.execute(
            "select calls, total_time from pg_stat_user_functions"
            " where schemaname = 'qms' and funcname = 'tg_ticket_events__notify'"
        ).fetchone()
    calls, total = (int(row[0]), float(row[1])) if row else (0, 0.0)
    return {"calls": calls, "mean_ms": total / calls if calls else 0.0}


def enqueue_cost(url: str, n: int) -> dict[str, dict[str, float]]:
    with psycopg.connect(url, autocommit=True) as owner:
        on, off = seed(owner, True), seed(owner, False)
    conns = {"on": agent(url, on), "off": agent(url, off)}
    seeds = {"on": on, "off": off}
    times: dict[str, dict[str, list[float]]] = {k: {"create_ticket": [], "call_next": []} for k in conns}
    contact = json.dumps({"email": "bench@example.com", "consent": True})
    for i in range(n):
        for k in ("on", "off") if i % 2 else ("off", "on"):
            t0 = time.perf_counter()
            conns[k].execute(
                "select api.create_ticket(service_id => %s, contact => %s)", (seeds[k]["service"], contact)
            )
            times[k]["create_ticket"].append(time.perf_counter() - t0)
    for i in range(n):
        for k in ("on", "off") if i % 2 else ("off", "on"):
            conn, s = conns[k], seeds[k]
            t0 = time.perf_counter()
            row = conn.execute("select api.call_next(%s)", (s["counter"],)).fetchone()
            times[k]["call_next"].append(time.perf_counter() - t0)
            ticket = row[0]["ticket"]["ticket_id"]  # type: ignore[index]
            conn.execute("select api.ticket_action(%s, 'start', counter_id => %s)", (ticket, s["counter"]))
            conn.execute("select api.ticket_action(%s, 'complete', counter_id => %s)", (ticket, s["counter"]))
    for c in conns.values():
        c.close()
    out: dict[str, dict[str, float]] = {}
    for cmd in ("create_ticket", "call_next"):
        for k in ("on", "off"):
            v = times[k][cmd]
            out[f"{cmd} ({k})"] = {"p50": pct(v, 50), "p99": pct(v, 99), "mean": statistics.fmean(v) * 1000}
    return out


def throughput(url: str, n: int, workers: int) -> float:
    sink = Sink()
    port = free_port(27000)
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    with psycopg.connect(url, autocommit=True) as owner:
        s = seed(owner, True)
    with agent(url, s) as conn:
        conn.execute(
            "select api.create_ticket(service_id => %s, contact => jsonb_build_object('email', 'c' || g || '@example.com',"
            " 'consent', true)) from generate_series(1, %s) g",
            (s["service"], n),
        )
    env = {**os.environ, "QMS_SMTP_URL": f"smtp://127.0.0.1:{port}?starttls=off"}
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "workers.notify", "--database-url", url, "--batch", "50"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while sink.count < n and time.perf_counter() - t0 < 600:
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        controller.stop()
    return n / elapsed


def write_doc(text: str) -> None:
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: block, doc, flags=re.S)
    else:
        doc = doc.rstrip() + "\n\n## Notifications (`bench/notify.py`)\n\n" + block + "\n"
    DOC.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    n = 300 if args.quick else 1000
    base = Path(tempfile.mkdtemp(prefix="qms-bench-notify-"))
    cluster = Cluster(base, bin_dir=find_bin_dir())
    cluster.init(port=free_port(56500))
    cluster.start()
    try:
        dbs = TestDatabases(cluster, with_pgtap=False)
        dbs.build_template()
        with psycopg.connect(dbs.admin_url(), autocommit=True) as conn:
            conn.execute("alter system set track_functions = 'pl'")
            conn.execute("select pg_reload_conf()")
        with dbs.database() as url:
            cost = enqueue_cost(url, n)
            trig = trigger_time(url)
        rates = {}
        for workers in (1, 4):
            with dbs.database() as url:
                rates[workers] = throughput(url, n, workers)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    load = os.getloadavg()[0]
    lines = [
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the end, {n} commands per point / {n} messages per sender run.",
        "",
        "| command (one transaction each) | p50 ms | p99 ms | mean ms |",
        "|---|---|---|---|",
        *[f"| {k} | {v['p50']:.2f} | {v['p99']:.2f} | {v['mean']:.2f} |" for k, v in cost.items()],
        "",
        "| added by the outbox, client-side (on minus off) | p50 ms | p99 ms |",
        "|---|---|---|",
        *[
            f"| {cmd} | {cost[f'{cmd} (on)']['p50'] - cost[f'{cmd} (off)']['p50']:+.2f} | "
            f"{cost[f'{cmd} (on)']['p99'] - cost[f'{cmd} (off)']['p99']:+.2f} |"
            for cmd in ("create_ticket", "call_next")
        ],
        "",
        f"Server-side time of the notification trigger (pg_stat_user_functions): {trig['mean_ms']:.3f} ms mean over "
        f"{trig['calls']} events (both tenants; the trigger fires for notifying events and queue moves only).",
        "",
        "| senders | messages/s to the local SMTP server |",
        "|---|---|",
        *[f"| {w} | {r:.0f} |" for w, r in rates.items()],
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_doc:
        write_doc(text)


if __name__ == "__main__":
    main()
