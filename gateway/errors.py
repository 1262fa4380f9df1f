"""The one mapping from database errors (SQLSTATE) to HTTP status and error body.

- ``PTxyz`` (raised by ``qms.fail``): HTTP ``xyz``, ``code`` = the reason key in DETAIL, ``hint`` = HINT.
- Built-ins as PostgREST maps them, ``code`` = the SQLSTATE: 23505/23503 → 409, other class 23 and 22 → 400,
  P0001 → 400, 25006 → 405; 42501 (insufficient privilege, row-level security) → 401 ``AUTH_REQUIRED`` for an
  anonymous caller else 403 ``PERMISSION_DENIED``; 42883 (no function with these argument names/types) → 400
  ``INVALID_ARGUMENTS``; 57014 → 504 ``STATEMENT_TIMEOUT``; connection trouble
  (08, 53, 57P01-57P03) → 503 ``DATABASE_UNAVAILABLE``; anything else → 500 ``INTERNAL`` with a generic message.

The body is always ``{"code", "message", "details", "hint", "request_id"}``; never SQL or a stack trace, and
the message and hint are cut to :data:`MAX_TEXT` characters (a database message may quote the value sent).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import Request
from fastapi.responses import JSONResponse

log = logging.getLogger("gateway.errors")
# Longest message or hint in an error body: enough for any message of ours, short for an echoed value.
MAX_TEXT = 300


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ApiError(Exception):
    """An error answered to the client as-is."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.details = details
        self.headers = headers or {}

    def body(self, request_id: str | None) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": clip(self.message),
            "details": self.details,
            "hint": None if self.hint is None else clip(self.hint),
            "request_id": request_id,
        }


def _http_status(digits: str) -> int:
    try:
        status = int(digits)
    except ValueError:
        return 500
    return status if 400 <= status <= 599 else 500


def from_pg(exc: psycopg.Error, *, anonymous: bool) -> ApiError:
    """Translate a psycopg error into the client-facing error."""
    diag = exc.diag
    state = exc.sqlstate or ""
    message = diag.message_primary or "database error"
    hint = diag.message_hint or None
    if state.startswith("PT"):
        status = _http_status(state[2:])
        code = (diag.message_detail or "").strip() or state
        if status >= 500:
            log.error("server error raised in SQL", extra={"sqlstate": state, "reason": code})
        return ApiError(status, code, message, hint=hint)
    if state in ("23505", "23503"):
        return ApiError(409, state, message, hint=hint)
    if state == "42501":
        if anonymous:
            return ApiError(401, "AUTH_REQUIRED", "authentication required", hint="Send Authorization: Bearer <token>.")
        return ApiError(403, "PERMISSION_DENIED", "permission denied", hint="Use an account whose role may do this.")
    if state == "42883":
        return ApiError(
            400,
            "INVALID_ARGUMENTS",
            "no function matches these argument names and types",
            hint="See /openapi.json for the function's parameters.",
        )
    if state.startswith(("22", "23")) or state == "P0001":
        return ApiError(400, state, message, hint=hint)
    if state == "25006":
        return ApiError(405, state, "this function writes and cannot be called with GET", hint="Use POST.")
    if state == "57014":
        return ApiError(504, "STATEMENT_TIMEOUT", "the database took too long to answer", hint="Retry later.")
    if not state and isinstance(exc, psycopg.DataError):
        # Rejected by the driver before reaching the server (e.g. a NUL character in a string).
        return ApiError(400, "INVALID_INPUT", "an argument value cannot be sent to the database", hint=str(exc)[:200])
    if state.startswith(("08", "53")) or state in ("57P01", "57P02", "57P03") or not state:
        log.warning("database unavailable", extra={"sqlstate": state, "error": type(exc).__name__})
        return ApiError(503, "DATABASE_UNAVAILABLE", "the database is not reachable", hint="Retry shortly.")
    log.error("unmapped database error", extra={"sqlstate": state, "error": message})
    return internal()


def internal() -> ApiError:
    return ApiError(500, "INTERNAL", "internal error", hint="Quote the request_id when reporting this.")


def request_id_of(request: Request) -> str | None:
    rid = getattr(request.state, "request_id", None)
    return rid if isinstance(rid, str) else None


def error_response(request: Request, error: ApiError) -> JSONResponse:
    request.state.error_code = error.code  # the error counter's code label (gateway.middleware)
    return JSONResponse(error.body(request_id_of(request)), status_code=error.status, headers=error.headers)
