"""The JWT secret and tokens issued from the command line (HS256, the claims the gateway reads).

Claims: ``role`` (a database role, ``qms_<role>``), ``tenant_id``, ``sub``, ``branch_ids`` (absent for a
tenant-wide token), ``iat`` and ``exp``. The secret is ``QMS_JWT_SECRET``; with the embedded server and no
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

from qms.config import Settings

ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 3600
SECRET_FILE = "secret"  # noqa: S105 - a file name, not a secret
ROLES = ("anon", "device", "agent", "supervisor", "admin", "worker", "analyst")


class TokenError(ValueError):
    """A token cannot be issued (unknown role, no secret)."""


def role_name(role: str) -> str:
    """``agent`` or ``qms_agent`` → ``qms_agent``; anything else is refused."""
    short = role.removeprefix("qms_")
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
