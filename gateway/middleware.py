"""The gateway's one HTTP middleware, as plain ASGI (Starlette's ``BaseHTTPMiddleware`` costs a task and a
memory stream per request): every response gets an ``X-Request-Id``, the per-IP and per-tenant rate limits
answer 429 with ``Retry-After``, an escaped exception becomes a 500 without internals, and each request
is recorded in the metrics and in one JSON access-log line. WebSocket and lifespan scopes pass through.

The bearer token (header, or ``?token=`` for SSE) is decoded here once; the result is kept in the request
state for :func:`gateway.auth.request_context`."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import auth, client_ip, errors, metrics
from gateway.config import Settings
from gateway.errors import ApiError
from gateway.ratelimit import RateLimiter, retry_after

log = logging.getLogger("gateway.access")
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def request_id(raw: str | None) -> str:
    """The client's X-Request-Id when it is a UUID (normalised), else a new one."""
    if raw:
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            pass
    return str(uuid.uuid4())


def _query_value(scope: Scope, name: str) -> str | None:
    raw: bytes = scope.get("query_string", b"")
    if name.encode() not in raw:
        return None
    return QueryParams(raw).get(name)


def _tenant(scope: Scope, headers: Headers, settings: Settings) -> str | None:
    """The tenant of a valid token (for the per-tenant limit and the log); decoded once per request."""
    header = headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else _query_value(scope, "token")
    if not token:
        return None
    try:
        claims = auth.cached_decode(scope, settings, token)
    except ApiError:
        return None
    tenant = claims.get("tenant_id")
    return str(tenant) if tenant else None


class Envelope:
    def __init__(self, app: ASGIApp, settings: Settings, workers: int = 1) -> None:
        self.app = app
        self.settings = settings
        # In-memory buckets are per process: with N workers each enforces 1/N of the limit (docs/http.md).
        share = max(workers, 1)
        self.per_ip = RateLimiter(_share(settings.rate_limit_per_ip, share))
        self.per_tenant = RateLimiter(_share(settings.rate_limit_per_tenant, share))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = Headers(scope=scope)
        rid = request_id(headers.get("x-request-id"))
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = rid
        tenant = _tenant(scope, headers, self.settings)
        status = 500
        response_started = False
        rid_header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                raw = [h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"]
                raw.append(rid_header)
                message = {**message, "headers": raw}
            await send(message)

        error = self._limited(scope, tenant)
        try:
            if error is not None:
                state["error_code"] = error.code
                await _error(error, rid)(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra={"request_id": rid})
            if response_started:
                raise
            internal = errors.internal()
            state["error_code"] = internal.code
            await _error(internal, rid)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            metrics.observe_http(
                scope["method"], getattr(route, "path", "unmatched"), status, elapsed, state.get("error_code")
            )
            log.info(
                "request",
                extra={
                    "request_id": rid,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 2),
                    "tenant": tenant,
                    "branch": _query_value(scope, "branch_id"),
                },
            )

    def _limited(self, scope: Scope, tenant: str | None) -> ApiError | None:
        if scope["path"] in UNLIMITED_PATHS:
            return None
        wait = self.per_ip.take(client_ip.of_scope(scope, self.settings.trusted_proxies))
        where = "ip"
        if not wait and tenant:
            wait, where = self.per_tenant.take(tenant), "tenant"
        if not wait:
            return None
        metrics.RATE_LIMITED.labels(where).inc()
        return ApiError(
            429,
            "RATE_LIMITED",
            f"too many requests (per {where})",
            hint="Slow down and retry later.",
            headers={"Retry-After": retry_after(wait)},
        )


def _share(limit: int, workers: int) -> int:
    """A worker's part of a per-minute limit (0 stays 0: disabled)."""
    return 0 if limit <= 0 else max(1, -(-limit // workers))


def _error(error: ApiError, rid: str) -> JSONResponse:
    return JSONResponse(error.body(rid), status_code=error.status, headers=error.headers)
