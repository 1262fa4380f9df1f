"""Scheduled KPI reports (US-ANALYT-006): plan each schedule's runs with croniter and send them by e-mail.

* **plan** (one transaction): lock the due schedules (``worker.claim_report_schedules``, skip locked); for a
  schedule that fired, create the run of its period (the previous local day, or the 7 days before the
  sending day) with ``worker.plan_report_run`` (unique per schedule and period, so a restarted or second
  worker never creates it twice) and move ``next_run_at`` to the next cron time in the schedule's time zone;
  fire times missed while no worker ran are caught up (at most 31 periods).
* **send**: claim one run under a lease (its own short transaction), read the KPIs through ``api.kpi`` as an
  analyst of the schedule's tenant (the same rules and numbers as every other reader), render the Jinja2 HTML
  and the CSV, send them through the notification pipeline's e-mail provider of the tenant (its
  ``qms.notification_providers`` row for e-mail, else ``QMS_SMTP_URL``: ``workers.notify_providers``), then
  mark the run sent (or retried with backoff, failed after 5 tries; a tenant without an e-mail provider gets
  the provider's error recorded). No transaction stays open while the mail server is talked to. A worker that dies after sending and before
  marking leaves the run to be sent again when the lease expires (at least once).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import psycopg
from croniter import croniter
from psycopg.rows import dict_row

from qms.analytics_csv import KPI_COLUMNS, csv_text
from workers import notify_providers as providers
from workers.runner import Job, log_event

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=jinja2.ChainableUndefined,
)
CATCH_UP = 31


def period_of(kind: str, fired_at: dt.datetime, timezone: str) -> tuple[dt.date, dt.date]:
    """The local dates a run sent at ``fired_at`` reports on: the day before, or the 7 days before."""
    end = fired_at.astimezone(ZoneInfo(timezone)).date() - dt.timedelta(days=1)
    return (end if kind == "daily" else end - dt.timedelta(days=6)), end


def next_fire(cron: str, after: dt.datetime, timezone: str) -> dt.datetime:
    nxt: dt.datetime = croniter(cron, after.astimezone(ZoneInfo(timezone))).get_next(dt.datetime)
    return nxt


def plan(conn: psycopg.Connection[Any], now: dt.datetime | None = None) -> int:
    """Plan the due schedules in one transaction; returns how many schedules were handled."""
    now = now or dt.datetime.now(dt.UTC)
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("set local role qms_worker")
        schedules = cur.execute("select * from worker.claim_report_schedules(100)").fetchall()
        for s in schedules:
            if s["next_run_at"] is None:
                upcoming = next_fire(s["cron"], now, s["timezone"])
                cur.execute(
                    "select worker.plan_report_run(%s, %s, null, null, %s)",
                    (s["tenant_id"], s["schedule_id"], upcoming),
                )
                continue
            # Every fire time up to now gets its period's run (a worker that was down catches up, at most
            # CATCH_UP periods); the unique (schedule, period) key keeps each one single.
            fired: dt.datetime = s["next_run_at"]
            for _ in range(CATCH_UP):
                start, end = period_of(s["kind"], fired, s["timezone"])
                upcoming = next_fire(s["cron"], fired, s["timezone"])
                cur.execute(
                    "select worker.plan_report_run(%s, %s, %s, %s, %s)",
                    (s["tenant_id"], s["schedule_id"], start, end, upcoming),
                )
                if upcoming > now:
                    break
                fired = upcoming
    return len(schedules)


def _kpis(conn: psycopg.Connection[Any], run: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str], str]:
    """The run's KPI rows (api.kpi as an analyst of the tenant), service names and the branch name."""
    s = run["schedule"]
    claims = {"role": "qms_analyst", "tenant_id": s["tenant_id"], "sub": f"report:{s['schedule_id']}"}
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        cur.execute("set local role qms_analyst")
        row = cur.execute(
            "select api.kpi(from_date => %s, to_date => %s, branch_id => %s) as r",
            (run["period_start"], run["period_end"], s["branch_id"]),
        ).fetchone()
        names = cur.execute(
            "select s.service_id::text as id, s.name, b.name as branch from qms.services s"
            " join qms.branches b using (tenant_id, branch_id) where s.tenant_id = %s and s.branch_id = %s",
            (s["tenant_id"], s["branch_id"]),
        ).fetchall()
    rows: list[dict[str, Any]] = row["r"] if row else []
    wanted = set(s["service_ids"] or [])
    if wanted:
        rows = [r for r in rows if r["service_id"] in wanted]
    branch = names[0]["branch"] if names else str(s["branch_id"])
    return rows, {n["id"]: n["name"] for n in names}, branch


def render(run: dict[str, Any], rows: list[dict[str, Any]], services: dict[str, str], branch: str) -> tuple[str, str]:
    """(HTML body, CSV attachment) of a run."""
    html = TEMPLATES.get_template("report.html.j2").render(
        schedule=run["schedule"], rows=rows, services=services, branch_name=branch,
        period_start=run["period_start"], period_end=run["period_end"],
    )  # fmt: skip
    return html, csv_text(KPI_COLUMNS, rows)


def message_of(run: dict[str, Any], subject: str, html: str, attachment: str) -> providers.Message:
    """The report as a message of the notification pipeline: one e-mail to all recipients, the run id as
    its idempotency key (Message-ID), the CSV attached."""
    recipients = list(run["schedule"]["recipients"])
    return providers.Message(
        delivery_id=run["run_id"], tenant_id=run["tenant_id"], ticket_id="", channel="email",
        event_type="report", language="en", recipient=recipients[0], more_recipients=recipients[1:],
        subject=subject, text="This report is in HTML; the CSV attachment holds the same rows.", html=html,
        idempotency_key=f"report-{run['run_id']}",
        attachments=[providers.Attachment(f"report-{run['period_start']}.csv", "text", "csv", attachment.encode())],
    )  # fmt: skip


def send_one(conn: psycopg.Connection[Any]) -> int:
    """Claim, build, send and finish one run; returns 1 when a run was handled, 0 when none was due."""
    with conn.transaction():
        conn.execute("set local role qms_worker")
        claimed = conn.execute("select worker.claim_report_run()").fetchone()
    if claimed is None or claimed[0] is None:
        return 0
    run: dict[str, Any] = claimed[0]
    error: str | None = None
    try:
        rows, services, branch = _kpis(conn, run)
        html, attachment = render(run, rows, services, branch)
        subject = f"{run['schedule']['name']}: {branch}, {run['period_start']}"
        if run["period_end"] != run["period_start"]:
            subject += f" to {run['period_end']}"
        provider = providers.provider_for("email", run.get("provider"))
        asyncio.run(provider.send(message_of(run, subject, html, attachment)))
    except (psycopg.Error, providers.TransientError, providers.PermanentError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    with conn.transaction():
        conn.execute("set local role qms_worker")
        status = conn.execute(
            "select worker.finish_report_run(%s, %s, %s)",
            (uuid.UUID(run["tenant_id"]), uuid.UUID(run["run_id"]), error),
        ).fetchone()
    log_event("report.run", run_id=run["run_id"], status=status[0] if status else None, error=error)
    return 1


def plan_job(interval: float = 30.0) -> Job:
    return Job("report_plan", plan, interval, batch_size=100, own_transactions=True)


def send_job(interval: float = 5.0) -> Job:
    return Job("report_send", send_one, interval, batch_size=1, own_transactions=True)
