"""Hostile input stops here, before any route or the database sees it (docs/http.md#input-limits).

:class:`InputGuard` is a pure-ASGI middleware inside :class:`gateway.middleware.Envelope` (so its refusals
carry the request id and are counted). For every HTTP request it:

- refuses a body over ``QMS_MAX_BODY_BYTES`` (``413 BODY_TOO_LARGE``, from Content-Length when given, else
  while reading);
- refuses a non-empty body whose Content-Type is given and is not JSON (``415 UNSUPPORTED_MEDIA_TYPE``);
- parses a non-empty body as strict JSON (``400 INVALID_JSON``: not JSON, not UTF-8, NaN/Infinity, an
  integer of more digits than Python parses) and refuses nesting deeper than ``QMS_MAX_JSON_DEPTH``
  (``400 NESTING_TOO_DEEP``, also when the parser itself gives up);
- checks that every string of the body (object keys too, at any depth), of the query string and of the
  path is text the database can store: no NUL character, no lone UTF-16 surrogate, valid UTF-8 in the
  query string (``400 INVALID_TEXT``).

The parsed body is kept in the request state (``json_body``) for ``/rpc`` and replayed unchanged to the app
for the REST routes. WebSocket and lifespan scopes pass through: realtime frames are held to the same
limits by their handler (:func:`parse_body`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings
from gateway.errors import ApiError


def bad_text(where: str) -> ApiError:
    return ApiError(
        400,
        "INVALID_TEXT",
        f"{where} holds a character that is not storable text (NUL, a lone UTF-16 surrogate or invalid UTF-8)",
        hint="Send UTF-8 text without NUL characters or unpaired surrogates.",
    )


def storable(text: str) -> bool:
    """True when ``text`` has no NUL and encodes to UTF-8 (no lone surrogate)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_value(value: Any, max_depth: int) -> None:
    """Walk a parsed JSON value (without recursion): every key and string storable, nesting within bounds."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not storable(item):
                raise bad_text("the request body")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise too_deep(max_depth)
            if isinstance(item, dict):
                for key, child in item.items():
                    if not storable(key):
                        raise bad_text("a key of the request body")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def too_deep(max_depth: int) -> ApiError:
    return ApiError(
        400,
        "NESTING_TOO_DEEP",
        f"the request body nests arrays and objects deeper than {max_depth} levels",
        hint="Send a flatter JSON value.",
    )


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_body(raw: bytes | str, max_depth: int) -> Any:
    """The JSON value of a non-empty body (or realtime frame), checked; raises :class:`ApiError`."""
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except RecursionError as exc:
        raise too_deep(max_depth) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "INVALID_JSON", "the request body is not valid JSON", hint="Send a JSON object.") from exc
    check_value(value, max_depth)
    return value


def check_query(raw: bytes) -> None:
    """Every name and value of the query string is storable text."""
    if not raw:
        return
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise bad_text("the query string") from exc
    for key, value in pairs:
        if not (storable(key) and storable(value)):
            raise bad_text("the query string")


def is_json_type(content_type: str | None) -> bool:
    """No Content-Type (taken as JSON), ``application/json`` or a ``+json`` type."""
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "BODY_TOO_LARGE",
        f"the request body is larger than {limit} bytes",
        hint="Send a smaller body (the limit is QMS_MAX_BODY_BYTES).",
    )


class InputGuard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.max_depth = settings.max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        try:
            if not storable(scope["path"]):
                raise bad_text("the path")
            check_query(scope.get("query_string", b""))
            raw = await self._read(scope, receive)
            if raw.strip():
                if not is_json_type(Headers(scope=scope).get("content-type")):
                    raise ApiError(
                        415,
                        "UNSUPPORTED_MEDIA_TYPE",
                        "the request body must be JSON",
                        hint="Send Content-Type: application/json.",
                    )
                state["json_body"] = parse_body(raw, self.max_depth)
            else:
                state["json_body"] = None
        except ApiError as error:
            state["error_code"] = error.code
            rid = state.get("request_id")
            response = JSONResponse(error.body(rid if isinstance(rid, str) else None), status_code=error.status)
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(raw, receive), send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes:
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_body:
            raise too_large(self.max_body)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b""  # the client left; the app will see the disconnect on its next receive
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise too_large(self.max_body)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(raw: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body read already, then whatever the server sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay
