"""Analytics routes (US-ANALYT-002/004/005): ``GET /api/analytics/kpi`` maps onto ``api.kpi``;
``GET /api/analytics/export`` streams the drill-down (``api.kpi_tickets``) as CSV, page by page (keyset paging
on ``after_ticket_id``, one short transaction per page), with a stable header and timestamps in branch time.
Errors of the first page (bad range, another tenant's branch, …) come back as the usual JSON error body.

``/analytics/*`` is forwarded to the Datasette of the dashboards on its Unix socket (dashboards/serve.py), so
the dashboards share the gateway's origin; Datasette itself checks the token (dashboards/plugin.py)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from dashboards.serve import datasette_socket
from gateway import auth
from gateway.db import Database, RequestContext
from gateway.errors import ApiError
from gateway.ratelimit import RateLimiter, retry_after
from gateway.routes.rest import call
from gateway.routes.rpc import json_response
from qms.analytics_csv import KPI_COLUMNS, csv_text
from qms.analytics_csv import TICKET_COLUMNS as EXPORT_COLUMNS

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
proxy_router = APIRouter(tags=["analytics"])
FORWARDED_REQUEST_HEADERS = ("authorization", "cookie", "accept", "content-type", "user-agent", "x-request-id")
FORWARDED_RESPONSE_HEADERS = ("content-type", "content-disposition", "location", "set-cookie", "cache-control")

FILTERS = ("from_date", "to_date", "branch_id", "service_id", "priority_class", "channel")
EXPORT_PAGE = 2000


@router.get(
    "/kpi",
)
async def kpi(request: Request) -> Response:
    """``api.kpi`` with the query string as named arguments (from_date, to_date, branch_id, service_id,
    priority_class, channel, granularity)."""
    return await call(request, "kpi", dict(request.query_params), from_query=True)


async def _page(db: Database, ctx: RequestContext, args: dict[str, Any], after: str | None) -> list[dict[str, Any]]:
    page_args = {**args, "page_size": str(EXPORT_PAGE), **({"after_ticket_id": after} if after else {})}
    _fn, text = await db.call(ctx, "kpi_tickets", page_args, from_query=True)
    rows: list[dict[str, Any]] = json.loads(text or "[]")
    return rows


# BI tokens: QMS_BI_RATE_LIMIT requests per minute and token (per gateway process), 60 by default.
BI_LIMITER = RateLimiter(int(os.environ.get("QMS_BI_RATE_LIMIT", "60")))


def _bi_token(request: Request) -> str:
    token = request.headers.get("x-bi-token") or request.query_params.get("token")
    if not token:
        raise ApiError(401, "INVALID_BI_TOKEN", "a BI token is required", hint="Send X-BI-Token or ?token=.")
    return token


@router.get("/bi/kpi", responses={200: {"content": {"text/csv": {}}}})
async def bi_kpi(request: Request) -> Response:
    """Read-only KPIs for BI tools: ``api.kpi`` (query parameters as its arguments) as an analyst of the
    token's tenant; ``format=csv`` for CSV. Authenticated by a BI token (``X-BI-Token`` or ``?token=``),
    rate-limited per token."""
    token = _bi_token(request)
    wait = BI_LIMITER.take(hashlib.sha256(token.encode()).hexdigest())
    if wait > 0:
        raise ApiError(
            429, "RATE_LIMITED", "too many requests for this BI token", hint="Slow down.",
            headers={"Retry-After": retry_after(wait)},
        )  # fmt: skip
    db: Database = request.app.state.db

    async def resolve(conn: Any) -> Any:
        cur = await conn.execute("select qms.bi_token_claims(%s)", (token,))
        return await cur.fetchone()

    row = await db.raw(resolve)
    ctx = auth.context_for_claims(request, row[0])
    args = {k: v for k, v in request.query_params.items() if k not in ("token", "format")}
    _fn, text = await db.call(ctx, "kpi", args, from_query=True)
    if request.query_params.get("format") == "csv":
        return Response(csv_text(KPI_COLUMNS, json.loads(text or "[]")), media_type="text/csv; charset=utf-8")
    return json_response(text)


@router.get("/export", responses={200: {"content": {"text/csv": {}}}})
async def export(request: Request) -> Response:
    """The tickets of a filter as CSV (``api.kpi_tickets`` filters), streamed."""
    db: Database = request.app.state.db
    ctx = auth.request_context(request)
    args = {k: v for k, v in request.query_params.items() if k in FILTERS}
    first = await _page(db, ctx, args, None)  # errors surface here, before the stream starts

    async def body() -> AsyncIterator[str]:
        rows = first
        yield csv_text(EXPORT_COLUMNS, rows)
        while len(rows) == EXPORT_PAGE:
            rows = await _page(db, ctx, args, str(rows[-1]["ticket_id"]))
            yield csv_text(EXPORT_COLUMNS, rows, header=False)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tickets.csv"'},
    )


@proxy_router.api_route("/analytics/{path:path}", methods=["GET", "POST"], include_in_schema=False)
async def dashboards(path: str, request: Request) -> Response:
    """Forward to Datasette (base_url /analytics/) over its Unix socket, streaming the answer back. The
    prefix is stripped, as Datasette expects of a proxy: it builds its links from the request path plus
    base_url (a forwarded /analytics/… path gave doubled /analytics/analytics/… export links)."""
    socket = datasette_socket()
    if not socket.exists():
        raise ApiError(
            503, "DASHBOARDS_UNAVAILABLE", "the analytics dashboards are not running", hint="Start them with qms up."
        )
    client = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(socket)), timeout=30)
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED_REQUEST_HEADERS}
    upstream = client.build_request(
        request.method,
        f"http://datasette/{path}",
        params=str(request.query_params),
        headers=headers,
        content=await request.body() if request.method == "POST" else None,
    )
    try:
        answer = await client.send(upstream, stream=True)
    except httpx.TransportError as exc:
        await client.aclose()
        raise ApiError(503, "DASHBOARDS_UNAVAILABLE", "the analytics dashboards do not answer", hint="Retry.") from exc

    async def close() -> None:
        await answer.aclose()
        await client.aclose()

    return StreamingResponse(
        answer.aiter_raw(),
        status_code=answer.status_code,
        headers={k: v for k, v in answer.headers.items() if k in FORWARDED_RESPONSE_HEADERS},
        background=BackgroundTask(close),
    )
