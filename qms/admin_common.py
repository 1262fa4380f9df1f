"""What every admin command shares: the ``--tenant`` and ``--branch`` options, one-line error reporting,
JSON output, and the one-call command body (a tenant session that calls one ``api`` function)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import psycopg
import typer

from qms import tokens
from qms.dbcall import Arg, CliError, call_api, describe_error, tenant_session, to_json
from qms.pg import PgError

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
