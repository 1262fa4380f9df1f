"""Retention: idempotency keys older than the replay window are purged; so is notification data (contacts
after the tenant's retention period, old sink messages, finished deliveries and skip records)."""

from __future__ import annotations

import psycopg

from workers.runner import Job


def purge_idempotency_keys(conn: psycopg.Connection) -> int:
    row = conn.execute("select worker.purge_idempotency_keys(older_than => interval '7 days')").fetchone()
    return int(row[0]) if row else 0


def job(interval: float = 3600.0) -> Job:
    # The purge deletes everything old in one statement, so a batch is never "full".
    return Job(name="purge_idempotency_keys", batch=purge_idempotency_keys, interval=interval, batch_size=2**31)


NOTIFY_BATCH = 5000


def purge_notification_data(conn: psycopg.Connection) -> int:
    row = conn.execute("select worker.purge_notification_data(max_rows => %s)", (NOTIFY_BATCH,)).fetchone()
    return int(row[0]) if row else 0


def notifications_job(interval: float = 600.0) -> Job:
    return Job(name="purge_notification_data", batch=purge_notification_data, interval=interval, batch_size=1)
