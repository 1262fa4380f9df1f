"""Scheduled reports: an admin schedules a daily report; the worker process plans every due period once (it
catches up the days since the last fire), sends each (HTML + CSV attachment) to an in-process SMTP server,
and a restarted worker sends none of them again."""

from __future__ import annotations

import csv
import datetime as dt
import email
import io
import os
import subprocess
import sys
import time
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from aiosmtpd.controller import Controller
from psycopg.types.json import Jsonb

from qms.analytics_csv import KPI_COLUMNS
from tests.analytics import day
from tests.engine_fixtures import connect_as, owner_rows, pg_error
from tests.gateway.gwkit import free_port
from workers.reports import period_of


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def sent_everything(db_url: str, schedule_id: Any, inbox: Inbox) -> bool:
    runs = owner_rows(db_url, "select status from qms.report_runs where schedule_id = %s", (schedule_id,))
    return bool(runs) and all(r["status"] == "sent" for r in runs) and len(inbox.messages) >= len(runs)


def start_worker(db_url: str, tmp: Path) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QMS_", "PG"))},
        "QMS_ANALYTICS_DIR": str(tmp / "snapshots"),
    }
    log = (tmp / "worker.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "workers", "--database-url", db_url], env=env, stdout=log, stderr=log
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def test_a_scheduled_report_arrives_once_across_a_worker_restart(db_url: str, tmp_path: Path) -> None:
    world = day.build(db_url)
    jakarta = world.branches["jakarta"]
    admin = world.claims("qms_admin")
    create = (
        "select api.create_report_schedule(branch_id => %s, name => 'Daily Jakarta', frequency => 'daily',"
        " local_time => %s, recipients => %s) as s"
    )
    with connect_as(db_url, "qms_admin", admin) as conn:
        for bad, key in (("7:00", "INVALID_LOCAL_TIME"), ("25:00", "INVALID_LOCAL_TIME")):
            with pytest.raises(psycopg.Error) as exc:
                conn.execute(create, (jakarta.branch_id, bad, ["ops@example.com"]))
            assert pg_error(exc.value) == ("PT400", key)
        with pytest.raises(psycopg.Error) as exc:
            conn.execute(create, (jakarta.branch_id, "07:00", ["not-an-address"]))
        assert pg_error(exc.value) == ("PT400", "INVALID_RECIPIENTS")
        schedule = conn.execute(create, (jakarta.branch_id, "07:00", ["ops@example.com"])).fetchone()["s"]
    assert schedule["cron"] == "0 7 * * *" and schedule["timezone"] == "Asia/Jakarta"
    with connect_as(db_url, "qms_analyst", world.claims("qms_analyst")) as conn, pytest.raises(psycopg.Error) as exc:
        conn.execute("select api.list_report_schedules()")
    assert pg_error(exc.value)[0] == "42501"

    # It last fired at 07:00 Jakarta on the day after the timed day: that run reports on the timed day.
    zone = ZoneInfo("Asia/Jakarta")
    fired = dt.datetime.combine(world.timed_day + dt.timedelta(days=1), dt.time(7), zone)
    assert period_of("daily", fired, "Asia/Jakarta") == (world.timed_day, world.timed_day)
    with psycopg.connect(db_url, autocommit=True) as owner:
        owner.execute(
            "update qms.report_schedules set next_run_at = %s where schedule_id = %s", (fired, schedule["schedule_id"])
        )

    # Reports go out through the tenant's e-mail provider of the notification pipeline (no platform
    # QMS_SMTP_URL is set for the worker).
    inbox = Inbox()
    port = free_port()
    with connect_as(db_url, "qms_admin", admin) as conn:
        conn.execute(
            "select api.set_notification_provider(channel => 'email', kind => 'smtp', config => %s)",
            (Jsonb({"url": f"smtp://127.0.0.1:{port}?starttls=off", "from": "reports@qms.example"}),),
        )
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        worker = start_worker(db_url, tmp_path)
        try:
            deadline = time.monotonic() + 30
            while not sent_everything(db_url, schedule["schedule_id"], inbox) and time.monotonic() < deadline:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                time.sleep(0.1)
        finally:
            stop(worker)
        sent = len(inbox.messages)
        assert sent >= 3, (tmp_path / "worker.log").read_text()
        restarted = start_worker(db_url, tmp_path)
        try:
            time.sleep(4)
            assert restarted.poll() is None
        finally:
            stop(restarted)
    finally:
        controller.stop()

    assert len(inbox.messages) == sent
    runs = owner_rows(
        db_url, "select * from qms.report_runs where schedule_id = %s order by period_start", (schedule["schedule_id"],)
    )
    # One run per day from the timed day to yesterday in Jakarta, each sent once, in one attempt.
    yesterday = dt.datetime.now(zone).date() - dt.timedelta(days=1)
    last = yesterday if dt.datetime.now(zone).time() >= dt.time(7) else yesterday - dt.timedelta(days=1)
    assert [r["period_start"] for r in runs] == [
        world.timed_day + dt.timedelta(days=i) for i in range((last - world.timed_day).days + 1)
    ]
    assert {(r["status"], r["attempts"]) for r in runs} == {("sent", 1)} and len(runs) == sent
    subjects = sorted(m["Subject"] for m in inbox.messages)
    assert len(set(subjects)) == sent
    message = next(m for m in inbox.messages if str(world.timed_day) in m["Subject"])
    assert message["To"] == "ops@example.com" and "Daily Jakarta" in message["Subject"]
    assert message["From"] == "reports@qms.example" and message["X-QMS-Tenant"] == str(world.tenant_a)
    parts = {p.get_content_type(): p for p in message.walk()}
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "Jakarta" in html and "Teller" in html
    attachment = parts["text/csv"]
    assert attachment.get_filename() == f"report-{world.timed_day}.csv"
    rows = list(csv.DictReader(io.StringIO(attachment.get_payload(decode=True).decode())))
    assert tuple(rows[0].keys()) == KPI_COLUMNS
    facts = [f for f in day.ticket_facts(db_url, world.tenant_a) if f["branch_id"] == jakarta.branch_id]
    want = day.expected_kpis(facts)
    got = {(r["bucket"], r["branch_id"], r["service_id"]): int(r["tickets"]) for r in rows}
    assert got == {k: v["tickets"] for k, v in want.items() if k[0] == str(world.timed_day)}
