"""What every admin command shares: the ``--tenant`` and ``--branch`` options, the owner connection, the
tenant's admin claims, one-line error reporting and JSON output.

Admin commands call ``api`` functions through :func:`qms.apicall.call_api` with the claims of a tenant-wide
admin (``qms_admin``, the tenant's id, ``sub = cli:<os user>``): exactly what the gateway does for an admin
token, so row-level security, role checks and the audit trail apply to the command line as to everyone else.
"""

from __future__ import annotations

import functools
import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

import psycopg
import typer

from qms import tokens
from qms.apicall import call_api, describe_error
from qms.config import Settings
from qms.passwords import PasswordError
from qms.pg import Cluster, PgError

P = ParamSpec("P")
R = TypeVar("R")

Tenant = Annotated[str, typer.Option("--tenant", envvar="QMS_TENANT", help="Tenant slug.")]
BranchOpt = Annotated[str | None, typer.Option("--branch", help="Only this branch (id).")]


class CliError(RuntimeError):
    """A failure to report on one line (exit code 1)."""


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
        except (CliError, PasswordError, tokens.TokenError, PgError) as exc:
            fail(f"error: {exc}")
        raise AssertionError("unreachable")

    return wrapper


def echo(value: object) -> None:
    typer.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


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


@contextmanager
def owner_connection() -> Iterator[psycopg.Connection[Any]]:
    """One transaction on the owner connection, committed when the block succeeds."""
    with psycopg.connect(owner_url()) as conn:
        yield conn


def admin_claims(tenant_id: str) -> dict[str, Any]:
    return {"role": "qms_admin", "tenant_id": tenant_id, "sub": f"cli:{getpass.getuser()}"}


@dataclass(frozen=True)
class TenantSession:
    """An owner transaction and the claims of the tenant's admin, for one command."""

    conn: psycopg.Connection[Any]
    tenant_id: str
    claims: dict[str, Any]

    def call(self, fn: str, **args: Any) -> Any:
        """``api.fn(…)`` as this tenant's admin."""
        return call_api(self.conn, fn, self.claims, **args)


@contextmanager
def tenant_session(slug: str) -> Iterator[TenantSession]:
    """A transaction for the tenant named by ``slug``; committed on success."""
    with owner_connection() as conn:
        row = conn.execute("select tenant_id::text from qms.tenants where slug = %s", (slug,)).fetchone()
        if row is None:
            raise CliError(f"TENANT_NOT_FOUND: no tenant with slug {slug!r} (see `qms tenant list`)")
        yield TenantSession(conn, str(row[0]), admin_claims(str(row[0])))


def api_command(slug: str, fn: str, **args: Any) -> None:
    """The body of a one-call command: ``api.fn(…)`` as the tenant's admin, its answer printed."""
    with tenant_session(slug) as s:
        echo(s.call(fn, **args))
