"""Database access for the command line: where the database is, the owner connection, one helper that runs
``api`` functions as ``qms_admin`` with a tenant's claims, and error messages a person can read.

Every admin command goes through :func:`tenant_session` + :func:`call_api`, i.e. exactly what the gateway
does for an admin token: ``set local role qms_admin`` and ``request.jwt.claims`` for the tenant, so row-level
security, role checks and the audit trail apply to the CLI as to everyone else.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from qms.config import Settings
from qms.pg import Cluster


class CliError(RuntimeError):
    """A failure to report on one line (exit code 1)."""


def database_url(data_dir: str | Path | None = None, start: bool = False) -> str:
    """QMS_DATABASE_URL, else the embedded cluster's URL (started and its database created when ``start``)."""
    settings = Settings.from_env(data_dir)
    if settings.database_url:
        return settings.database_url
    cluster = Cluster(settings.data_dir)
    if start:
        cluster.start()
        ensure_database(cluster.url("postgres"), "qms")
    return cluster.url()


def ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def owner_url() -> str:
    """The database the admin commands work on; the embedded server must be running."""
    settings = Settings.from_env()
    if settings.database_url:
        return settings.database_url
    cluster = Cluster(settings.data_dir)
    if not cluster.running():
        raise CliError(
            f"the embedded PostgreSQL under {settings.data_dir} is not running: run `qms up` or `qms db start`"
        )
    return cluster.url()


def describe_error(exc: psycopg.Error) -> str:
    """One line: ``REASON_KEY (PT409): message. hint`` for our errors, ``SQLSTATE: message`` otherwise."""
    diag = exc.diag
    state = diag.sqlstate or ""
    message = (diag.message_primary or str(exc)).strip()
    hint = (diag.message_hint or "").strip()
    if state.startswith("PT") and diag.message_detail:
        text = f"{diag.message_detail.strip()} ({state}): {message}"
    else:
        text = f"{state or 'error'}: {message}"
    if hint:
        text += f". {hint}"
    return " ".join(text.split())


def to_json(value: object) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


@contextmanager
def owner_connection(url: str | None = None) -> Iterator[psycopg.Connection[Any]]:
    """One transaction on the owner connection, committed when the block succeeds."""
    with psycopg.connect(url or owner_url()) as conn:
        yield conn


def tenant_id_of(conn: psycopg.Connection[Any], slug: str) -> str:
    row = conn.execute("select tenant_id::text from qms.tenants where slug = %s", (slug,)).fetchone()
    if row is None:
        raise CliError(f"TENANT_NOT_FOUND: no tenant with slug {slug!r} (see `qms tenant list`)")
    return str(row[0])


@dataclass(frozen=True)
class TenantSession:
    conn: psycopg.Connection[Any]
    tenant_id: str
    claims: dict[str, Any]

    def as_owner(self) -> None:
        """Back to the owner role inside the same transaction (for provisioning functions)."""
        self.conn.execute("reset role")

    def as_admin(self) -> None:
        self.conn.execute("set local role qms_admin")


def admin_claims(tenant_id: str) -> dict[str, Any]:
    return {"role": "qms_admin", "tenant_id": tenant_id, "sub": f"cli:{getpass.getuser()}"}


def enter_tenant(conn: psycopg.Connection[Any], tenant_id: str) -> TenantSession:
    """Switch the current transaction to role qms_admin with a tenant-wide admin's claims."""
    claims = admin_claims(tenant_id)
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
    conn.execute("set local role qms_admin")
    return TenantSession(conn, tenant_id, claims)


@contextmanager
def tenant_session(slug: str, url: str | None = None) -> Iterator[TenantSession]:
    """A transaction as ``qms_admin`` of the tenant named by ``slug``; committed on success."""
    with owner_connection(url) as conn:
        yield enter_tenant(conn, tenant_id_of(conn, slug))


# -- calling api functions -----------------------------------------------------------------------
Arg = tuple[str, object, str]  # (parameter name, value, SQL type)


def function_args(conn: psycopg.Connection[Any], name: str, schema: str = "api") -> list[str] | None:
    """Parameter names of ``schema.name`` (first overload), or None when it does not exist."""
    row = conn.execute(
        "select coalesce(p.proargnames, '{}') from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = %s and p.proname = %s order by p.pronargs desc limit 1",
        (schema, name),
    ).fetchone()
    return None if row is None else [str(a) for a in row[0]]


def call_api(conn: psycopg.Connection[Any], fn: str, args: list[Arg], schema: str = "api") -> Any:
    """``select schema.fn(name => value::type, …)`` with named parameters; None values are left out so
    the function's defaults apply. A set-returning function gives a list."""
    present = [(n, v, t) for n, v, t in args if v is not None]
    params = sql.SQL(", ").join(
        sql.SQL("{} => {}::{}").format(sql.Identifier(n), sql.Placeholder(), sql.SQL(t)) for n, _, t in present
    )
    values = [Jsonb(v) if t == "jsonb" else v for _, v, t in present]
    query = sql.SQL("select to_jsonb(r) from {}.{}({}) as r").format(sql.Identifier(schema), sql.Identifier(fn), params)
    rows = [r[0] for r in conn.execute(query, values).fetchall()]
    retset = conn.execute(
        "select bool_or(p.proretset) from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = %s and p.proname = %s",
        (schema, fn),
    ).fetchone()
    if retset and retset[0]:
        return rows
    return rows[0] if rows else None


def list_objects(
    session: TenantSession, fn_candidates: tuple[str, ...], table: str, columns: str, filters: dict[str, str | None]
) -> Any:
    """A list through the first ``api`` list function that exists, else a read of the table as qms_admin
    (row-level security applies either way). Filters the function does not take are applied here."""
    conn = session.conn
    for fn in fn_candidates:
        names = function_args(conn, fn)
        if names is None:
            continue
        args: list[Arg] = [(k, v, "uuid") for k, v in filters.items() if k in names]
        result = call_api(conn, fn, args)
        items = result if isinstance(result, list) else (result or [])
        if isinstance(items, dict):  # {"items": [...]} style
            items = next((v for v in items.values() if isinstance(v, list)), [items])
        return [it for it in items if all(v is None or k in names or str(it.get(k)) == v for k, v in filters.items())]
    where = [sql.SQL("o.{} = {}").format(sql.Identifier(k), sql.Placeholder()) for k, v in filters.items() if v]
    query = sql.SQL(
        "select coalesce(jsonb_agg(to_jsonb(t) order by t.created_at), '[]') from (select {} from qms.{} o{}) t"
    ).format(
        sql.SQL(columns),
        sql.Identifier(table),
        sql.SQL(" where ") + sql.SQL(" and ").join(where) if where else sql.SQL(""),
    )
    row = conn.execute(query, [v for v in filters.values() if v]).fetchone()
    return row[0] if row else []
