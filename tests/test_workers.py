"""The periodic worker process: sweeps overdue called tickets, survives errors, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psycopg


def _seed_called_ticket(conn: psycopg.Connection) -> tuple[str, str]:
    """A tenant with one called ticket whose grace period ran out long ago."""
    tenant = str(conn.execute("select qms.create_tenant('Sweep', 'sweep')").fetchone()[0])  # type: ignore[index]
    seeded = conn.execute("select tests.seed_branch(%s)", (tenant,)).fetchone()[0]  # type: ignore[index]
    branch, service, counter = seeded["branch_id"], seeded["service_ids"][0], seeded["counter_ids"][0]
    claims = json.dumps({"role": "qms_agent", "tenant_id": tenant, "sub": "agent-1", "branch_ids": [branch]})
    with conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
        conn.execute("set local role qms_agent")
        ticket = conn.execute("select api.create_ticket(service_id => %s)", (service,)).fetchone()[0]  # type: ignore[index]
        called = conn.execute("select api.call_next(counter_id => %s)", (counter,)).fetchone()[0]  # type: ignore[index]
        assert called["ticket"]["ticket_id"] == ticket["ticket_id"]
    # Push the call into the past, beyond the default grace period.
    conn.execute(
        "update qms.tickets set called_at = now() - interval '1 hour' where ticket_id = %s", (ticket["ticket_id"],)
    )
    return tenant, str(ticket["ticket_id"])


def test_worker_sweeps_overdue_tickets_and_stops_on_sigterm(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        _, ticket_id = _seed_called_ticket(conn)

    proc = subprocess.Popen(
        [sys.executable, "-m", "workers", "--database-url", db_url, "--sweep-interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        status = None
        with psycopg.connect(db_url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                status = conn.execute("select status from qms.tickets where ticket_id = %s", (ticket_id,)).fetchone()
                if status and status[0] == "no_show":
                    break
                time.sleep(0.2)
            assert status == ("no_show",)
            events = conn.execute(
                "select count(*) from qms.ticket_events where ticket_id = %s and type = 'ticket.no_show'", (ticket_id,)
            ).fetchone()
            assert events == (1,)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    names = [line["event"] for line in lines]
    assert names[0] == "worker.started"
    assert {"event": "worker.batch", "job": "sweep_no_shows", "rows": 1} in lines
    assert names[-2:] == ["worker.stopping", "worker.stopped"]
