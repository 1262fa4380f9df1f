"""Password login, refresh-token rotation, logout, and device tokens."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from gateway import auth, client_ip
from gateway.config import Settings
from gateway.db import Database
from gateway.errors import ApiError
from gateway.routes.printing import qr_svg
from qms import tokens

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    tenant: str = Field(min_length=1, max_length=63, description="tenant slug")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class UserOut(BaseModel):
    user_id: str
    tenant_id: str
    role: str
    branch_ids: list[str] | None = None
    counter_ids: list[str] | None = None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserOut


class DeviceTokenOut(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    device_id: str
    branch_id: str
    area_id: str | None = None
    kind: str | None = None
    start_url: str = Field(description="the device's start URL with its token: /apps/<kind>/#token=<token>")
    qr_svg: str = Field(description="QR code (inline SVG) of the absolute start URL, for pairing the device")


def _deps(request: Request) -> tuple[Settings, Database]:
    return request.app.state.settings, request.app.state.db


def _client(request: Request) -> tuple[str, str | None]:
    """The client address the gateway trusts (gateway.client_ip) and the user agent."""
    settings: Settings = request.app.state.settings
    return client_ip.of_scope(request.scope, settings.trusted_proxies), request.headers.get("user-agent")


def _token_out(settings: Settings, claims: dict[str, Any], refresh: str) -> TokenOut:
    access, ttl = auth.issue_access(settings, claims)
    user = UserOut(
        user_id=claims["sub"],
        tenant_id=claims["tenant_id"],
        role=claims["role"],
        branch_ids=claims.get("branch_ids"),
        counter_ids=claims.get("counter_ids"),
    )
    return TokenOut(
        access_token=access,
        expires_in=ttl,
        refresh_token=refresh,
        refresh_expires_in=settings.refresh_ttl_seconds,
        user=user,
    )


BAD_LOGIN = ApiError(401, "INVALID_CREDENTIALS", "unknown tenant, e-mail or password", hint="Check and retry.")


def locked_out(seconds: int) -> ApiError:
    return ApiError(
        429,
        "LOGIN_LOCKED",
        "too many failed logins for this account or address; try again later",
        hint=f"Wait {seconds} s (Retry-After) and check the e-mail and password.",
        headers={"Retry-After": str(max(1, seconds))},
    )


@router.post(
    "/auth/login",
    response_model=TokenOut,
    responses={401: {"description": "INVALID_CREDENTIALS"}, 429: {"description": "LOGIN_LOCKED"}},
)
async def login(body: LoginIn, request: Request) -> TokenOut:
    """Password login, throttled per account and per client address (docs/http.md#login-throttle)."""
    settings, db = _deps(request)
    ip, agent = _client(request)

    async def lookup(conn: AsyncConnection[Any]) -> tuple[int, tuple[Any, ...] | None]:
        cur = await conn.execute("select qms.auth_login_locked(%s, %s, %s)", (body.tenant, body.email, ip))
        locked = await cur.fetchone()
        cur = await conn.execute("select * from qms.auth_lookup_user(%s, %s)", (body.tenant, body.email))
        return (locked[0] if locked else 0), await cur.fetchone()

    wait, row = await db.raw(lookup)
    if wait > 0:
        raise locked_out(wait)
    stored = row[5] if row else None
    ok = await asyncio.to_thread(auth.verify_password, stored, body.password)
    if row is None or not ok:

        async def failed(conn: AsyncConnection[Any]) -> int:
            cur = await conn.execute(
                "select qms.auth_login_failed(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    body.tenant,
                    body.email,
                    ip,
                    agent,
                    request.state.request_id,
                    settings.login_max_failures,
                    settings.login_max_failures_per_ip,
                    settings.login_window_seconds,
                    settings.login_lockout_seconds,
                    settings.login_lockout_max_seconds,
                ),
            )
            locked = await cur.fetchone()
            return int(locked[0]) if locked else 0

        lock = await db.raw(failed)
        raise locked_out(lock) if lock > 0 else BAD_LOGIN
    tenant_id, user_id, role, branch_ids, counter_ids, _hash, is_active, token_version = row
    if not is_active:
        raise ApiError(401, "USER_DISABLED", "the account is disabled", hint="Ask an administrator.")
    refresh, digest = auth.new_refresh_token(str(tenant_id))
    expires = datetime.now(UTC) + timedelta(seconds=settings.refresh_ttl_seconds)

    async def issue(conn: AsyncConnection[Any]) -> None:
        await conn.execute("select qms.auth_login_succeeded(%s, %s)", (tenant_id, body.email))
        await conn.execute(
            "select qms.auth_issue_refresh(%s, %s, %s, %s, %s, true, %s, %s)",
            (tenant_id, user_id, digest, uuid.uuid4(), expires, ip, agent),
        )

    await db.raw(issue)
    claims = auth.user_claims(tenant_id, user_id, role, branch_ids, counter_ids, token_version)
    return _token_out(settings, claims, refresh)


@router.post("/auth/refresh", response_model=TokenOut, responses={401: {"description": "INVALID_REFRESH_TOKEN"}})
async def refresh(body: RefreshIn, request: Request) -> TokenOut:
    settings, db = _deps(request)
    tenant_id = auth.refresh_tenant(body.refresh_token)
    new_token, new_digest = auth.new_refresh_token(tenant_id)
    expires = datetime.now(UTC) + timedelta(seconds=settings.refresh_ttl_seconds)

    async def rotate(conn: AsyncConnection[Any]) -> tuple[Any, ...] | None:
        cur = await conn.execute(
            "select * from qms.auth_rotate_refresh(%s, %s, %s, %s)",
            (tenant_id, auth.refresh_hash(body.refresh_token), new_digest, expires),
        )
        return await cur.fetchone()

    row = await db.raw(rotate)
    status = row[0] if row else "invalid"
    if status != "ok" or row is None:
        messages = {
            "expired": ("REFRESH_TOKEN_EXPIRED", "the refresh token has expired"),
            "reused": ("REFRESH_TOKEN_REUSED", "this refresh token was already used; the session is revoked"),
            "revoked": ("SESSION_ENDED", "the session has ended (logout, password change or disabled account)"),
            "disabled": ("USER_DISABLED", "the account is disabled"),
        }
        code, message = messages.get(status, ("INVALID_REFRESH_TOKEN", "the refresh token is not valid"))
        raise ApiError(401, code, message, hint="Log in again.")
    _status, user_id, role, branch_ids, counter_ids, token_version = row
    claims = auth.user_claims(tenant_id, user_id, role, branch_ids, counter_ids, token_version)
    return _token_out(settings, claims, new_token)


@router.post("/auth/logout", status_code=204, response_class=Response)
async def logout(body: RefreshIn, request: Request) -> Response:
    _settings, db = _deps(request)
    tenant_id = auth.refresh_tenant(body.refresh_token)

    async def revoke(conn: AsyncConnection[Any]) -> None:
        await conn.execute("select qms.auth_revoke_refresh(%s, %s)", (tenant_id, auth.refresh_hash(body.refresh_token)))

    await db.raw(revoke)
    return Response(status_code=204)


@router.post("/api/devices/{device_id}/token", response_model=DeviceTokenOut, tags=["admin"])
async def device_token(device_id: uuid.UUID, request: Request) -> DeviceTokenOut:
    """Issue a device (kiosk/display) token with its start URL and a QR code of it (pairing: open the URL on the
    device once). Admins only; revoke it with api.update_device."""
    settings, db = _deps(request)
    ctx = auth.request_context(request)
    _fn, text = await db.call(ctx, "auth_device_token_claims", {"device_id": str(device_id)})
    info = json.loads(text or "{}")
    claims = {"role": "qms_device", "tenant_id": str(info["tenant_id"]), **tokens.device_claims(info)}
    token, ttl = auth.issue_access(settings, claims, settings.device_ttl_seconds)
    start_url = f"/apps/{info.get('kind')}/#token={token}"
    return DeviceTokenOut(
        token=token,
        expires_in=ttl,
        device_id=info["device_id"],
        branch_id=info["branch_id"],
        area_id=info.get("area_id"),
        kind=info.get("kind"),
        start_url=start_url,
        qr_svg=qr_svg(str(request.base_url).rstrip("/") + start_url),
    )
