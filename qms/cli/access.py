"""Admin commands for who may use the system: staff accounts (and their passwords) and devices (kiosks,
displays) with their tokens."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from qms import tokens
from qms.cli.common import BranchOpt, CliError, Tenant, TenantSession, api_command, echo, reports_errors, tenant_session
from qms.passwords import set_password

user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
device_app = typer.Typer(help="Kiosks and displays.", no_args_is_help=True)


def find_user(session: TenantSession, email_or_id: str) -> dict[str, Any]:
    """A user of the tenant by e-mail (any case) or id (api.list_users)."""
    for user in session.call("list_users"):
        if str(user["user_id"]) == email_or_id or str(user["email"]).lower() == email_or_id.lower():
            return dict(user)
    raise CliError(f"USER_NOT_FOUND: no user {email_or_id!r} in this tenant")


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
    with tenant_session(tenant) as s:
        user = s.call("create_user", email=email, display_name=display_name, role=role, branch_ids=branch or None)
        if password is not None:
            set_password(s.conn, s.tenant_id, str(user["user_id"]), password)
    echo(user)


@user_app.command("list")
@reports_errors
def user_list(tenant: Tenant) -> None:
    """The tenant's staff accounts (api.list_users; never a password hash)."""
    api_command(tenant, "list_users")


@user_app.command("set-password")
@reports_errors
def user_set_password(
    tenant: Tenant,
    user: Annotated[str, typer.Argument(help="E-mail or user id.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a user's password (argon2 hash); the user's sessions end."""
    with tenant_session(tenant) as s:
        user_id = str(find_user(s, user)["user_id"])
        set_password(s.conn, s.tenant_id, user_id, password)
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
    api_command(tenant, "create_device", branch_id=branch_id, kind=kind, name=name, area_id=area)


@device_app.command("list")
@reports_errors
def device_list(tenant: Tenant, branch: BranchOpt = None) -> None:
    """Devices with their status and last heartbeat, of one branch or all (api.list_devices)."""
    api_command(tenant, "list_devices", branch_id=branch)


@device_app.command("revoke")
@reports_errors
def device_revoke(tenant: Tenant, device_id: str) -> None:
    """Revoke a device: its tokens stop working at once (api.update_device with status revoked)."""
    api_command(tenant, "update_device", device_id=device_id, status="revoked")


def device_token_claims(session: TenantSession, device_id: str) -> dict[str, Any]:
    """The claims of a device token: api.auth_device_token_claims (admin only, audited, the device must be
    active), shaped as the gateway's ``POST /api/devices/{device_id}/token`` signs them."""
    return tokens.device_claims(session.call("auth_device_token_claims", device_id=device_id))


@device_app.command("token")
@reports_errors
def device_token(
    tenant: Tenant,
    device_id: str,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = tokens.DEVICE_TTL_SECONDS,
    base_url: Annotated[str, typer.Option(help="The gateway's address, e.g. http://127.0.0.1:8000.")] = "",
) -> None:
    """Print a device token and the page to open on the device (kiosk or display) with it."""
    secret = tokens.jwt_secret()
    with tenant_session(tenant) as s:
        claims = device_token_claims(s, device_id)
    sub, branch_ids = claims.pop("sub"), claims.pop("branch_ids")
    token = tokens.issue(
        secret, role="device", tenant_id=s.tenant_id, sub=sub, branch_ids=branch_ids, ttl_seconds=ttl, extra=claims
    )
    url = base_url.rstrip("/") + tokens.device_start_path(claims["kind"], token)
    echo({"device_id": sub, "kind": claims["kind"], "token": token, "expires_in": ttl, "url": url})
