"""PostgREST-style RPC: ``POST /rpc/<fn>`` with a JSON object of named arguments, ``GET /rpc/<fn>?arg=…``
for stable/immutable functions. The subset of PostgREST that postgrest-py uses: Accept-Profile /
Content-Profile name the schema (``api``; ``public``, the client's default, is taken to mean ``api``),
``Prefer`` is accepted, errors are ``{"code","message","details","hint"}``.

These are the gateway's hot path, so they are plain Starlette routes (:data:`ROUTES`, matched first), not
FastAPI ones: the handlers take the request and validate nothing FastAPI could (the function's arguments come
from the catalog), and FastAPI's dependency solving and route bookkeeping were a good part of a cheap
request's CPU. They stay out of the generated schema; ``/openapi.json`` documents one path per function."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from gateway import auth
from gateway.db import Database
from gateway.errors import ApiError

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


def json_object(request: Request) -> dict[str, Any]:
    """The body as parsed and checked by :class:`gateway.inputs.InputGuard`; ``{}`` when empty."""
    body = request.state.json_body
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_JSON", "the request body must be a JSON object of named arguments")
    return body


def function_name(fn: str) -> str:
    if not NAME.match(fn):
        raise ApiError(404, "UNKNOWN_FUNCTION", "no such api function", hint="See /openapi.json.")
    return fn


async def rpc_post(request: Request) -> Response:
    check_profile(request, "content-profile")
    name = function_name(request.path_params["fn"])
    args = json_object(request)
    db: Database = request.app.state.db
    _f, text = await db.call(auth.request_context(request), name, args)
    return json_response(text)


async def rpc_get(request: Request) -> Response:
    check_profile(request, "accept-profile")
    name = function_name(request.path_params["fn"])
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


class RpcRoute(Route):
    """A Starlette route that, like FastAPI's, records itself as ``scope["route"]`` (the metrics label is its
    path template) and answers exactly its one method (Starlette would add HEAD to GET)."""

    def __init__(self, path: str, endpoint: Any, method: str) -> None:
        super().__init__(path, endpoint, methods=[method], include_in_schema=False)
        self.methods = {method}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


# POST first: another method on /rpc/<fn> answers 405 with ``Allow: POST``, as before.
ROUTES = [RpcRoute("/rpc/{fn}", rpc_post, "POST"), RpcRoute("/rpc/{fn}", rpc_get, "GET")]
