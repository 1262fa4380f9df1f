"""Suite-wide fixtures: one throwaway PostgreSQL per pytest worker, a migrated template database,
a fresh clone per test, and pgTAP files under sql/tests collected as pytest items."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from qms.pg import Cluster, find_bin_dir, free_port
from qms.testing import TapResult, TestDatabases, pgtap_available, run_pgtap_file

_DBS_KEY = pytest.StashKey[TestDatabases]()


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") else 0


def get_test_dbs(config: pytest.Config) -> TestDatabases:
    """The worker's cluster and template, started on first use and removed when the session ends."""
    if _DBS_KEY in config.stash:
        return config.stash[_DBS_KEY]
    base = Path(tempfile.mkdtemp(prefix="qms-test-pg-"))
    cluster = Cluster(base, bin_dir=find_bin_dir())
    # Several pytest processes may run at once (developers, CI): spread their ports.
    cluster.init(port=free_port(55000 + 50 * _worker_index() + random.randrange(0, 4000, 10)))

    def cleanup() -> None:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)

    config.add_cleanup(cleanup)
    cluster.start()
    dbs = TestDatabases(cluster, with_pgtap=pgtap_available(cluster))
    dbs.build_template()
    config.stash[_DBS_KEY] = dbs
    return dbs


@pytest.fixture(scope="session")
def test_dbs(pytestconfig: pytest.Config) -> TestDatabases:
    return get_test_dbs(pytestconfig)


@pytest.fixture(scope="session")
def pg_cluster(test_dbs: TestDatabases) -> Cluster:
    return test_dbs.cluster


@pytest.fixture
def db_url(test_dbs: TestDatabases) -> Iterator[str]:
    """A database of its own for one test, cloned from the migrated template."""
    with test_dbs.database() as url:
        yield url


# -- pgTAP files as pytest items -----------------------------------------------------------------
class PgTapFailure(Exception):
    def __init__(self, result: TapResult) -> None:
        super().__init__("pgTAP failures")
        self.result = result


class PgTapItem(pytest.Item):
    def runtest(self) -> None:
        dbs = get_test_dbs(self.config)
        if not dbs.with_pgtap:
            pytest.fail("pgTAP is not installed for this server: install postgresql-15-pgtap")
        with dbs.database() as url:
            result = run_pgtap_file(dbs.cluster, url, self.path)
        if not result.ok:
            raise PgTapFailure(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: object = None) -> str:
        if isinstance(excinfo.value, PgTapFailure):
            r = excinfo.value.result
            head = f"planned {r.planned}, passed {len(r.passed)}, failed {len(r.failed)}, psql exit {r.returncode}"
            body = "\n".join(r.failed) if r.failed else r.output[-4000:]
            return f"{head}\n{body}"
        return str(super().repr_failure(excinfo))  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"pgtap: {self.name}"


class PgTapFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield PgTapItem.from_parent(self, name=self.path.stem)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if (
        file_path.suffix == ".sql"
        and not file_path.name.startswith("_")
        and file_path.parent.name == "tests"
        and file_path.parent.parent.name == "sql"
    ):
        return PgTapFile.from_parent(parent, path=file_path)
    return None
