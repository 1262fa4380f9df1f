"""Tokens and identities: access JWTs (HS256), device tokens, opaque refresh tokens, argon2 passwords, and
the request context (role + claims) derived from ``Authorization: Bearer``."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from starlette.requests import HTTPConnection

from gateway import client_ip
from gateway.config import Settings
from gateway.db import RequestContext
from gateway.errors import ApiError
from qms import roles

ALGORITHM = "HS256"
ANON_ROLE = "qms_anon"
TOKEN_ROLES = frozenset(roles.ROLES)
# The roles served over HTTP and realtime. qms_worker tokens belong to the platform workers, which talk to
# the database directly; the gateway refuses them (403 ROLE_NOT_SERVED).
SERVED_ROLES = frozenset(roles.SERVED_ROLES)
USER_ROLES = frozenset({"agent", "supervisor", "admin", "analyst"})

_hasher = PasswordHasher()
# Verifying against a fixed hash when the user does not exist keeps login timing the same either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_access(settings: Settings, claims: dict[str, Any], ttl_seconds: int | None = None) -> tuple[str, int]:
    """A signed token with iat, exp and jti added; returns (token, ttl)."""
    ttl = ttl_seconds or settings.access_ttl_seconds
    now = int(time.time())
    body = {**claims, "iat": now, "exp": now + ttl, "jti": str(uuid.uuid4())}
    return jwt.encode(body, settings.jwt_secret, algorithm=ALGORITHM), ttl


def user_claims(
    tenant_id: Any, user_id: Any, role: str, branch_ids: Any, counter_ids: Any, token_version: int
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "role": f"qms_{role}",
        "tenant_id": str(tenant_id),
        "sub": str(user_id),
        "tv": int(token_version),
    }
    if branch_ids is not None:
        claims["branch_ids"] = [str(b) for b in branch_ids]
    if counter_ids is not None:
        claims["counter_ids"] = [str(c) for c in counter_ids]
    return claims


# Verified tokens → (claims, exp): clients send the same token on every request, and the signature check is
# a good part of a cheap request's CPU. Only valid tokens are kept; exp is checked again on every hit.
_VERIFIED: dict[tuple[str, str], tuple[dict[str, Any], float]] = {}
VERIFIED_MAX = 10_000


def decode(settings: Settings, token: str) -> dict[str, Any]:
    """Verify signature, expiry and the role claim; the claims (shared: do not modify them)."""
    key = (settings.jwt_secret, token)
    hit = _VERIFIED.get(key)
    if hit is not None and hit[1] > time.time():
        return hit[0]
    claims = _verify(settings, token)
    if len(_VERIFIED) >= VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = (claims, float(claims["exp"]))
    return claims


def _verify(settings: Settings, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, settings.jwt_secret, algorithms=[ALGORITHM], options={"require": ["exp", "role"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(
            401, "TOKEN_EXPIRED", "the access token has expired", hint="Refresh it (POST /auth/refresh)."
        ) from exc
    except jwt.PyJWTError as exc:
        raise ApiError(401, "INVALID_TOKEN", "the bearer token is not valid", hint="Log in again.") from exc
    if claims.get("role") not in TOKEN_ROLES:
        raise ApiError(401, "INVALID_TOKEN", "the token names an unknown role", hint="Log in again.")
    if claims["role"] not in SERVED_ROLES:
        raise ApiError(
            403,
            "ROLE_NOT_SERVED",
            f"the gateway does not serve the role {claims['role']}",
            hint="Worker tokens are for the platform workers, which connect to the database directly.",
        )
    return claims


def cached_decode(scope: MutableMapping[str, Any], settings: Settings, token: str) -> dict[str, Any]:
    """:func:`decode`, once per request: the outcome (claims or error) is kept in the request state."""
    state: dict[str, Any] = scope.setdefault("state", {})
    hit = state.get("jwt")
    if hit is not None and hit[0] == token:
        outcome = hit[1]
    else:
        try:
            outcome = decode(settings, token)
        except ApiError as exc:
            outcome = exc
        state["jwt"] = (token, outcome)
    if isinstance(outcome, ApiError):
        raise ApiError(outcome.status, outcome.code, outcome.message, hint=outcome.hint)
    claims: dict[str, Any] = outcome
    return claims


def bearer_token(request: HTTPConnection) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "INVALID_TOKEN", "Authorization must be 'Bearer <token>'", hint="Send a bearer token.")
    return token.strip()


def request_headers(request: HTTPConnection) -> dict[str, str]:
    """The headers the database may read (qms.request_header), lower-cased. ``x-forwarded-for`` is the one
    client address the gateway trusts (:mod:`gateway.client_ip`), never the raw header."""
    settings: Settings = request.app.state.settings
    headers = {
        "user-agent": request.headers.get("user-agent", "")[:300],
        "x-forwarded-for": client_ip.of_scope(request.scope, settings.trusted_proxies),
        "x-request-id": str(getattr(request.state, "request_id", "")),
    }
    return {k: v for k, v in headers.items() if v}


def context_for_claims(request: HTTPConnection, claims: dict[str, Any] | None) -> RequestContext:
    rid = str(getattr(request.state, "request_id", ""))
    if claims is None or claims.get("role") == ANON_ROLE:
        return RequestContext(ANON_ROLE, claims or {"role": ANON_ROLE}, request_headers(request), rid, True)
    return RequestContext(str(claims["role"]), claims, request_headers(request), rid, False)


def request_context(request: Request) -> RequestContext:
    """The caller of this request; anonymous (qms_anon) without a token. Cached on request.state."""
    cached = getattr(request.state, "ctx", None)
    if isinstance(cached, RequestContext):
        return cached
    settings: Settings = request.app.state.settings
    token = bearer_token(request)
    ctx = context_for_claims(request, cached_decode(request.scope, settings, token) if token else None)
    request.state.ctx = ctx
    return ctx


def new_refresh_token(tenant_id: str) -> tuple[str, bytes]:
    """An opaque refresh token ``<tenant_id>.<random>`` and the sha256 that is stored."""
    token = f"{tenant_id}.{secrets.token_urlsafe(32)}"
    return token, refresh_hash(token)


def refresh_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def refresh_tenant(token: str) -> str:
    tenant, _, rest = token.partition(".")
    try:
        return str(uuid.UUID(tenant)) if rest else _bad_refresh()
    except ValueError:
        return _bad_refresh()


def _bad_refresh() -> str:
    raise ApiError(401, "INVALID_REFRESH_TOKEN", "the refresh token is not valid", hint="Log in again.")
