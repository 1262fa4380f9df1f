"""The ``qms`` command: run the system, manage its database, administer tenants."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from qms import migrate as migrations
from qms.config import Settings
from qms.pg import Cluster, PgError

app = typer.Typer(help="Omnichannel queue management system.", no_args_is_help=True)
db_app = typer.Typer(help="The database: embedded server, migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Where the embedded cluster lives (./.qms).")]


def _cluster(data_dir: Path | None) -> Cluster:
    return Cluster(Settings.from_env(data_dir).data_dir)


def database_url(data_dir: Path | None = None, start: bool = False) -> str:
    """QMS_DATABASE_URL, else the embedded cluster's URL (started and created when ``start``)."""
    settings = Settings.from_env(data_dir)
    if settings.database_url:
        return settings.database_url
    cluster = Cluster(settings.data_dir)
    if start:
        cluster.start()
        ensure_database(cluster.url("postgres"), "qms")
    return cluster.url()


def ensure_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is None:
            conn.execute(f'create database "{name}"')  # name is ours, not user input


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@db_app.command("start")
def db_start(data_dir: DataDir = None) -> None:
    """Start the embedded PostgreSQL (created on first use) and print where it listens."""
    if Settings.from_env(data_dir).database_url:
        _fail("QMS_DATABASE_URL is set: the embedded server is not used")
    try:
        url = database_url(data_dir, start=True)
    except PgError as exc:
        _fail(str(exc))
    typer.echo(f"PostgreSQL listening: {url}")


@db_app.command("stop")
def db_stop(data_dir: DataDir = None) -> None:
    """Stop the embedded PostgreSQL."""
    try:
        _cluster(data_dir).stop()
    except PgError as exc:
        _fail(str(exc))
    typer.echo("PostgreSQL stopped")


@db_app.command("status")
def db_status(data_dir: DataDir = None) -> None:
    """Server state and the schema migrations applied."""
    settings = Settings.from_env(data_dir)
    info: dict[str, object] = {}
    if settings.database_url:
        info["server"] = {"url": settings.database_url, "embedded": False}
    else:
        info["server"] = _cluster(data_dir).status()
    try:
        info["migrations"] = migrations.status(database_url(data_dir))
    except (migrations.MigrationError, PgError) as exc:
        info["migrations"] = f"unavailable: {exc}"
    typer.echo(json.dumps(info, indent=2, default=str))


@db_app.command("migrate")
def db_migrate(data_dir: DataDir = None) -> None:
    """Apply pending schema migrations, then re-apply functions and policies (safe to repeat)."""
    try:
        result = migrations.migrate(database_url(data_dir, start=True))
    except (migrations.MigrationError, PgError) as exc:
        _fail(str(exc))
    typer.echo(f"schema at {result.applied} migration(s); re-applied {result.code_files} function/policy files")


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """Open psql on the database (extra arguments go to psql)."""
    settings = Settings.from_env(data_dir)
    url = database_url(data_dir, start=not settings.database_url)
    psql = "psql" if settings.database_url else _cluster(data_dir).psql_path()
    raise typer.Exit(subprocess.call([psql, url, *ctx.args], env=os.environ.copy()))
