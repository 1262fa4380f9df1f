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
from collections.abc import Iterable, Sequence
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
# The SQLite columns of each table with the SQL expression that gives the value as SQLite stores it (ids as
# text, booleans as 0/1, numerics as float8, the local hour split into date and hour), read in this order so
# that a fetched row is inserted as it comes.
TICKET_COLUMNS = {
    "ticket_id": "ticket_id::text", "ticket_number": "ticket_number", "branch_id": "branch_id::text",
    "service_id": "service_id::text", "counter_id": "counter_id::text", "priority_class": "priority_class",
    "channel": "channel", "timezone": "timezone", "local_date": "to_char(bucket_hour, 'YYYY-MM-DD')",
    "local_hour": "extract(hour from bucket_hour)::integer", "status": "status", "outcome": "outcome",
    "transferred": "transferred::integer", "created_at": "created_at", "first_called_at": "first_called_at",
    "served_at": "served_at", "completed_at": "completed_at", "wait_seconds": "wait_seconds::float8",
    "service_seconds": "service_seconds::float8", "sla_seconds": "sla_seconds", "sla_met": "sla_met::integer",
    "last_seq": "last_seq",
}  # fmt: skip
HOUR_COLUMNS = {
    "branch_id": "branch_id::text", "local_date": "to_char(bucket_hour, 'YYYY-MM-DD')",
    "local_hour": "extract(hour from bucket_hour)::integer", "service_id": "service_id::text",
    "priority_class": "priority_class", "channel": "channel", "counter_id": "counter_id::text",
    "tickets": "tickets", "served": "served", "no_shows": "no_shows", "cancelled": "cancelled",
    "transferred": "transferred", "waited": "waited", "wait_seconds_sum": "wait_seconds_sum::float8",
    "sla_met": "sla_met", "service_timed": "service_timed", "service_seconds_sum": "service_seconds_sum::float8",
}  # fmt: skip
TICKETS_SQL = f"select {', '.join(TICKET_COLUMNS.values())} from worker.analytics_snapshot_tickets(%s, %s, %s)"
HOURS_SQL = (
    f"select {', '.join(HOUR_COLUMNS.values())} from worker.analytics_snapshot_hours(%s, %s::uuid[], %s::timestamp[])"
)
TICKET_BRANCH, TICKET_DATE, TICKET_HOUR = (
    list(TICKET_COLUMNS).index(c) for c in ("branch_id", "local_date", "local_hour")
)


def snapshot_dir(env: dict[str, str] | None = None) -> Path:
    """QMS_ANALYTICS_DIR, default <QMS_DATA_DIR or .qms>/analytics."""
    env = dict(os.environ) if env is None else env
    raw = env.get("QMS_ANALYTICS_DIR", "").strip()
    return Path(raw) if raw else Path(env.get("QMS_DATA_DIR", ".qms")) / "analytics"


def _insert(db: sqlite3.Connection, table: str, columns: Iterable[str], rows: Iterable[Sequence[Any]]) -> None:
    names = list(columns)
    marks = ", ".join("?" for _ in names)
    db.executemany(f"insert or replace into {table} ({', '.join(names)}) values ({marks})", rows)


def _last_seq(path: Path) -> int:
    with sqlite3.connect(path) as db:
        row = db.execute("select value from meta where key = 'last_seq'").fetchone()
    return int(row[0]) if row else 0


def _apply(db: sqlite3.Connection, pg: Pg, tenant_id: uuid.UUID, after: int, upto: int) -> int:
    """Copy what changed in (after, upto] into an open SQLite transaction; returns the number of tickets."""
    with pg.connection.cursor() as rows:
        tickets = rows.execute(TICKETS_SQL, (tenant_id, after, upto)).fetchall()
        _insert(db, "tickets", TICKET_COLUMNS, tickets)
        pairs = sorted({(t[TICKET_BRANCH], t[TICKET_DATE], t[TICKET_HOUR]) for t in tickets})
        if pairs:
            hours = rows.execute(
                HOURS_SQL, (tenant_id, [p[0] for p in pairs], [f"{p[1]} {p[2]:02d}:00" for p in pairs])
            ).fetchall()
            db.executemany("delete from hourly_kpis where branch_id = ? and local_date = ? and local_hour = ?", pairs)
            _insert(db, "hourly_kpis", HOUR_COLUMNS, hours)
    dims_row = pg.execute("select worker.analytics_snapshot_dimensions(%s) as d", (tenant_id,)).fetchone()
    dims: dict[str, list[dict[str, Any]]] = dims_row["d"] if dims_row else {}
    for table in ("branches", "services", "counters"):
        dim_rows = dims.get(table, [])
        db.execute(f"delete from {table}")
        if dim_rows:
            columns = tuple(dim_rows[0])
            _insert(db, table, columns, (tuple(r[c] for c in columns) for r in dim_rows))
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
