"""The ``qms`` command: run the system, manage its database, administer tenants.

One typer group per object family: :mod:`qms.cli.db` (server, migrations, backups), :mod:`qms.cli.org`
(tenants, branches, areas, services, counters, policies), :mod:`qms.cli.access` (users, devices and their
tokens), :mod:`qms.cli.tokens` (tokens for scripts); what they share is :mod:`qms.cli.common`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from qms import up as runner
from qms.cli.access import device_app, user_app
from qms.cli.db import DataDir, db_app
from qms.cli.org import area_app, branch_app, counter_app, policy_app, service_app, tenant_app
from qms.cli.tokens import token_app

__all__ = ["app"]

app = typer.Typer(help="Omnichannel queue management system.", no_args_is_help=True)
for _name, _sub_app in {
    "db": db_app,
    "tenant": tenant_app,
    "branch": branch_app,
    "area": area_app,
    "service": service_app,
    "counter": counter_app,
    "user": user_app,
    "device": device_app,
    "policy": policy_app,
    "token": token_app,
}.items():
    app.add_typer(_sub_app, name=_name)


@app.command("up")
def up(
    port: Annotated[int, typer.Option(help="Gateway port.")] = 8000,
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Gateway address.")] = "127.0.0.1",
    demo: Annotated[bool, typer.Option(help="Seed the demo tenant on first run.")] = True,
) -> None:
    """Run everything on this machine: PostgreSQL, migrations, demo data, gateway, relay (Ctrl-C stops all)."""
    raise typer.Exit(runner.run(port=port, data_dir=data_dir, host=host, demo_data=demo))
