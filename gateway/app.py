"""The gateway application: ``uvicorn gateway.app:create_app --factory``.

Lifespan opens the pool (as qms_authenticator), introspects the api schema and starts the realtime hub.
One pure-ASGI middleware (gateway.middleware.Envelope) gives every response an X-Request-Id, applies the rate
limits, turns any escaped exception into a 500 without internals, records metrics and writes one JSON
access-log line."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

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
from gateway.inputs import InputGuard
from gateway.middleware import Envelope, share
from gateway.ratelimit import JoinLimits
from gateway.realtime import Hub, PsycopgListenBackend
from gateway.routes import admin, analytics, health, printing, realtime, rest, rpc, webhooks
from gateway.routes import auth as auth_routes

ROOT = Path(__file__).resolve().parent.parent


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
        sampler: asyncio.Task[None] | None = None
        if metrics.MULTIPROC_DIR is not None:
            metrics.forget_dead_processes()
            sampler = asyncio.create_task(metrics.sampler(db, hub), name="metrics-sampler")
        try:
            yield
        finally:
            if sampler is not None:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
            await hub.stop()
            await db.close()

    app = FastAPI(
        title="QMS gateway",
        version="1.0.0",
        description="Queue management API: PostgREST-style /rpc/<fn> for every api function, REST routes, "
        "auth and realtime. Errors: {code, message, details, hint, request_id}.",
        lifespan=lifespan,
        docs_url=None,  # served by gateway.openapi.install_docs from local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.hub = hub
    app.state.join_limits = JoinLimits(
        share(settings.join_limit_per_ip, settings.workers), share(settings.join_limit_per_branch, settings.workers)
    )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return errors.error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "loc": [errors.clip(str(p), 100) for p in e.get("loc", ())],
                "msg": errors.clip(str(e.get("msg", "")), 200),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()[:20]
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

    # Added first, so it runs inside Envelope (its refusals get the request id and are counted).
    app.add_middleware(InputGuard, settings=settings)
    app.add_middleware(Envelope, settings=settings, workers=settings.workers)

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

    # /rpc first: the hot path matches at once. The routers' routes join the app's own list rather than
    # being included: an included router is matched through per-route wrappers on every request (a good
    # part of a cheap request's CPU), and none of ours has include-time settings (prefix, dependencies).
    app.router.routes[0:0] = rpc.ROUTES
    # printing's /apps/print/ticket comes before the /apps static mount below, which would otherwise answer it.
    for router in (
        auth_routes.router,
        admin.router,
        rest.router,
        analytics.router,
        analytics.proxy_router,
        realtime.router,
        health.router,
        webhooks.router,
        printing.router,
    ):
        app.router.routes.extend(router.routes)
    static = _static_dir(settings)
    if static is not None:
        app.mount("/apps", StaticFiles(directory=static, html=True), name="apps")
    openapi.install(app, lambda: db.catalog)
    openapi.install_docs(app)
    return app
