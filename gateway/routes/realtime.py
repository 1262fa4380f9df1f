"""``/realtime`` (WebSocket) and ``/realtime/sse`` (Server-Sent Events). Protocol in docs/http.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from gateway import auth, inputs
from gateway.config import Settings
from gateway.db import Database, RequestContext
from gateway.errors import ApiError
from gateway.realtime import RESYNC, Client, Hub, topic_error

router = APIRouter(tags=["realtime"])
AUTH_TIMEOUT = 10.0
SSE_KEEPALIVE = 15.0


async def authenticate(db: Database, settings: Settings, ctx_source: Any, token: str) -> RequestContext:
    """Decode the token and check it is still valid in the database (tv, active)."""
    claims = auth.cached_decode(ctx_source.scope, settings, token)
    if claims.get("role") == auth.ANON_ROLE or not claims.get("tenant_id"):
        raise ApiError(401, "AUTH_REQUIRED", "realtime needs a tenant token", hint="Pass ?token=<access token>.")
    ctx = auth.context_for_claims(ctx_source, claims)
    await check(db, ctx)
    return ctx


async def check(db: Database, ctx: RequestContext) -> None:
    exp = ctx.claims.get("exp")
    if isinstance(exp, int) and exp < time.time():
        raise ApiError(401, "TOKEN_EXPIRED", "the access token has expired", hint="Send a fresh token.")
    await db.check(ctx)


async def authorize(db: Database, ctx: RequestContext, client: Client, topics: list[str]) -> None:
    """Raise 403 TOPIC_FORBIDDEN / 400 INVALID_TOPIC unless every topic is within the client's scope."""
    if not topics or len(topics) > 100:
        raise ApiError(400, "INVALID_TOPIC", "give 1 to 100 topics", hint="See docs/http.md for topic names.")
    for topic in topics:
        if not isinstance(topic, str):
            raise ApiError(400, "INVALID_TOPIC", "topics are strings")
        reason = topic_error(client, topic)
        if reason == "INVALID_TOPIC":
            raise ApiError(400, reason, f"unknown topic {topic[:100]!r}", hint="See docs/http.md for topic names.")
        if reason is None and not await in_database_scope(db, ctx, topic):
            reason = "TOPIC_FORBIDDEN"
        if reason:
            raise ApiError(
                403, reason, f"not allowed to subscribe to {topic}", hint="Stay within your tenant and branches."
            )


async def in_database_scope(db: Database, ctx: RequestContext, topic: str) -> bool:
    """The branch or counter of a topic exists in the caller's tenant and scope (RLS under its role)."""
    kind, _, rest = topic.partition(":")
    target = rest.split(":", 1)[0]
    if kind == "counter":
        query = (
            "select exists (select 1 from qms.counters c where c.counter_id = %s::uuid"
            " and qms.can_use_counter(c.branch_id, c.counter_id))"
        )
    elif kind == "branch":
        query = "select exists (select 1 from qms.branches b where b.branch_id = %s::uuid and qms.can_see_branch(b.branch_id))"
    else:
        return True

    row = await db.fetch_one(ctx, query, (target,))
    return bool(row and row[0])


def frame(text: str, settings: Settings) -> Any:
    """A client frame, held to the limits of a request body (gateway.inputs); raises ApiError."""
    if len(text) > settings.max_body_bytes:
        raise inputs.too_large(settings.max_body_bytes)
    return inputs.parse_body(text, settings.max_json_depth)


def _error_frame(exc: ApiError, request_id: str | None = None) -> str:
    return json.dumps({"type": "error", **exc.body(request_id)})


@router.websocket("/realtime")
async def websocket_endpoint(ws: WebSocket, token: str | None = None) -> None:
    settings: Settings = ws.app.state.settings
    db: Database = ws.app.state.db
    hub: Hub = ws.app.state.hub
    await ws.accept()
    try:
        if token is None:
            first = frame(await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT), settings)
            token = first.get("token") if isinstance(first, dict) and first.get("action") == "auth" else None
            if not token:
                raise ApiError(401, "AUTH_REQUIRED", 'send {"action":"auth","token":…} first or ?token=')
        ctx = await authenticate(db, settings, ws, token)
    except (ApiError, TimeoutError, ValueError, WebSocketDisconnect) as exc:
        err = exc if isinstance(exc, ApiError) else ApiError(401, "AUTH_REQUIRED", "authentication failed")
        with contextlib.suppress(Exception):
            await ws.send_text(_error_frame(err))
            await ws.close(code=4401)
        return
    # Frames are written by Client.offer itself (no sender task per client); see gateway.realtime.Client.
    client = Client.from_claims(ctx.claims, settings.realtime_buffer, send=ws.send_text)
    await ws.send_text(json.dumps({"type": "welcome", "role": ctx.role, "tenant_id": client.tenant_id}))
    hub.register(client)
    tasks = [
        asyncio.create_task(client.broken.wait()),
        asyncio.create_task(_ws_receiver(ws, db, settings, hub, client, ctx)),
        asyncio.create_task(_recheck(db, ctx, settings.realtime_recheck_seconds)),
    ]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            failure = task.exception()
            if isinstance(failure, ApiError):
                with contextlib.suppress(Exception):
                    await ws.send_text(_error_frame(failure))
                    await ws.close(code=4401)
    finally:
        for task in tasks:
            task.cancel()
        hub.unregister(client)
        client.close()


async def _recheck(db: Database, ctx: RequestContext, every: int) -> None:
    """A revoked device or disabled user loses its open connection within ``every`` seconds."""
    while True:
        await asyncio.sleep(max(every, 1))
        await check(db, ctx)


async def _ws_receiver(
    ws: WebSocket, db: Database, settings: Settings, hub: Hub, client: Client, ctx: RequestContext
) -> None:
    while True:
        try:
            message = frame(await ws.receive_text(), settings)
        except ApiError as exc:
            await ws.send_text(_error_frame(exc))
            continue
        action = message.get("action") if isinstance(message, dict) else None
        topics = message.get("topics") if isinstance(message, dict) else None
        try:
            if action == "subscribe":
                await authorize(db, ctx, client, topics if isinstance(topics, list) else [])
                hub.subscribe(client, topics or [])
                await ws.send_text(json.dumps({"type": "subscribed", "topics": sorted(client.topics)}))
            elif action == "unsubscribe":
                hub.unsubscribe(client, [t for t in topics or [] if isinstance(t, str)])
                await ws.send_text(json.dumps({"type": "subscribed", "topics": sorted(client.topics)}))
            elif action == "ping":
                await ws.send_text(json.dumps({"type": "pong", "ts": time.time()}))
            elif action == "auth":
                fresh = await authenticate(db, settings, ws, str(message.get("token", "")))
                if fresh.claims.get("tenant_id") != ctx.claims.get("tenant_id") or fresh.claims.get(
                    "sub"
                ) != ctx.claims.get("sub"):
                    raise ApiError(403, "TOKEN_MISMATCH", "a new token must be for the same tenant and subject")
                ctx = fresh
                await ws.send_text(json.dumps({"type": "welcome", "role": ctx.role, "tenant_id": client.tenant_id}))
            else:
                raise ApiError(400, "INVALID_REQUEST", "action must be subscribe, unsubscribe, ping or auth")
        except ApiError as exc:
            if exc.status == 401:
                raise
            await ws.send_text(_error_frame(exc))


@router.get("/realtime/sse", response_class=StreamingResponse)
async def sse(request: Request, topics: list[str] = Query(default=[]), token: str | None = None) -> StreamingResponse:
    """Server-Sent Events: ``?topics=a&topics=b`` (or comma-separated), token as ``?token=`` or bearer."""
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    hub: Hub = request.app.state.hub
    raw = token or auth.bearer_token(request)
    if not raw:
        raise ApiError(401, "AUTH_REQUIRED", "realtime needs a token", hint="Pass ?token=<access token>.")
    ctx = await authenticate(db, settings, request, raw)
    wanted = [t for item in topics for t in item.split(",") if t]
    client = Client.from_claims(ctx.claims, settings.realtime_buffer)
    await authorize(db, ctx, client, wanted)
    hub.register(client)
    hub.subscribe(client, wanted)
    return StreamingResponse(
        _sse_stream(request, db, ctx, hub, client, settings.realtime_recheck_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse_stream(
    request: Request, db: Database, ctx: RequestContext, hub: Hub, client: Client, every: int
) -> AsyncIterator[str]:
    next_check = time.monotonic() + every
    try:
        yield f"event: subscribed\ndata: {json.dumps({'type': 'subscribed', 'topics': sorted(client.topics)})}\n\n"
        while True:
            try:
                message = await asyncio.wait_for(client.queue.get(), timeout=min(SSE_KEEPALIVE, every))
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keepalive\n\n"
            else:
                if message == RESYNC:
                    yield f"event: resync\ndata: {message}\n\n"
                else:
                    seq = json.loads(message).get("seq")
                    yield (f"id: {seq}\n" if seq is not None else "") + f"event: event\ndata: {message}\n\n"
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + every
                try:
                    await check(db, ctx)
                except ApiError as exc:
                    yield f"event: error\ndata: {_error_frame(exc)}\n\n"
                    return
    finally:
        hub.unregister(client)
