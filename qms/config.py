"""Settings from the environment (see .env.example) and where the database is. Nothing secret has a default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from qms.pg import DEFAULT_DB, Cluster


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> Settings:
        return cls(
            database_url=os.environ.get("QMS_DATABASE_URL") or None,
            data_dir=Path(data_dir or os.environ.get("QMS_DATA_DIR") or "./.qms").absolute(),
        )


def database_url(data_dir: str | Path | None = None, start: bool = False) -> str:
    """QMS_DATABASE_URL, else the embedded cluster's URL (started and its database created when ``start``)."""
    settings = Settings.from_env(data_dir)
    if settings.database_url:
        return settings.database_url
    cluster = Cluster(settings.data_dir)
    if start:
        start_embedded(cluster)
    return cluster.url()


def start_embedded(cluster: Cluster) -> None:
    """Start the embedded cluster (created on first use) and create the project's database in it."""
    cluster.start()
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (DEFAULT_DB,)).fetchone() is None:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(DEFAULT_DB)))
