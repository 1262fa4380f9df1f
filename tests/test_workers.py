"""The periodic worker process: sweeps overdue called tickets, survives errors, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psycopg
from engine_fixtures import seed_branch

from qms.apicall import call_api


def _seed_called_ticket(url: str) -> str:
    """A tenant with one called ticket whose grace period ran out long ago; its id."""
    seed = seed_branch(url)
    agent = seed.claims(sub="agent-1")
    with psycopg.connect(url, autocommit=True) as conn:
        ticket = call_api(conn, "create_ticket", agent, service_id=seed.service_ids[0])
        called = call_api(conn, "call_next", agent, counter_id=seed.counter_ids[0])
        assert called["ticket"]["ticket_id"] == ticket["ticket_id"]
        # Push the call into the past, beyond the default grace period.
        conn.execute(
            "update qms.tickets set called_at = now() - interval '1 hour' where ticket_id = %s", (ticket["ticket_id"],)
        )
    return str(ticket["ticket_id"])


def test_worker_sweeps_overdue_tickets_and_stops_on_sigterm(db_url: str) -> None:
    ticket_id = _seed_called_ticket(db_url)

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
    # the issued-then-called ticket left two queue ledger rows (+1, -1): the position fold took them
    assert {"event": "worker.batch", "job": "queue_fold", "rows": 2} in lines
    assert names[-2:] == ["worker.stopping", "worker.stopped"]
