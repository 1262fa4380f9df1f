"""``qms db``: the embedded PostgreSQL server, migrations, psql, backups."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from qms import backup as backups
from qms import migrate as migrations
from qms.cli.common import fail
from qms.config import Settings, database_url
from qms.pg import Cluster, PgError

db_app = typer.Typer(help="The database: embedded server, migrations, backups.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Where the embedded cluster lives (./.qms).")]


def _cluster(data_dir: Path | None) -> Cluster:
    return Cluster(Settings.from_env(data_dir).data_dir)


@db_app.command("start")
def db_start(data_dir: DataDir = None) -> None:
    """Start the embedded PostgreSQL (created on first use) and print where it listens."""
    if Settings.from_env(data_dir).database_url:
        fail("QMS_DATABASE_URL is set: the embedded server is not used")
    try:
        url = database_url(data_dir, start=True)
    except PgError as exc:
        fail(str(exc))
    typer.echo(f"PostgreSQL listening: {url}")


@db_app.command("stop")
def db_stop(data_dir: DataDir = None) -> None:
    """Stop the embedded PostgreSQL."""
    try:
        _cluster(data_dir).stop()
    except PgError as exc:
        fail(str(exc))
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
        fail(str(exc))
    typer.echo(f"schema at {result.applied} migration(s); re-applied {result.code_files} function/policy files")


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """Open psql on the database (extra arguments go to psql)."""
    settings = Settings.from_env(data_dir)
    url = database_url(data_dir, start=not settings.database_url)
    psql = "psql" if settings.database_url else _cluster(data_dir).psql_path()
    raise typer.Exit(subprocess.call([psql, url, *ctx.args], env=os.environ.copy()))


@db_app.command("backup")
def db_backup(file: Path, data_dir: DataDir = None) -> None:
    """Dump the database (pg_dump custom format) to FILE."""
    settings = Settings.from_env(data_dir)
    cluster = None if settings.database_url else _cluster(data_dir)
    try:
        url = database_url(data_dir, start=cluster is not None)
        written = backups.backup(url, file, cluster)
    except (backups.BackupError, PgError) as exc:
        fail(f"error: {exc}")
    typer.echo(json.dumps({"backup": str(written), "bytes": written.stat().st_size}))


@db_app.command("restore")
def db_restore(
    file: Path,
    data_dir: DataDir = None,
    clean: Annotated[bool, typer.Option(help="Drop the dump's objects first (restore over existing data).")] = True,
) -> None:
    """Restore FILE into the database, replacing what the dump contains (one transaction)."""
    settings = Settings.from_env(data_dir)
    cluster = None if settings.database_url else _cluster(data_dir)
    try:
        url = database_url(data_dir, start=cluster is not None)
        backups.restore(url, file, cluster, clean=clean)
    except (backups.BackupError, PgError) as exc:
        fail(f"error: {exc}")
    typer.echo(json.dumps({"restored": str(file)}))
