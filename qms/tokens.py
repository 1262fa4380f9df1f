"""The JWT secret and tokens issued from the command line (HS256, the claims the gateway reads).

Claims: ``role`` (a database role, ``qms_<role>``), ``tenant_id``, ``sub``, ``branch_ids`` (absent for a
tenant-wide token), ``iat`` and ``exp``; a user's or device's token also carries its ``tv`` (token_version), a
device's its ``kind`` and ``area_id``. Only roles the gateway serves over HTTP get a token: never ``qms_worker``. The secret is ``QMS_JWT_SECRET``; with the embedded server and no
such variable, a random one is generated once and kept in ``<data-dir>/secret`` (mode 0600), never in the
repository.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

import jwt

from qms import roles
from qms.config import Settings

ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 3600
SECRET_FILE = "secret"  # noqa: S105 - a file name, not a secret
DEVICE_TTL_SECONDS = 365 * 24 * 3600
ROLES = tuple(r.removeprefix("qms_") for r in roles.SERVED_ROLES)  # the roles served over HTTP, short names
START_PAGES = {"kiosk": "/apps/kiosk/", "display": "/apps/display/"}


class TokenError(ValueError):
    """A token cannot be issued (unknown role, no secret)."""


def role_name(role: str) -> str:
    """``agent`` or ``qms_agent`` → ``qms_agent``; anything else is refused."""
    short = role.removeprefix("qms_")
    if f"qms_{short}" in roles.NOT_SERVED:
        reason = roles.NOT_SERVED[f"qms_{short}"]
        raise TokenError(f"no token for role qms_{short}: {short} tokens are not served over HTTP: {reason}")
    if short not in ROLES:
        raise TokenError(f"unknown role {role!r}: use one of {', '.join(ROLES)} (or qms_<role>)")
    return f"qms_{short}"


def jwt_secret(settings: Settings | None = None, create: bool = True) -> str:
    """QMS_JWT_SECRET, else (embedded mode) ``<data-dir>/secret``, generated on first use."""
    settings = settings or Settings.from_env()
    env = os.environ.get("QMS_JWT_SECRET")
    if env:
        return env
    path = settings.data_dir / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    if settings.database_url:
        raise TokenError("QMS_JWT_SECRET is not set: it is required when QMS_DATABASE_URL is used")
    if not create:
        raise TokenError(f"no JWT secret: set QMS_JWT_SECRET or run `qms up` to create {path}")
    return _create_secret(path)


def _create_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes racing on first start keep the same secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def issue(
    secret: str,
    *,
    role: str,
    tenant_id: str,
    sub: str,
    branch_ids: list[str] | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    extra: dict[str, Any] | None = None,
) -> str:
    """A signed token carrying the request claims the database reads."""
    if ttl_seconds <= 0:
        raise TokenError("the token lifetime must be positive")
    now = int(time.time())
    claims: dict[str, Any] = {
        "role": role_name(role),
        "tenant_id": tenant_id,
        "sub": sub,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if branch_ids:
        claims["branch_ids"] = list(branch_ids)
    claims.update(extra or {})
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode(secret: str, token: str) -> dict[str, Any]:
    """Verify signature and expiry; the claims."""
    claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM])
    return claims


def user_claims(user: dict[str, Any]) -> dict[str, Any]:
    """The subject claims of a user's token, from the api's user object (as the gateway's login issues them)."""
    claims: dict[str, Any] = {"sub": str(user["user_id"]), "tv": int(user["token_version"])}
    if user.get("branch_ids"):
        claims["branch_ids"] = [str(b) for b in user["branch_ids"]]
    if user.get("counter_ids"):
        claims["counter_ids"] = [str(c) for c in user["counter_ids"]]
    return claims


def device_claims(info: dict[str, Any]) -> dict[str, Any]:
    """The subject claims of a device token, from ``api.auth_device_token_claims`` (the admin-only, audited
    check that the device is active), as ``POST /api/devices/{device_id}/token`` signs them."""
    claims: dict[str, Any] = {
        "sub": str(info["device_id"]),
        "branch_ids": [str(info["branch_id"])],
        "tv": int(info["token_version"]),
        "kind": info["kind"],
    }
    if info.get("area_id"):
        claims["area_id"] = str(info["area_id"])
    return claims


def device_start_path(kind: str, token: str) -> str:
    """Where a device opens its app with its token (relative to the gateway): the kiosk or the display page;
    the token travels in the fragment, which browsers never send to a server."""
    return f"{START_PAGES[kind]}#token={token}"
