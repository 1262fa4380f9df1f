"""Database access for the command line: the owner connection, one helper that runs ``api`` functions
as ``qms_admin`` with a tenant's claims, and error messages a person can read.

Every admin command goes through :func:`tenant_session` + :func:`call_api`, i.e. exactly what the gateway
does for an admin token: ``set local role qms_admin`` and ``request.jwt.claims`` for the tenant, so row-level
security, role checks and the audit trail apply to the CLI as to everyone else.
"""

from __future__ import annotations

import functools
import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import psycopg
import typer
from psycopg import sql
from psycopg.types.json import Jsonb

from qms import tokens
from qms.config import Settings
from qms.pg import Cluster, PgError


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


# -- commands ------------------------------------------------------------------------------------
P = ParamSpec("P")
R = TypeVar("R")

Tenant = Annotated[str, typer.Option("--tenant", envvar="QMS_TENANT", help="Tenant slug.")]
BranchOpt = Annotated[str | None, typer.Option("--branch", help="Only this branch (id).")]


def fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def reports_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Database and input errors become one line on stderr and exit code 1 (the transaction rolls back)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except psycopg.Error as exc:
            fail(f"error: {describe_error(exc)}")
        except (CliError, tokens.TokenError, PgError) as exc:
            fail(f"error: {exc}")
        raise AssertionError("unreachable")

    return wrapper


def echo(value: object) -> None:
    typer.echo(to_json(value))


def api_command(slug: str, fn: str, args: list[Arg]) -> None:
    with tenant_session(slug) as s:
        echo(call_api(s.conn, fn, args))


tenant_app = typer.Typer(help="Tenants (provisioning, as the database owner).", no_args_is_help=True)
branch_app = typer.Typer(help="Branches.", no_args_is_help=True)
area_app = typer.Typer(help="Areas of a branch (display zones).", no_args_is_help=True)
service_app = typer.Typer(help="Services (queues) of a branch.", no_args_is_help=True)
counter_app = typer.Typer(help="Counters and the services they call.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
device_app = typer.Typer(help="Kiosks and displays.", no_args_is_help=True)
policy_app = typer.Typer(help="Queue policies per branch or service.", no_args_is_help=True)
token_app = typer.Typer(help="JWTs for scripts and tests.", no_args_is_help=True)

SUB_APPS = {
    "tenant": tenant_app,
    "branch": branch_app,
    "area": area_app,
    "service": service_app,
    "counter": counter_app,
    "user": user_app,
    "device": device_app,
    "policy": policy_app,
    "token": token_app,
}


@tenant_app.command("create")
@reports_errors
def tenant_create(name: str, slug: str) -> None:
    """Create a tenant (qms.create_tenant) and print it."""
    with owner_connection() as conn:
        tenant_id = call_api(conn, "create_tenant", [("name", name, "text"), ("slug", slug, "text")], schema="qms")
    echo({"tenant_id": tenant_id, "name": name.strip(), "slug": slug})


@tenant_app.command("list")
@reports_errors
def tenant_list() -> None:
    """Every tenant (owner view)."""
    with owner_connection() as conn:
        row = conn.execute(
            "select coalesce(jsonb_agg(jsonb_build_object('tenant_id', tenant_id, 'name', name, 'slug', slug,"
            " 'is_active', is_active, 'created_at', created_at) order by created_at), '[]') from qms.tenants"
        ).fetchone()
    echo(row[0] if row else [])


@branch_app.command("create")
@reports_errors
def branch_create(
    tenant: Tenant,
    name: str,
    timezone: Annotated[str, typer.Option(help="IANA time zone, e.g. Asia/Jakarta.")] = "UTC",
    code: Annotated[str | None, typer.Option(help="Short code, e.g. JKT01.")] = None,
) -> None:
    """Create a branch (api.create_branch)."""
    api_command(
        tenant, "create_branch", [("name", name, "text"), ("timezone", timezone, "text"), ("code", code, "text")]
    )


@branch_app.command("list")
@reports_errors
def branch_list(tenant: Tenant) -> None:
    with tenant_session(tenant) as s:
        echo(list_objects(s, ("list_branches",), "branches", "o.*", {}))


@area_app.command("create")
@reports_errors
def area_create(tenant: Tenant, branch_id: str, name: str) -> None:
    """Create an area of a branch (api.create_area)."""
    api_command(tenant, "create_area", [("branch_id", branch_id, "uuid"), ("name", name, "text")])


@area_app.command("list")
@reports_errors
def area_list(tenant: Tenant, branch: BranchOpt = None) -> None:
    with tenant_session(tenant) as s:
        echo(list_objects(s, ("list_areas",), "areas", "o.*", {"branch_id": branch}))


@service_app.command("create")
@reports_errors
def service_create(
    tenant: Tenant,
    branch_id: str,
    name: str,
    prefix: str,
    sla_minutes: Annotated[int | None, typer.Option(help="Target wait in minutes (15).")] = None,
    code: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a service (api.create_service); PREFIX is the ticket number's letter(s)."""
    args: list[Arg] = [("branch_id", branch_id, "uuid"), ("name", name, "text"), ("prefix", prefix, "text")]
    args += [("sla_minutes", sla_minutes, "integer"), ("code", code, "text")]
    api_command(tenant, "create_service", args)


@service_app.command("list")
@reports_errors
def service_list(tenant: Tenant, branch: BranchOpt = None) -> None:
    with tenant_session(tenant) as s:
        echo(list_objects(s, ("list_services",), "services", "o.*", {"branch_id": branch}))


@counter_app.command("create")
@reports_errors
def counter_create(
    tenant: Tenant,
    branch_id: str,
    name: str,
    service: Annotated[list[str], typer.Option("--service", help="A service it calls (repeat).")],
    area: Annotated[str | None, typer.Option("--area")] = None,
) -> None:
    """Create a counter mapped to services (api.create_counter)."""
    args: list[Arg] = [("branch_id", branch_id, "uuid"), ("name", name, "text"), ("service_ids", service, "uuid[]")]
    api_command(tenant, "create_counter", [*args, ("area_id", area, "uuid")])


COUNTER_COLUMNS = (
    "o.*, array(select cs.service_id from qms.counter_services cs"
    " where cs.tenant_id = o.tenant_id and cs.counter_id = o.counter_id order by cs.service_id) as service_ids"
)


@counter_app.command("list")
@reports_errors
def counter_list(tenant: Tenant, branch: BranchOpt = None) -> None:
    with tenant_session(tenant) as s:
        echo(list_objects(s, ("list_counters",), "counters", COUNTER_COLUMNS, {"branch_id": branch}))


@counter_app.command("status")
@reports_errors
def counter_status(tenant: Tenant, counter_id: str, status: str) -> None:
    """Set a counter available, break or closed (api.set_counter_status)."""
    api_command(tenant, "set_counter_status", [("counter_id", counter_id, "uuid"), ("status", status, "text")])


# -- users ---------------------------------------------------------------------------------------
USER_COLUMNS = (
    "o.user_id, o.tenant_id, o.email, o.display_name, o.role, o.branch_ids, o.counter_ids, o.is_active, o.created_at"
)


def set_password(session: TenantSession, user_id: str, password: str) -> None:
    """Hash with argon2 here (never in SQL) and store it with qms.set_user_password_hash as the owner."""
    from argon2 import PasswordHasher

    if len(password) < 8:
        raise CliError("WEAK_PASSWORD: a password needs at least 8 characters")
    digest = PasswordHasher().hash(password)
    conn = session.conn
    # The user must be visible to the tenant's admin (RLS), so the owner step cannot reach another tenant.
    if conn.execute("select 1 from qms.users where user_id = %s::uuid", (user_id,)).fetchone() is None:
        raise CliError(f"USER_NOT_FOUND: no user {user_id} in this tenant")
    session.as_owner()
    conn.execute("select qms.set_user_password_hash(%s::uuid, %s::uuid, %s)", (session.tenant_id, user_id, digest))
    session.as_admin()


def user_id_of(session: TenantSession, email_or_id: str) -> str:
    row = session.conn.execute(
        "select user_id::text from qms.users where lower(email) = lower(%s) or user_id::text = %s",
        (email_or_id, email_or_id),
    ).fetchone()
    if row is None:
        raise CliError(f"USER_NOT_FOUND: no user {email_or_id!r} in this tenant")
    return str(row[0])


@user_app.command("create")
@reports_errors
def user_create(
    tenant: Tenant,
    email: str,
    display_name: str,
    role: Annotated[str, typer.Argument(help="agent, supervisor, admin or analyst.")],
    branch: Annotated[list[str] | None, typer.Option("--branch", help="A branch the user works in (repeat).")] = None,
    password: Annotated[str | None, typer.Option(help="Set a password too (else use set-password).")] = None,
) -> None:
    """Create a staff account (api.create_user); the password is hashed here, never sent to SQL in clear."""
    args: list[Arg] = [("email", email, "text"), ("display_name", display_name, "text"), ("role", role, "text")]
    with tenant_session(tenant) as s:
        user = call_api(s.conn, "create_user", [*args, ("branch_ids", branch or None, "uuid[]")])
        if password is not None:
            set_password(s, str(user["user_id"]), password)
    echo(user)


@user_app.command("list")
@reports_errors
def user_list(tenant: Tenant) -> None:
    with tenant_session(tenant) as s:
        echo(list_objects(s, ("list_users",), "users", USER_COLUMNS, {}))


@user_app.command("set-password")
@reports_errors
def user_set_password(
    tenant: Tenant,
    user: Annotated[str, typer.Argument(help="E-mail or user id.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a user's password (argon2 hash)."""
    with tenant_session(tenant) as s:
        user_id = user_id_of(s, user)
        set_password(s, user_id, password)
    echo({"user_id": user_id, "password_set": True})


# -- devices -------------------------------------------------------------------------------------
@device_app.command("create")
@reports_errors
def device_create(
    tenant: Tenant,
    branch_id: str,
    kind: Annotated[str, typer.Argument(help="kiosk or display.")],
    name: str,
    area: Annotated[str | None, typer.Option("--area")] = None,
) -> None:
    """Register a kiosk or display (api.create_device)."""
    args: list[Arg] = [("branch_id", branch_id, "uuid"), ("kind", kind, "text"), ("name", name, "text")]
    api_command(tenant, "create_device", [*args, ("area_id", area, "uuid")])


@device_app.command("list")
@reports_errors
def device_list(tenant: Tenant, branch: BranchOpt = None) -> None:
    with tenant_session(tenant) as s:
        echo(list_objects(s, ("list_devices",), "devices", "o.*", {"branch_id": branch}))


@device_app.command("revoke")
@reports_errors
def device_revoke(tenant: Tenant, device_id: str) -> None:
    """Revoke a device: its tokens stop working (api.revoke_device, else api.update_device status=revoked)."""
    with tenant_session(tenant) as s:
        if function_args(s.conn, "revoke_device") is not None:
            echo(call_api(s.conn, "revoke_device", [("device_id", device_id, "uuid")]))
        else:
            echo(call_api(s.conn, "update_device", [("device_id", device_id, "uuid"), ("status", "revoked", "text")]))


# -- policies ------------------------------------------------------------------------------------
@policy_app.command("set")
@reports_errors
def policy_set(
    tenant: Tenant,
    branch_id: str,
    policy: Annotated[str, typer.Argument(help="JSON object, e.g. '{\"called_grace_seconds\": 90}'.")],
    service: Annotated[str | None, typer.Option("--service", help="Override for one service.")] = None,
) -> None:
    """Set a branch policy, or a service override (api.set_policy)."""
    try:
        value = json.loads(policy)
    except json.JSONDecodeError as exc:
        raise CliError(f"INVALID_POLICY: not JSON: {exc}") from exc
    args: list[Arg] = [("branch_id", branch_id, "uuid"), ("service_id", service, "uuid"), ("policy", value, "jsonb")]
    api_command(tenant, "set_policy", args)


@policy_app.command("get")
@reports_errors
def policy_get(
    tenant: Tenant, branch_id: str, service: Annotated[str | None, typer.Option("--service")] = None
) -> None:
    """The stored policy and the effective one (defaults, branch, service)."""
    args: list[Arg] = [("branch_id", branch_id, "uuid"), ("service_id", service, "uuid")]
    with tenant_session(tenant) as s:
        if function_args(s.conn, "get_policy") is not None:
            echo(call_api(s.conn, "get_policy", args))
            return
        row = s.conn.execute(
            "select (select p.policy from qms.policies p where p.branch_id = %s::uuid"
            " and p.service_id is not distinct from %s::uuid),"
            " qms.effective_policy(%s::uuid, %s::uuid, %s::uuid)",
            (branch_id, service, s.tenant_id, branch_id, service),
        ).fetchone()
        assert row is not None
    echo({"branch_id": branch_id, "service_id": service, "policy": row[0] or {}, "effective": row[1]})


# -- tokens --------------------------------------------------------------------------------------
USER_ROLES = ("qms_agent", "qms_supervisor", "qms_admin", "qms_analyst")


def token_subject(session: TenantSession, role: str, sub: str | None) -> dict[str, Any]:
    """The claims that make a token valid at the gateway: a user's or device's id, its token_version
    (``tv``) and scope. Without ``sub`` the tenant's first active user of that role (or device) is used."""
    conn = session.conn
    if role in USER_ROLES:
        row = conn.execute(
            "select user_id::text, role, token_version, branch_ids::text[], counter_ids::text[] from qms.users"
            " where (%(sub)s::text is null and role = %(role)s and is_active)"
            " or user_id::text = %(sub)s or lower(email) = lower(%(sub)s) order by created_at limit 1",
            {"sub": sub, "role": role.removeprefix("qms_")},
        ).fetchone()
        if row is None:
            raise CliError(
                f"USER_NOT_FOUND: no {'user ' + repr(sub) if sub else 'active ' + role + ' user'} in this tenant"
            )
        if f"qms_{row[1]}" != role:
            raise CliError(f"ROLE_MISMATCH: user {sub} is qms_{row[1]}; the gateway refuses a {role} token for it")
        claims: dict[str, Any] = {"sub": row[0], "tv": row[2], "branch_ids": row[3]}
        if row[4]:
            claims["counter_ids"] = row[4]
        return claims
    if role == "qms_device":
        row = conn.execute(
            "select device_id::text, token_version, branch_id::text, area_id::text, kind::text from qms.devices"
            " where (%(sub)s::text is null and status = 'active') or device_id::text = %(sub)s"
            " order by created_at limit 1",
            {"sub": sub},
        ).fetchone()
        if row is None:
            raise CliError(f"DEVICE_NOT_FOUND: no {'device ' + repr(sub) if sub else 'active device'} in this tenant")
        claims = {"sub": row[0], "tv": row[1], "branch_ids": [row[2]], "kind": row[4]}
        if row[3]:
            claims["area_id"] = row[3]
        return claims
    return {"sub": sub or f"cli:{getpass.getuser()}"}


@token_app.command("issue")
@reports_errors
def token_issue(
    tenant: Tenant,
    role: Annotated[str, typer.Option(help="agent, supervisor, admin, analyst, device, worker (or qms_<role>).")],
    branch: Annotated[
        list[str] | None, typer.Option("--branch", help="Branch scope (repeat); default: the user's.")
    ] = None,
    sub: Annotated[str | None, typer.Option(help="User (id or e-mail) or device id; default: the first one.")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = tokens.DEFAULT_TTL_SECONDS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the claims too, as JSON.")] = False,
) -> None:
    """Print a JWT signed with the JWT secret (HS256) that the gateway accepts."""
    full_role = tokens.role_name(role)
    secret = tokens.jwt_secret()
    with tenant_session(tenant) as s:
        claims = token_subject(s, full_role, sub)
    subject = claims.pop("sub")
    branch_ids = branch or claims.pop("branch_ids", None)
    claims.pop("branch_ids", None)
    token = tokens.issue(
        secret,
        role=full_role,
        tenant_id=s.tenant_id,
        sub=subject,
        branch_ids=branch_ids,
        ttl_seconds=ttl,
        extra=claims,
    )
    if as_json:
        echo({"token": token, "claims": tokens.decode(secret, token)})
    else:
        typer.echo(token)
