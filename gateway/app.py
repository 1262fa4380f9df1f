"""The gateway application: ``uvicorn gateway.app:create_app --factory``.

Lifespan opens the pool (as qms_authenticator), introspects the api schema and starts the realtime hub.
One middleware gives every response an X-Request-Id, applies the rate limits, turns any escaped exception
into a 500 without internals, records metrics and writes one JSON access-log line."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jwt
from broadcaster import Broadcast
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import errors, logs, metrics, openapi
from gateway.config import ConfigError, Settings
from gateway.db import Database
from gateway.errors import ApiError
from gateway.ratelimit import RateLimiter, retry_after
from gateway.realtime import Hub, PsycopgListenBackend
from gateway.routes import auth as auth_routes
from gateway.routes import health, realtime, rest, rpc

log = logging.getLogger("gateway.access")
ROOT = Path(__file__).resolve().parent.parent
UNLIMITED_PATHS = ("/healthz", "/readyz", "/metrics")


def _request_id(raw: str | None) -> str:
    if raw:
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            pass
    return str(uuid.uuid4())


def _tenant_of(request: Request, secret: str) -> str | None:
    header = request.headers.get("authorization", "")
    token = header[7:] if header[:7].lower() == "bearer " else request.query_params.get("token")
    if not token:
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    tenant = claims.get("tenant_id")
    return str(tenant) if tenant else None


def _static_dir(settings: Settings) -> Path | None:
    path = Path(settings.static_dir) if settings.static_dir else ROOT / "static_apps"
    return path if path.is_dir() and any(path.iterdir()) else None


def create_app(settings: Settings | None = None) -> FastAPI:
    logs.setup()
    if settings is None:
        try:
            settings = Settings.from_env()
        except ConfigError as exc:
            raise SystemExit(f"qms gateway: {exc}") from None
    db = Database(settings)
    backend = PsycopgListenBackend(settings.authenticator_url)
    hub = Hub(Broadcast(backend=backend), backend)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.open()
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            await db.close()

    app = FastAPI(
        title="QMS gateway",
        version="1.0.0",
        description="Queue management API: PostgREST-style /rpc/<fn> for every api function, REST routes, "
        "auth and realtime. Errors: {code, message, details, hint, request_id}.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.hub = hub
    per_ip = RateLimiter(settings.rate_limit_per_ip)
    per_tenant = RateLimiter(settings.rate_limit_per_tenant)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return errors.error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        if any(p["type"] == "json_invalid" for p in problems):
            err = ApiError(400, "INVALID_JSON", "the request body is not valid JSON", hint="Send a JSON object.")
        else:
            err = ApiError(
                400,
                "INVALID_REQUEST",
                "the request does not match the route's schema",
                details=problems,
                hint="See /openapi.json.",
            )
        return errors.error_response(request, err)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        code = codes.get(exc.status_code, "HTTP_ERROR")
        return errors.error_response(request, ApiError(exc.status_code, code, str(exc.detail)))

    @app.middleware("http")
    async def envelope(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        rid = _request_id(request.headers.get("x-request-id"))
        request.state.request_id = rid
        tenant = _tenant_of(request, settings.jwt_secret)
        response: Response
        if request.url.path in UNLIMITED_PATHS:
            wait = 0.0
        else:
            ip = request.client.host if request.client else "?"
            wait = per_ip.take(ip)
            scope = "ip"
            if not wait and tenant:
                wait, scope = per_tenant.take(tenant), "tenant"
        if wait:
            metrics.RATE_LIMITED.labels(scope).inc()
            err = ApiError(
                429,
                "RATE_LIMITED",
                f"too many requests (per {scope})",
                hint="Slow down and retry later.",
                headers={"Retry-After": retry_after(wait)},
            )
            response = errors.error_response(request, err)
        else:
            try:
                response = await call_next(request)
            except Exception:
                log.exception("unhandled error", extra={"request_id": rid})
                response = errors.error_response(request, errors.internal())
        response.headers["X-Request-Id"] = rid
        elapsed = time.perf_counter() - started
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.HTTP_LATENCY.labels(request.method, template, str(response.status_code)).observe(elapsed)
        if response.status_code >= 400:
            metrics.HTTP_ERRORS.labels(str(response.status_code), str(response.status_code)).inc()
        extra: dict[str, Any] = {
            "request_id": rid,
            "method": request.method,
            "path": request.url.path,
            "status": response.status_code,
            "latency_ms": round(elapsed * 1000, 2),
            "tenant": tenant,
            "branch": request.query_params.get("branch_id"),
        }
        log.info("request", extra=extra)
        return response

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=[
                "authorization",
                "content-type",
                "x-request-id",
                "prefer",
                "accept-profile",
                "content-profile",
                "x-client-info",
            ],
            expose_headers=["x-request-id", "retry-after"],
        )

    app.include_router(auth_routes.router)
    app.include_router(rest.router)
    app.include_router(rpc.router)
    app.include_router(realtime.router)
    app.include_router(health.router)
    static = _static_dir(settings)
    if static is not None:
        app.mount("/apps", StaticFiles(directory=static, html=True), name="apps")
    openapi.install(app, lambda: db.catalog)
    return app
