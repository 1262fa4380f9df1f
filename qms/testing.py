"""Test support shared by the pytest suite and the benchmarks: a throwaway cluster with a migrated
template database that is cloned per test, and a runner for pgTAP files."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from qms import migrate as migrations
from qms.pg import Cluster

TEMPLATE = "qms_template"
TEST_HELPERS = migrations.SQL_DIR / "tests" / "_helpers.sql"
PGTAP_CONTROL = "pgtap.control"


def pgtap_available(cluster: Cluster) -> bool:
    """Whether the server's extension directory holds pgTAP (Debian's postgresql-<v>-pgtap)."""
    assert cluster.bin_dir is not None
    sharedir = subprocess.run([str(cluster.bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True)
    if sharedir.returncode != 0:
        return False
    return (Path(sharedir.stdout.strip()) / "extension" / PGTAP_CONTROL).exists()


@dataclass
class TestDatabases:
    """A running cluster with a migrated template; ``clone()`` gives each test its own database."""

    cluster: Cluster
    with_pgtap: bool = True
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def admin_url(self) -> str:
        return self.cluster.url("postgres")

    def build_template(self) -> None:
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f"drop database if exists {TEMPLATE}")
            conn.execute(f"create database {TEMPLATE}")
        url = self.cluster.url(TEMPLATE)
        migrations.migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create schema if not exists tests")
            if self.with_pgtap:
                conn.execute("create extension if not exists pgtap schema tests")
            conn.execute(TEST_HELPERS.read_text().encode())

    def clone(self) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f"create database {name} template {TEMPLATE}")
        return self.cluster.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")

    @contextmanager
    def database(self) -> Iterator[str]:
        url = self.clone()
        try:
            yield url
        finally:
            self.drop(url)


@dataclass(frozen=True)
class TapResult:
    planned: int | None
    passed: list[str]
    failed: list[str]
    output: str
    returncode: int

    @property
    def ok(self) -> bool:
        ran = len(self.passed) + len(self.failed)
        return self.returncode == 0 and not self.failed and self.planned is not None and self.planned == ran and ran > 0


_TAP_LINE = re.compile(r"^(not ok|ok) (\d+)(.*)$")


def run_pgtap_file(cluster: Cluster, url: str, path: Path) -> TapResult:
    """Run one pgTAP script with psql and parse its TAP output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    proc = subprocess.run(
        [cluster.psql_path(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    planned: int | None = None
    passed: list[str] = []
    failed: list[str] = []
    lines = proc.stdout.splitlines()
    for i, line in enumerate(lines):
        line = line.strip()
        if m := re.match(r"^1\.\.(\d+)$", line):
            planned = int(m.group(1))
        elif m := _TAP_LINE.match(line):
            if m.group(1) == "ok":
                passed.append(line)
            else:
                diag = [ln for ln in lines[i + 1 : i + 12] if ln.startswith("#")]
                failed.append("\n".join([line, *diag]))
    return TapResult(planned, passed, failed, proc.stdout + proc.stderr, proc.returncode)
