"""Backup and restore: pg_dump / pg_restore in custom format.

The client binaries come from the embedded cluster's ``bin_dir`` (same major version as the server) or, for
``QMS_DATABASE_URL``, from ``QMS_PG_BIN``, the newest system PostgreSQL, or ``PATH``. Roles are cluster-wide
and not part of a database dump, so a restore first creates the ``qms_*`` roles when they are missing
(restoring into a fresh server then just works); grants come back with the dump.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg

from qms.pg import Cluster, PgError, find_bin_dir
from qms.roles import AUTHENTICATOR, ROLES


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed; the message carries their last lines."""


def client_binary(name: str, cluster: Cluster | None = None) -> str:
    if cluster is not None and cluster.bin_dir is not None and (cluster.bin_dir / name).exists():
        return str(cluster.bin_dir / name)
    try:
        candidate = find_bin_dir() / name
        if candidate.exists():
            return str(candidate)
    except PgError:
        pass
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client or set QMS_PG_BIN")
    return found


def _run(args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise BackupError(f"{Path(args[0]).name} failed ({proc.returncode}): {tail}")


def backup(url: str, file: Path, cluster: Cluster | None = None) -> Path:
    """Dump the whole database (schema, data, grants) to ``file`` in custom format."""
    file = file.absolute()
    file.parent.mkdir(parents=True, exist_ok=True)
    _run([client_binary("pg_dump", cluster), "--format=custom", "--file", str(file), "--dbname", url])
    return file


def ensure_roles(url: str) -> None:
    """The application roles the dump's grants refer to (created when missing, as in V0001)."""
    with psycopg.connect(url, autocommit=True) as conn:
        existing = {r[0] for r in conn.execute("select rolname from pg_roles").fetchall()}
        for role in ROLES:
            if role not in existing:
                conn.execute(f"create role {role} nologin")  # names are constants (qms.roles)
        if AUTHENTICATOR not in existing:
            conn.execute(f"create role {AUTHENTICATOR} login noinherit")
        conn.execute(f"grant {', '.join(ROLES)} to {AUTHENTICATOR}")


def restore(url: str, file: Path, cluster: Cluster | None = None, clean: bool = True) -> None:
    """Restore ``file`` into the database of ``url`` (empty or existing) in one transaction.

    ``clean`` drops the dump's objects first (``--clean --if-exists``), so restoring over the same
    database replaces its contents; a failure leaves the database as it was.
    """
    if not file.exists():
        raise BackupError(f"no such backup file: {file}")
    ensure_roles(url)
    args = [client_binary("pg_restore", cluster), "--dbname", url, "--single-transaction", "--exit-on-error"]
    if clean:
        args += ["--clean", "--if-exists"]
    _run([*args, str(file.absolute())])
