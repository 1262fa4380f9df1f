"""Prometheus metrics of the gateway (``/metrics``): HTTP latency and errors, realtime connections and
lag, database pool use, and the NOTIFY queue usage (sampled on scrape)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from gateway.db import Database
    from gateway.realtime import Hub

REGISTRY = CollectorRegistry()

HTTP_LATENCY = Histogram(
    "qms_http_request_duration_seconds",
    "HTTP request latency by route template and status class",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
HTTP_ERRORS = Counter("qms_http_errors_total", "Error responses by reason code", ["status", "code"], registry=REGISTRY)
REALTIME_CLIENTS = Gauge("qms_realtime_connections", "Open WebSocket and SSE connections", registry=REGISTRY)
REALTIME_EVENTS = Counter("qms_realtime_events_total", "Events received on qms_events", registry=REGISTRY)
REALTIME_OVERFLOWS = Counter(
    "qms_realtime_buffer_overflows_total", "Client buffers dropped (client told to resync)", registry=REGISTRY
)
RELAY_LAG = Gauge("qms_realtime_relay_lag_seconds", "Now minus the ts of the last event received", registry=REGISTRY)
LISTEN_UP = Gauge("qms_listen_connection_up", "1 while the LISTEN connection is alive", registry=REGISTRY)
POOL_SIZE = Gauge("qms_db_pool_connections", "Connections held by the pool", registry=REGISTRY)
POOL_IN_USE = Gauge("qms_db_pool_in_use", "Pool connections in use", registry=REGISTRY)
POOL_WAITING = Gauge("qms_db_pool_waiting", "Requests waiting for a pool connection", registry=REGISTRY)
NOTIFY_QUEUE = Gauge(
    "qms_pg_notification_queue_usage", "pg_notification_queue_usage() (0..1) of the server", registry=REGISTRY
)
RATE_LIMITED = Counter("qms_rate_limited_total", "Requests refused by the rate limiter", ["scope"], registry=REGISTRY)

_latency_children: dict[tuple[str, str, int], Any] = {}


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    """One request into the latency histogram (label children cached: ``labels()`` is not free) and, for
    an error status, into the error counter."""
    key = (method, route, status)
    child = _latency_children.get(key)
    if child is None:
        if len(_latency_children) > 10_000:  # route templates bound this; a guard all the same
            _latency_children.clear()
        child = _latency_children[key] = HTTP_LATENCY.labels(method, route, str(status))
    child.observe(seconds)
    if status >= 400:
        HTTP_ERRORS.labels(str(status), str(status)).inc()


async def render(db: Database | None, hub: Hub | None) -> tuple[bytes, str]:
    """Sample the gauges that are cheaper to read on scrape, then render the registry."""
    if db is not None:
        stats: dict[str, Any] = db.pool.get_stats()
        size = int(stats.get("pool_size", 0))
        available = int(stats.get("pool_available", 0))
        POOL_SIZE.set(size)
        POOL_IN_USE.set(size - available)
        POOL_WAITING.set(int(stats.get("requests_waiting", 0)))
        try:
            async with db.pool.connection(timeout=2) as conn:
                cur = await conn.execute("select pg_notification_queue_usage()")
                row = await cur.fetchone()
                await conn.rollback()
            NOTIFY_QUEUE.set(float(row[0]) if row else 0.0)
        except Exception:  # noqa: S110 - a scrape must not fail because the database is down
            pass
    if hub is not None and hub.last_event_ts is not None:
        RELAY_LAG.set(max(0.0, time.time() - hub.last_event_ts))
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
