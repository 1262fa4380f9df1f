"""The anomaly job (US-ANALYT-007): evaluate every active anomaly rule through ``worker.evaluate_anomalies``,
which raises one alert per episode and clears it when the episode ends; alerts are read with
``api.list_anomaly_alerts``."""

from __future__ import annotations

import psycopg

from workers.runner import Job

MAX_RULES = 1000


def evaluate(conn: psycopg.Connection) -> int:
    row = conn.execute("select worker.evaluate_anomalies(%s)", (MAX_RULES,)).fetchone()
    return int(row[0]) if row else 0


def job(interval: float = 15.0) -> Job:
    # Raised + cleared alerts are reported; a pass is complete whatever that number is.
    return Job("evaluate_anomalies", evaluate, interval, batch_size=2**62)
