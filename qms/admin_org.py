"""Admin commands for the shape of a tenant: tenants, branches, areas, services, counters and queue policies."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from qms.admin_common import BranchOpt, Tenant, api_command, echo, reports_errors
from qms.dbcall import Arg, CliError, call_api, function_args, list_objects, owner_connection, tenant_session

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
