"""Gateway settings, read once from the environment. Secrets have no default: without QMS_JWT_SECRET the
gateway refuses to start."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

AUTHENTICATOR_ROLE = "qms_authenticator"
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the message says which and how to fix it."""


def authenticator_url(database_url: str, user: str = AUTHENTICATOR_ROLE) -> str:
    """The same server and database, connecting as ``qms_authenticator`` (the password, if any, is dropped:
    give QMS_AUTHENTICATOR_URL when the authenticator has one)."""
    parts = urlsplit(database_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(name: str) -> tuple[IpNetwork, ...]:
    """A comma-separated list of addresses or CIDR blocks (e.g. ``10.0.0.0/8, ::1``)."""
    networks: list[IpNetwork] = []
    for item in os.environ.get(name, "").split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError as exc:
                raise ConfigError(f"{name}: {item.strip()!r} is not an IP address or CIDR block") from exc
    return tuple(networks)


@dataclass(frozen=True)
class Settings:
    authenticator_url: str
    jwt_secret: str
    cors_origins: list[str] = field(default_factory=list)
    rate_limit_per_ip: int = 1200
    rate_limit_per_tenant: int = 12000
    access_ttl_seconds: int = 900
    refresh_ttl_seconds: int = 30 * 24 * 3600
    device_ttl_seconds: int = 365 * 24 * 3600
    pool_min: int = 2
    pool_max: int = 20
    statement_timeout_ms: int = 15000
    serialization_retries: int = 5
    realtime_buffer: int = 1000
    realtime_recheck_seconds: int = 30
    static_dir: str = ""
    # uvicorn worker processes of this gateway (QMS_GATEWAY_WORKERS, set by `qms up` for its children):
    # the in-memory rate limits of each process are divided by it.
    workers: int = 1
    # Input limits (gateway.inputs): request body bytes (413 above) and JSON nesting depth (400 above).
    max_body_bytes: int = 256 * 1024
    max_json_depth: int = 32
    # Proxies whose X-Forwarded-For is believed (gateway.client_ip); none by default.
    trusted_proxies: tuple[IpNetwork, ...] = ()
    # Login throttle (gateway.routes.auth, qms.auth_login_*): failures per account and per client address
    # within the window before a lockout, whose length doubles with each lockout up to the maximum.
    login_max_failures: int = 5
    login_max_failures_per_ip: int = 20
    login_window_seconds: int = 900
    login_lockout_seconds: int = 60
    login_lockout_max_seconds: int = 3600

    @classmethod
    def from_env(cls) -> Settings:
        secret = os.environ.get("QMS_JWT_SECRET", "")
        if not secret:
            raise ConfigError(
                "QMS_JWT_SECRET is not set: the gateway signs and verifies tokens with it and has no default. "
                'Set it to a random string of at least 32 characters (e.g. `python -c "import secrets; '
                'print(secrets.token_urlsafe(48))"`).'
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(f"QMS_JWT_SECRET is too short: use at least {MIN_SECRET_LENGTH} characters.")
        auth_url = os.environ.get("QMS_AUTHENTICATOR_URL", "")
        if not auth_url:
            db_url = os.environ.get("QMS_DATABASE_URL", "")
            if not db_url:
                raise ConfigError(
                    "QMS_DATABASE_URL (or QMS_AUTHENTICATOR_URL) is not set: the gateway needs the database; "
                    "it connects as qms_authenticator to the server and database named there."
                )
            auth_url = authenticator_url(db_url)
        origins = [o.strip() for o in os.environ.get("QMS_CORS_ORIGINS", "").split(",") if o.strip()]
        return cls(
            authenticator_url=auth_url,
            jwt_secret=secret,
            cors_origins=origins,
            rate_limit_per_ip=_int("QMS_RATE_LIMIT_PER_IP", 1200),
            rate_limit_per_tenant=_int("QMS_RATE_LIMIT_PER_TENANT", 12000),
            access_ttl_seconds=_int("QMS_ACCESS_TTL_SECONDS", 900),
            refresh_ttl_seconds=_int("QMS_REFRESH_TTL_SECONDS", 30 * 24 * 3600),
            device_ttl_seconds=_int("QMS_DEVICE_TTL_SECONDS", 365 * 24 * 3600),
            pool_min=_int("QMS_POOL_MIN", 2),
            pool_max=_int("QMS_POOL_MAX", default_pool_max(max(1, _int("QMS_GATEWAY_WORKERS", 1)))),
            statement_timeout_ms=_int("QMS_STATEMENT_TIMEOUT_MS", 15000),
            serialization_retries=_int("QMS_SERIALIZATION_RETRIES", 5),
            realtime_buffer=_int("QMS_REALTIME_BUFFER", 1000),
            realtime_recheck_seconds=_int("QMS_REALTIME_RECHECK_SECONDS", 30),
            static_dir=os.environ.get("QMS_STATIC_DIR", ""),
            workers=max(1, _int("QMS_GATEWAY_WORKERS", 1)),
            max_body_bytes=max(1024, _int("QMS_MAX_BODY_BYTES", 256 * 1024)),
            max_json_depth=max(2, _int("QMS_MAX_JSON_DEPTH", 32)),
            trusted_proxies=_networks("QMS_TRUSTED_PROXIES"),
            login_max_failures=_int("QMS_LOGIN_MAX_FAILURES", 5),
            login_max_failures_per_ip=_int("QMS_LOGIN_MAX_FAILURES_PER_IP", 20),
            login_window_seconds=max(1, _int("QMS_LOGIN_WINDOW_SECONDS", 900)),
            login_lockout_seconds=max(1, _int("QMS_LOGIN_LOCKOUT_SECONDS", 60)),
            login_lockout_max_seconds=max(1, _int("QMS_LOGIN_LOCKOUT_MAX_SECONDS", 3600)),
        )


def default_pool_max(workers: int, cpus: int | None = None) -> int:
    """Connections per worker when QMS_POOL_MAX is unset: four per CPU core of this host over all workers,
    at least four and at most twenty per worker (a container may see many more cores than its database has).
    The engine's throughput peaks at a few concurrent transactions per core and falls beyond (each extra
    backend adds context switches and cache misses, and callers of one service queue on its number-counter
    row inside the database instead of in the pool): with 2 cores and 2 workers, 4 per worker halved
    create_ticket's p95 at 64 clients against 20 (docs/benchmarks.md)."""
    cores = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(4, min(20, (4 * cores) // max(1, workers)))
