"""Admin commands for who may use the system: staff accounts (and their passwords), devices, and tokens."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from qms import tokens
from qms.admin_common import BranchOpt, Tenant, api_command, echo, reports_errors
from qms.dbcall import Arg, CliError, TenantSession, call_api, function_args, list_objects, tenant_session

user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
device_app = typer.Typer(help="Kiosks and displays.", no_args_is_help=True)
token_app = typer.Typer(help="JWTs for scripts and tests.", no_args_is_help=True)


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
