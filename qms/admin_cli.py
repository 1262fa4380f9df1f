"""The admin commands of ``qms`` (tenants, branches, areas, services, counters, users, devices, policies,
tokens), one typer group per object family, mounted by :mod:`qms.cli`.

The commands live in :mod:`qms.admin_org` and :mod:`qms.admin_access`; the database layer they share (owner
connection, ``qms_admin`` sessions with a tenant's claims, calls of ``api`` functions, readable errors) is
:mod:`qms.dbcall`. The names other modules use are re-exported here.
"""

from __future__ import annotations

import typer

from qms.admin_access import device_app, set_password, token_app, user_app
from qms.admin_org import area_app, branch_app, counter_app, policy_app, service_app, tenant_app
from qms.dbcall import (
    Arg,
    CliError,
    TenantSession,
    call_api,
    database_url,
    describe_error,
    ensure_database,
    enter_tenant,
    tenant_session,
)

__all__ = [
    "SUB_APPS",
    "Arg",
    "CliError",
    "TenantSession",
    "call_api",
    "database_url",
    "describe_error",
    "ensure_database",
    "enter_tenant",
    "set_password",
    "tenant_session",
]

SUB_APPS: dict[str, typer.Typer] = {
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
