"""``qms token issue``: a JWT for scripts and tests, with the claims the gateway checks (a user's or device's
token_version and scope). Only roles served over HTTP: a worker token is refused with the reason."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from qms import tokens
from qms.cli.access import device_token_claims, find_user
from qms.cli.common import CliError, Tenant, TenantSession, echo, reports_errors, tenant_session

token_app = typer.Typer(help="JWTs for scripts and tests.", no_args_is_help=True)

USER_ROLES = ("qms_agent", "qms_supervisor", "qms_admin", "qms_analyst")


def earliest(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first created of ``items`` (api objects with ``created_at``), None when there is none."""
    return min(items, key=lambda it: str(it["created_at"]), default=None)


def user_token_claims(session: TenantSession, role: str, sub: str | None) -> dict[str, Any]:
    """A user's claims: the user named by ``sub`` (id or e-mail), else the tenant's first active user of
    ``role``; a user of another role is refused (the gateway would refuse the token)."""
    short = role.removeprefix("qms_")
    user: dict[str, Any] | None
    if sub:
        user = find_user(session, sub)
    else:
        user = earliest([u for u in session.call("list_users") if u["is_active"] and u["role"] == short])
    if user is None:
        raise CliError(f"USER_NOT_FOUND: no active {role} user in this tenant")
    if user["role"] != short:
        raise CliError(f"ROLE_MISMATCH: user {sub} is qms_{user['role']}; the gateway refuses a {role} token for it")
    return tokens.user_claims(user)


def subject_claims(session: TenantSession, role: str, sub: str | None) -> dict[str, Any]:
    if role in USER_ROLES:
        return user_token_claims(session, role, sub)
    if role == "qms_device":
        if sub:
            return device_token_claims(session, sub)
        device = earliest([d for d in session.call("list_devices") if d["status"] == "active"])
        if device is None:
            raise CliError("DEVICE_NOT_FOUND: no active device in this tenant")
        return device_token_claims(session, str(device["device_id"]))
    return {"sub": sub or f"cli:{getpass.getuser()}"}


@token_app.command("issue")
@reports_errors
def token_issue(
    tenant: Tenant,
    role: Annotated[str, typer.Option(help="agent, supervisor, admin, analyst, device or anon (or qms_<role>).")],
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
        claims = subject_claims(s, full_role, sub)
    subject = claims.pop("sub")
    branch_ids = branch or claims.pop("branch_ids", None)
    claims.pop("branch_ids", None)
    token = tokens.issue(
        secret, role=full_role, tenant_id=s.tenant_id, sub=subject, branch_ids=branch_ids, ttl_seconds=ttl, extra=claims
    )
    if as_json:
        echo({"token": token, "claims": tokens.decode(secret, token)})
    else:
        typer.echo(token)
