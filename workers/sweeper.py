"""Auto no-show: called tickets past their grace period become no-show (or return to the queue)."""

from __future__ import annotations

import psycopg

from workers.runner import Job

BATCH = 500


def sweep_no_shows(conn: psycopg.Connection) -> int:
    row = conn.execute("select worker.sweep_no_shows(max_rows => %s)", (BATCH,)).fetchone()
    return int(row[0]) if row else 0


def job(interval: float = 1.0) -> Job:
    return Job(name="sweep_no_shows", batch=sweep_no_shows, interval=interval, batch_size=BATCH)
