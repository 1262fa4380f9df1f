"""PostgREST-style RPC: ``POST /rpc/<fn>`` with a JSON object of named arguments, ``GET /rpc/<fn>?arg=…``
for stable/immutable functions. The subset of PostgREST that postgrest-py uses: Accept-Profile /
Content-Profile name the schema (``api``; ``public``, the client's default, is taken to mean ``api``),
``Prefer`` is accepted, errors are ``{"code","message","details","hint"}``."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request, Response

from gateway import auth
from gateway.db import Database
from gateway.errors import ApiError

router = APIRouter(tags=["rpc"])

SCHEMAS = ("api", "public")
# Query parameters PostgREST reserves for shaping the result; accepted and ignored on GET.
RESERVED_QUERY = frozenset({"select", "order", "limit", "offset", "columns", "on_conflict"})
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_profile(request: Request, header: str) -> None:
    schema = request.headers.get(header)
    if schema is not None and schema not in SCHEMAS:
        raise ApiError(
            406, "UNKNOWN_SCHEMA", f"schema {schema!r} is not exposed", hint="Only the api schema is exposed."
        )


def json_response(text: str | None) -> Response:
    if text is None:
        return Response(status_code=204)
    return Response(text, media_type="application/json")


async def parse_json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "INVALID_JSON", "the request body is not valid JSON", hint="Send a JSON object.") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_JSON", "the request body must be a JSON object of named arguments")
    return body


def function_name(fn: str) -> str:
    if not NAME.match(fn):
        raise ApiError(404, "UNKNOWN_FUNCTION", "no such api function", hint="See /openapi.json.")
    return fn


@router.post("/rpc/{fn}", include_in_schema=False)
async def rpc_post(fn: str, request: Request) -> Response:
    check_profile(request, "content-profile")
    name = function_name(fn)
    args = await parse_json_object(request)
    db: Database = request.app.state.db
    _f, text = await db.call(auth.request_context(request), name, args)
    return json_response(text)


@router.get("/rpc/{fn}", include_in_schema=False)
async def rpc_get(fn: str, request: Request) -> Response:
    check_profile(request, "accept-profile")
    name = function_name(fn)
    args: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in RESERVED_QUERY:
            continue
        if key in args:
            raise ApiError(400, "INVALID_ARGUMENTS", f"argument {key} is given more than once")
        args[key] = value
    db: Database = request.app.state.db
    _f, text = await db.call(auth.request_context(request), name, args, from_query=True)
    return json_response(text)
