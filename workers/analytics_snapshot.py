"""Per-tenant SQLite snapshots of the ``analytics`` views for Datasette (docs/adr/0015-datasette-snapshots.md),
and the fold of the rollup deltas.

Every few seconds, in one repeatable-read transaction as ``qms_worker``: read the event watermark W
(``worker.analytics_snapshot_watermark``), then for each active tenant copy into ``<dir>/<tenant_id>.db`` the
tickets whose facts changed since the file's last seq (up to W), the hourly KPI rows of the (branch, hour)
pairs those tickets belong to, and the branch/service/counter names. A new tenant's file is built in a
temporary file and moved into place with ``os.replace``; later refreshes change the file in one SQLite
transaction (WAL), so Datasette readers see the old or the new state, never a mix. Datasette keeps one
connection per thread and database name, so an existing file is changed in place rather than replaced. No
column carries PII (the tables hold ids, names of places, classes, statuses, timestamps and metrics)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from workers.runner import Job

Pg = psycopg.Cursor[dict[str, Any]]

SCHEMA = """
create table meta (key text primary key, value text not null);
create table branches (branch_id text primary key, name text not null, timezone text not null);
create table services (service_id text primary key, branch_id text not null, name text not null,
                       sla_minutes integer not null);
create table counters (counter_id text primary key, branch_id text not null, name text not null);
create table tickets (ticket_id text primary key, ticket_number text, branch_id text, service_id text,
                      counter_id text, priority_class text, channel text, timezone text, local_date text,
                      local_hour integer, status text, outcome text, transferred integer, created_at text,
                      first_called_at text, served_at text, completed_at text, wait_seconds real,
                      service_seconds real, sla_seconds integer, sla_met integer, last_seq integer);
create index tickets_date_idx on tickets (local_date, branch_id);
create table hourly_kpis (branch_id text, local_date text, local_hour integer, service_id text,
                          priority_class text, channel text, counter_id text, tickets integer, served integer,
                          no_shows integer, cancelled integer, transferred integer, waited integer,
                          wait_seconds_sum real, sla_met integer, service_timed integer,
                          service_seconds_sum real);
create index hourly_kpis_hour_idx on hourly_kpis (branch_id, local_date, local_hour);
"""
TICKET_COLUMNS = (
    "ticket_id", "ticket_number", "branch_id", "service_id", "counter_id", "priority_class", "channel", "timezone",
    "local_date", "local_hour", "status", "outcome", "transferred", "created_at", "first_called_at", "served_at",
    "completed_at", "wait_seconds", "service_seconds", "sla_seconds", "sla_met", "last_seq",
)  # fmt: skip
HOUR_COLUMNS = (
    "branch_id", "local_date", "local_hour", "service_id", "priority_class", "channel", "counter_id", "tickets",
    "served", "no_shows", "cancelled", "transferred", "waited", "wait_seconds_sum", "sla_met", "service_timed",
    "service_seconds_sum",
)  # fmt: skip


def snapshot_dir(env: dict[str, str] | None = None) -> Path:
    """QMS_ANALYTICS_DIR, default <QMS_DATA_DIR or .qms>/analytics."""
    env = dict(os.environ) if env is None else env
    raw = env.get("QMS_ANALYTICS_DIR", "").strip()
    return Path(raw) if raw else Path(env.get("QMS_DATA_DIR", ".qms")) / "analytics"


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    if value is not None and not isinstance(value, int | float | str):
        return float(value) if hasattr(value, "as_integer_ratio") else str(value)
    return value


def _ticket_row(t: dict[str, Any]) -> tuple[Any, ...]:
    hour = t["bucket_hour"]
    row = {**t, "local_date": hour.date().isoformat(), "local_hour": hour.hour}
    return tuple(_sqlite_value(row[c]) for c in TICKET_COLUMNS)


def _hour_row(k: dict[str, Any]) -> tuple[Any, ...]:
    hour = k["bucket_hour"]
    row = {**k, "local_date": hour.date().isoformat(), "local_hour": hour.hour}
    return tuple(_sqlite_value(row[c]) for c in HOUR_COLUMNS)


def _insert(db: sqlite3.Connection, table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    marks = ", ".join("?" for _ in columns)
    db.executemany(f"insert or replace into {table} ({', '.join(columns)}) values ({marks})", rows)


def _last_seq(path: Path) -> int:
    with sqlite3.connect(path) as db:
        row = db.execute("select value from meta where key = 'last_seq'").fetchone()
    return int(row[0]) if row else 0


def _apply(db: sqlite3.Connection, pg: Pg, tenant_id: uuid.UUID, after: int, upto: int) -> int:
    """Copy what changed in (after, upto] into an open SQLite transaction; returns the number of tickets."""
    tickets = pg.execute(
        "select * from worker.analytics_snapshot_tickets(%s, %s, %s)", (tenant_id, after, upto)
    ).fetchall()
    _insert(db, "tickets", TICKET_COLUMNS, (_ticket_row(t) for t in tickets))
    pairs = sorted({(t["branch_id"], t["bucket_hour"]) for t in tickets})
    if pairs:
        hours = pg.execute(
            "select * from worker.analytics_snapshot_hours(%s, %s, %s)",
            (tenant_id, [p[0] for p in pairs], [p[1] for p in pairs]),
        ).fetchall()
        db.executemany(
            "delete from hourly_kpis where branch_id = ? and local_date = ? and local_hour = ?",
            [(str(b), h.date().isoformat(), h.hour) for b, h in pairs],
        )
        _insert(db, "hourly_kpis", HOUR_COLUMNS, (_hour_row(k) for k in hours))
    dims_row = pg.execute("select worker.analytics_snapshot_dimensions(%s) as d", (tenant_id,)).fetchone()
    dims: dict[str, list[dict[str, Any]]] = dims_row["d"] if dims_row else {}
    for table in ("branches", "services", "counters"):
        rows = dims.get(table, [])
        db.execute(f"delete from {table}")
        if rows:
            columns = tuple(rows[0])
            _insert(db, table, columns, (tuple(r[c] for c in columns) for r in rows))
    db.execute(
        "insert or replace into meta (key, value) values ('last_seq', ?), ('tenant_id', ?)", (upto, str(tenant_id))
    )
    return len(tickets)


def refresh_tenant(pg: Pg, directory: Path, tenant_id: uuid.UUID, upto: int) -> int:
    """Bring one tenant's file up to ``upto``; returns the number of tickets copied."""
    path = directory / f"{tenant_id}.db"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        db = sqlite3.connect(tmp)
        try:
            db.executescript(SCHEMA)
            with db:
                copied = _apply(db, pg, tenant_id, 0, upto)
            db.execute("pragma journal_mode = wal")
        finally:
            db.close()
        os.replace(tmp, path)
        return copied
    after = _last_seq(path)
    if upto <= after:
        return 0
    db = sqlite3.connect(path)
    try:
        with db:
            return _apply(db, pg, tenant_id, after, upto)
    finally:
        db.close()


def refresh_all(pg: Pg, directory: Path) -> int:
    """One refresh of every active tenant inside the caller's transaction (role qms_worker, repeatable read,
    read only)."""
    directory.mkdir(parents=True, exist_ok=True)
    row = pg.execute("select worker.analytics_snapshot_watermark() as w").fetchone()
    upto = int(row["w"]) if row and row["w"] is not None else 0
    copied = 0
    for tenant in pg.execute("select tenant_id from worker.analytics_tenants()").fetchall():
        copied += refresh_tenant(pg, directory, tenant["tenant_id"], upto)
    return copied


def refresh(conn: psycopg.Connection[Any], directory: Path) -> int:
    """One refresh on an autocommit connection: a horizon sample in a short transaction of its own, then the
    copy in a read-only repeatable-read transaction (no xid, so it holds back nobody's watermark)."""
    with conn.transaction():
        conn.execute("set local role qms_worker")
        conn.execute("select qms.sample_event_horizon()")
    with conn.transaction():
        conn.execute("set transaction isolation level repeatable read, read only")
        conn.execute("set local role qms_worker")
        with conn.cursor(row_factory=dict_row) as cur:
            return refresh_all(cur, directory)


def snapshot_job(directory: Path, interval: float = 3.0) -> Job:
    def batch(conn: psycopg.Connection) -> int:
        return refresh(conn, directory)

    # The batch size is never reached: a snapshot refresh is one batch per interval.
    return Job("analytics_snapshot", batch, interval, batch_size=2**62, own_transactions=True)


def fold_job(interval: float = 2.0, batch_size: int = 10000) -> Job:
    def batch(conn: psycopg.Connection) -> int:
        row = conn.execute("select worker.analytics_fold(%s)", (batch_size,)).fetchone()
        return int(row[0]) if row else 0

    return Job("analytics_fold", batch, interval, batch_size)
