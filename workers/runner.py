"""One runner for periodic database jobs: each job is a function that does one batch through an ``api``
function granted to ``qms_worker`` and returns how many rows it handled. The runner repeats a job at once
while it reports a full batch, otherwise waits for its interval; it retries serialization failures and
deadlocks, reconnects after a lost connection, logs JSON lines and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import errors

log = logging.getLogger("qms.workers")

BatchFn = Callable[[psycopg.Connection], int]


@dataclass
class Job:
    name: str
    batch: BatchFn
    interval: float
    batch_size: int
    next_run: float = field(default=0.0)
    # A job that opens its own transactions (and sets role qms_worker in each) gets the autocommit connection:
    # e.g. one that must not keep a transaction open while it talks to an SMTP server.
    own_transactions: bool = False


def log_event(event: str, **fields: object) -> None:
    log.info(json.dumps({"event": event, **fields}, default=str))


def _run_batch(conn: psycopg.Connection, job: Job, attempts: int = 5) -> int:
    if job.own_transactions:
        return job.batch(conn)
    for attempt in range(1, attempts + 1):
        try:
            with conn.transaction():
                conn.execute("set local role qms_worker")
                return job.batch(conn)
        except (errors.SerializationFailure, errors.DeadlockDetected):
            if attempt == attempts:
                raise
            time.sleep(0.01 * attempt)
    return 0


def run(database_url: str, jobs: list[Job], stop: threading.Event, tick: float = 0.05) -> None:
    """Run ``jobs`` until ``stop`` is set (a batch under way is finished first, no new one starts); then log
    ``worker.stopping``. A lost connection is re-opened with backoff."""
    backoff = 0.5
    while not stop.is_set():
        try:
            with psycopg.connect(database_url, autocommit=True, application_name="qms-worker") as conn:
                backoff = 0.5
                _loop(conn, jobs, stop, tick)
        except psycopg.OperationalError as exc:
            log_event("worker.connection_lost", error=str(exc).splitlines()[0], retry_in=backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)
    log_event("worker.stopping", signal=_stop_signal[0] if _stop_signal else None)


def _loop(conn: psycopg.Connection, jobs: list[Job], stop: threading.Event, tick: float) -> None:
    while not stop.is_set():
        now = time.monotonic()
        for job in jobs:
            if stop.is_set():
                break
            if now < job.next_run:
                continue
            try:
                handled = _run_batch(conn, job)
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                log_event("worker.job_failed", job=job.name, error=str(exc).splitlines()[0])
                handled = 0
            if handled:
                log_event("worker.batch", job=job.name, rows=handled)
            # A full batch means more is waiting: run again on the next tick.
            job.next_run = now if handled >= job.batch_size else now + job.interval
        stop.wait(tick)


# The signal that asked the runner to stop; ``run`` logs it once the batch under way has finished, so that
# no batch line follows ``worker.stopping``.
_stop_signal: list[str] = []


def install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        _stop_signal.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
