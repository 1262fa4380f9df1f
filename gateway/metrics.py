"""Prometheus metrics of the gateway (``/metrics``): HTTP latency and errors, realtime connections and
lag, database pool use, and the NOTIFY queue usage (sampled on scrape).

With several worker processes (``qms up`` runs two by default) every worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, chosen when that variable is set before
this module is imported) and a scrape answered by any worker reads them all: counters and histograms are
summed over the workers (including workers that have exited since the directory was emptied), and each
gauge says how it combines (``multiprocess_mode``: connections and pool use are summed over the live workers,
the LISTEN connection is up only when it is up in every worker, the relay lag is the worst worker's). The
per-process gauges are refreshed by every worker every :data:`SAMPLE_SECONDS`, and by the worker that
answers a scrape just before it renders."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:
    from gateway.db import Database
    from gateway.realtime import Hub

REGISTRY = CollectorRegistry()
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
SAMPLE_SECONDS = 2.0

HTTP_LATENCY = Histogram(
    "qms_http_request_duration_seconds",
    "HTTP request latency by route template and status class",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
HTTP_ERRORS = Counter("qms_http_errors_total", "Error responses by reason code", ["status", "code"], registry=REGISTRY)
REALTIME_CLIENTS = Gauge(
    "qms_realtime_connections", "Open WebSocket and SSE connections", registry=REGISTRY, multiprocess_mode="livesum"
)
REALTIME_EVENTS = Counter("qms_realtime_events_total", "Events received on qms_events", registry=REGISTRY)
REALTIME_OVERFLOWS = Counter(
    "qms_realtime_buffer_overflows_total", "Client buffers dropped (client told to resync)", registry=REGISTRY
)
RELAY_LAG = Gauge(
    "qms_realtime_relay_lag_seconds",
    "Now minus the ts of the last event received",
    registry=REGISTRY,
    multiprocess_mode="livemax",
)
LISTEN_UP = Gauge(
    "qms_listen_connection_up", "1 while the LISTEN connection is alive", registry=REGISTRY, multiprocess_mode="livemin"
)
POOL_SIZE = Gauge(
    "qms_db_pool_connections", "Connections held by the pool", registry=REGISTRY, multiprocess_mode="livesum"
)
POOL_IN_USE = Gauge("qms_db_pool_in_use", "Pool connections in use", registry=REGISTRY, multiprocess_mode="livesum")
POOL_WAITING = Gauge(
    "qms_db_pool_waiting", "Requests waiting for a pool connection", registry=REGISTRY, multiprocess_mode="livesum"
)
NOTIFY_QUEUE = Gauge(
    "qms_pg_notification_queue_usage",
    "pg_notification_queue_usage() (0..1) of the server",
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
# The notification outbox, read from the database on scrape (worker.notification_metrics, as qms_worker).
NOTIFY_DELIVERIES = Gauge(
    "qms_notification_deliveries",
    "Unfinished and dead notification deliveries by status and channel",
    ["status", "channel"],
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
NOTIFY_OLDEST = Gauge(
    "qms_notification_oldest_queued_seconds",
    "How long the oldest due notification delivery has waited",
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
NOTIFY_ATTEMPTS = Gauge(
    "qms_notification_attempts_recent",
    "Send attempts finished in the last 5 minutes by outcome (sent, temporary_failure, permanent_failure, lease_expired)",
    ["outcome"],
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
NOTIFY_STATUSES = ("queued", "sending", "temporary_failure", "dead")
NOTIFY_CHANNELS = ("email", "sms", "whatsapp", "push")
NOTIFY_OUTCOMES = ("sent", "temporary_failure", "permanent_failure", "lease_expired")
RATE_LIMITED = Counter("qms_rate_limited_total", "Requests refused by the rate limiter", ["scope"], registry=REGISTRY)

_latency_children: dict[tuple[str, str, int], Any] = {}


def observe_http(method: str, route: str, status: int, seconds: float, code: str | None = None) -> None:
    """One request into the latency histogram (label children cached: ``labels()`` is not free) and, for
    an error status, into the error counter under its reason code (the body's ``code``; the status when
    the response carries none, e.g. a 404 of the static files)."""
    key = (method, route, status)
    child = _latency_children.get(key)
    if child is None:
        if len(_latency_children) > 10_000:  # route templates bound this; a guard all the same
            _latency_children.clear()
        child = _latency_children[key] = HTTP_LATENCY.labels(method, route, str(status))
    child.observe(seconds)
    if status >= 400:
        HTTP_ERRORS.labels(str(status), code or str(status)).inc()


def sample(db: Database | None, hub: Hub | None) -> None:
    """Set this process's pool and relay-lag gauges from their sources."""
    if db is not None:
        stats: dict[str, Any] = db.pool.get_stats()
        size = int(stats.get("pool_size", 0))
        available = int(stats.get("pool_available", 0))
        POOL_SIZE.set(size)
        POOL_IN_USE.set(size - available)
        POOL_WAITING.set(int(stats.get("requests_waiting", 0)))
    if hub is not None and hub.last_event_ts is not None:
        RELAY_LAG.set(max(0.0, time.time() - hub.last_event_ts))


async def sampler(db: Database | None, hub: Hub | None) -> None:
    """Keep this worker's gauges fresh for scrapes answered by another worker (multiprocess mode only)."""
    while True:
        sample(db, hub)
        await asyncio.sleep(SAMPLE_SECONDS)


_DB_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def forget_dead_processes(path: str | None = MULTIPROC_DIR) -> int:
    """Drop the live-gauge files of worker processes that are gone (a worker restarted by uvicorn leaves
    them behind); their counters and histograms stay and keep counting in the totals. Returns how many pids."""
    if path is None:
        return 0
    pids = set()
    with contextlib.suppress(OSError):
        for entry in os.scandir(path):
            m = _DB_FILE.match(entry.name)
            if m:
                pids.add(int(m.group(1)))
    dead = [pid for pid in pids if pid != os.getpid() and not _alive(pid)]
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
    return len(dead)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def sample_notifications(db: Database) -> None:
    """The outbox gauges; every known label is set (to 0 when absent) so a drained backlog reads 0."""
    async with db.pool.connection(timeout=2) as conn, conn.transaction():
        await conn.execute("set local role qms_worker")
        cur = await conn.execute("select worker.notification_metrics()")
        row = await cur.fetchone()
    data: dict[str, Any] = row[0] if row else {}
    counts = {(d["status"], d["channel"]): d["count"] for d in data.get("deliveries", [])}
    for status in NOTIFY_STATUSES:
        for channel in NOTIFY_CHANNELS:
            NOTIFY_DELIVERIES.labels(status, channel).set(counts.get((status, channel), 0))
    NOTIFY_OLDEST.set(float(data.get("oldest_queued_seconds") or 0))
    outcomes = {a["outcome"]: a["count"] for a in data.get("attempts_5m", [])}
    for outcome in NOTIFY_OUTCOMES:
        NOTIFY_ATTEMPTS.labels(outcome).set(outcomes.get(outcome, 0))


async def render(db: Database | None, hub: Hub | None) -> tuple[bytes, str]:
    """Sample the gauges that are cheaper to read on scrape, then render the registry (in multiprocess
    mode: every worker's files)."""
    sample(db, hub)
    if db is not None:
        try:
            async with db.pool.connection(timeout=2) as conn:
                cur = await conn.execute("select pg_notification_queue_usage()")
                row = await cur.fetchone()
                await conn.rollback()
            NOTIFY_QUEUE.set(float(row[0]) if row else 0.0)
            await sample_notifications(db)
        except Exception:  # noqa: S110 - a scrape must not fail because the database is down
            pass
    if MULTIPROC_DIR is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    forget_dead_processes()
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, MULTIPROC_DIR)  # type: ignore[no-untyped-call]
    return generate_latest(merged), CONTENT_TYPE_LATEST
