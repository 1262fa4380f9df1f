"""``/healthz`` (process up), ``/readyz`` (database reachable and LISTEN alive), ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gateway import metrics
from gateway.db import Database
from gateway.realtime import Hub

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        200: {"description": "ready"},
        503: {"description": "not ready: {status, database, listen}", "content": {"application/json": {}}},
    },
)
async def readyz(request: Request) -> Response:
    db: Database = request.app.state.db
    hub: Hub = request.app.state.hub
    checks: dict[str, Any] = {"database": False, "listen": hub.alive}
    try:
        async with db.pool.connection(timeout=2) as conn:
            await conn.execute("select 1")
            await conn.rollback()
        checks["database"] = True
    except Exception:  # noqa: S110 - reported as not ready
        pass
    ready = all(checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text exposition format", "content": {"text/plain": {}}}},
)
async def prometheus(request: Request) -> Response:
    body, content_type = await metrics.render(request.app.state.db, request.app.state.hub)
    return Response(body, media_type=content_type)
