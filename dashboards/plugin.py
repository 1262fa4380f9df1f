"""The Datasette plugin of the analytics dashboards (docs/adr/0015-datasette-snapshots.md).

* ``actor_from_request``: the gateway's access token, from ``Authorization: Bearer`` or the ``qms_token``
  cookie, verified by the gateway's own code (:func:`gateway.auth.decode`) and then checked for revocation by
  the gateway's own rule, ``qms.auth_token_valid`` (user, device or tenant disabled, token version changed),
  on a small pool to the database as ``qms_authenticator``, on every request; the actor is
  ``{"id": sub, "tenant_id", "role", "branch_ids"}``. A revoked token, or a database that cannot be asked,
  gives no actor.
* ``permission_allowed``: a tenant's database is the SQLite file named by its tenant id. Only tenant-wide
  analysts and admins of that tenant may see it (a per-tenant file holds every branch, so branch-scoped
  supervisors read ``api.kpi`` instead); arbitrary SQL (``execute-sql``) only for the roles listed in the
  plugin's ``sql_roles`` (metadata.yml). Everything else is refused, including Datasette's own
  ``_memory``/``_internal`` databases and debug pages.
* ``startup``: attach every ``<tenant_id>.db`` of the snapshot directory and keep looking for new tenants.
* ``canned_queries``: the queries of the plugin's ``queries`` (metadata.yml), for every tenant database.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from datasette import hookimpl as datasette_hookimpl
from psycopg_pool import AsyncConnectionPool

from gateway import auth
from gateway.config import Settings
from gateway.db import token_check_params
from gateway.errors import ApiError
from workers.analytics_snapshot import snapshot_dir

if TYPE_CHECKING:
    from datasette.app import Datasette

F = TypeVar("F", bound=Callable[..., Any])
hookimpl: Callable[[F], F] = datasette_hookimpl  # datasette's marker is untyped

PLUGIN = "qms-analytics"
COOKIE = "qms_token"
TENANT_WIDE_ROLES = frozenset({"qms_analyst", "qms_admin"})
TENANT_DB = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DISCOVERY_INTERVAL = 2.0
DATABASE_ACTIONS = frozenset({"view-database", "view-database-download", "view-table", "view-query", "execute-sql"})

_settings: Settings | None = None
_pool: AsyncConnectionPool | None = None


def settings() -> Settings:
    global _settings  # one Settings per process, read from the environment once
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def _config(datasette: Datasette) -> dict[str, Any]:
    config: dict[str, Any] = datasette.plugin_config(PLUGIN) or {}
    return config


def _token(request: Any) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return str(value.strip())
    cookie = request.cookies.get(COOKIE)
    return str(cookie) if cookie else None


async def token_valid(claims: dict[str, Any]) -> bool:
    """The gateway's revocation rule for these (verified) claims, asked of the database."""
    global _pool  # one small pool per Datasette process, opened on the first request
    if _pool is None:
        _pool = AsyncConnectionPool(
            settings().authenticator_url, min_size=1, max_size=4, open=False,
            kwargs={"application_name": "qms-datasette", "autocommit": True}, timeout=10,
        )  # fmt: skip
        await _pool.open()
    async with _pool.connection() as conn:
        cur = await conn.execute(
            "select qms.auth_token_valid(%s::uuid, %s, %s, %s::int)", token_check_params(claims, str(claims["role"]))
        )
        row = await cur.fetchone()
    return bool(row and row[0])


@hookimpl
def actor_from_request(datasette: Datasette, request: Any) -> Any:
    token = _token(request)
    if token is None:
        return None
    try:
        claims = auth.decode(settings(), token)
    except ApiError:
        return None

    async def inner() -> dict[str, Any] | None:
        try:
            if not await token_valid(claims):
                return None
        except psycopg.Error:
            return None
        return {
            "id": str(claims.get("sub", "")),
            "tenant_id": str(claims.get("tenant_id", "")),
            "role": str(claims["role"]),
            "branch_ids": claims.get("branch_ids"),
        }

    return inner


def _database_of(resource: Any) -> str | None:
    if isinstance(resource, str):
        return resource
    if isinstance(resource, tuple) and resource:
        return str(resource[0])
    return None


def may_read(actor: dict[str, Any] | None, database: str | None) -> bool:
    """Whether the actor is a tenant-wide analyst or admin of the tenant whose database this is."""
    return (
        actor is not None
        and database is not None
        and TENANT_DB.match(database) is not None
        and actor.get("tenant_id") == database
        and actor.get("role") in TENANT_WIDE_ROLES
        and actor.get("branch_ids") is None
    )


@hookimpl
def permission_allowed(datasette: Datasette, actor: dict[str, Any] | None, action: str, resource: Any) -> bool:
    if action == "view-instance":
        return actor is not None and actor.get("role") in TENANT_WIDE_ROLES
    if action in DATABASE_ACTIONS:
        database = _database_of(resource)
        if not may_read(actor, database):
            return False
        if action == "execute-sql":
            assert actor is not None
            return actor.get("role") in set(_config(datasette).get("sql_roles", []))
        return True
    return False


def attach_new(datasette: Datasette, directory: Path) -> list[str]:
    """Attach the tenant files not attached yet; their names."""
    from datasette.database import Database  # datasette.app imports the plugins: import it late

    added = []
    for path in sorted(directory.glob("*.db")):
        name = path.stem
        if TENANT_DB.match(name) and name not in datasette.databases:
            datasette.add_database(Database(datasette, path=str(path), is_mutable=True), name=name)
            added.append(name)
    return added


@hookimpl
def startup(datasette: Datasette) -> Any:
    directory = snapshot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    attach_new(datasette, directory)

    async def discover() -> None:
        while True:
            await asyncio.sleep(DISCOVERY_INTERVAL)
            attach_new(datasette, directory)

    async def inner() -> None:
        datasette._qms_discovery = asyncio.get_running_loop().create_task(discover())

    return inner


@hookimpl
def canned_queries(datasette: Datasette, database: str, actor: dict[str, Any] | None) -> dict[str, Any]:
    if TENANT_DB.match(database) is None:
        return {}
    queries: dict[str, Any] = _config(datasette).get("queries", {})
    return queries
