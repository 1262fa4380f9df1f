"""Admin commands for the shape of a tenant: tenants, branches, areas, services, counters and queue policies."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from psycopg.types.json import Jsonb

from qms.cli.common import BranchOpt, CliError, Tenant, api_command, echo, owner_connection, reports_errors

tenant_app = typer.Typer(help="Tenants (provisioning, as the database owner).", no_args_is_help=True)
branch_app = typer.Typer(help="Branches.", no_args_is_help=True)
area_app = typer.Typer(help="Areas of a branch (display zones).", no_args_is_help=True)
service_app = typer.Typer(help="Services (queues) of a branch.", no_args_is_help=True)
counter_app = typer.Typer(help="Counters and the services they call.", no_args_is_help=True)
policy_app = typer.Typer(help="Queue policies per branch or service.", no_args_is_help=True)


@tenant_app.command("create")
@reports_errors
def tenant_create(name: str, slug: str) -> None:
    """Create a tenant (qms.create_tenant) and print it."""
    with owner_connection() as conn:
        row = conn.execute("select qms.create_tenant(name => %s, slug => %s)", (name, slug)).fetchone()
    assert row is not None
    echo({"tenant_id": row[0], "name": name.strip(), "slug": slug})


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
    api_command(tenant, "create_branch", name=name, timezone=timezone, code=code)


@branch_app.command("list")
@reports_errors
def branch_list(tenant: Tenant) -> None:
    """The tenant's branches (api.list_branches)."""
    api_command(tenant, "list_branches")


@area_app.command("create")
@reports_errors
def area_create(tenant: Tenant, branch_id: str, name: str) -> None:
    """Create an area of a branch (api.create_area)."""
    api_command(tenant, "create_area", branch_id=branch_id, name=name)


@area_app.command("list")
@reports_errors
def area_list(tenant: Tenant, branch: BranchOpt = None) -> None:
    """Areas, of one branch or all (api.list_areas)."""
    api_command(tenant, "list_areas", branch_id=branch)


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
    api_command(
        tenant, "create_service", branch_id=branch_id, name=name, prefix=prefix, sla_minutes=sla_minutes, code=code
    )


@service_app.command("list")
@reports_errors
def service_list(tenant: Tenant, branch: BranchOpt = None) -> None:
    """Services, of one branch or all (api.list_services)."""
    api_command(tenant, "list_services", branch_id=branch)


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
    api_command(tenant, "create_counter", branch_id=branch_id, name=name, service_ids=service, area_id=area)


@counter_app.command("list")
@reports_errors
def counter_list(tenant: Tenant, branch: BranchOpt = None) -> None:
    """Counters with the services they call, of one branch or all (api.list_counters)."""
    api_command(tenant, "list_counters", branch_id=branch)


@counter_app.command("status")
@reports_errors
def counter_status(tenant: Tenant, counter_id: str, status: str) -> None:
    """Set a counter available, break or closed (api.set_counter_status)."""
    api_command(tenant, "set_counter_status", counter_id=counter_id, status=status)


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
    api_command(tenant, "set_policy", branch_id=branch_id, service_id=service, policy=Jsonb(value))


@policy_app.command("get")
@reports_errors
def policy_get(
    tenant: Tenant, branch_id: str, service: Annotated[str | None, typer.Option("--service")] = None
) -> None:
    """The effective policy of a branch or one of its services: defaults, branch, service (api.get_policy)."""
    api_command(tenant, "get_policy", branch_id=branch_id, service_id=service)
