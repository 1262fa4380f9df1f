"""Queue position counts: fold the queue ledger into bucket counts every second, so a ticket's position
stays a read of a few rows however long its queue is (docs/adr/0021-flat-queue-position.md)."""

from __future__ import annotations

import psycopg

from workers.runner import Job

BATCH = 10000


def fold(conn: psycopg.Connection) -> int:
    row = conn.execute("select worker.queue_fold(max_rows => %s)", (BATCH,)).fetchone()
    return int(row[0]) if row else 0


def job(interval: float = 1.0) -> Job:
    return Job(name="queue_fold", batch=fold, interval=interval, batch_size=BATCH)
