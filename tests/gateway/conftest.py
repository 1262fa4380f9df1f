"""Fixtures of the gateway tests: a session-wide gateway process on a database cloned from the migrated
template (with test-only api functions), and a fresh tenant per test."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from qms.testing import TestDatabases
from tests.gateway.gwkit import TEST_FUNCTIONS, Gateway, Tenant, make_tenant, start_gateway, stop_gateway


@pytest.fixture(scope="session")
def gw_db(test_dbs: TestDatabases) -> Iterator[str]:
    """One database for the session-wide gateway; tests isolate themselves by creating their own tenants."""
    with test_dbs.database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(TEST_FUNCTIONS.encode())
        yield url


@pytest.fixture(scope="session")
def gateway(gw_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(gw_db, tmp_path_factory.mktemp("gw"))
    try:
        yield gw
    finally:
        stop_gateway(gw)


@pytest.fixture
def tenant(gateway: Gateway) -> Tenant:
    return make_tenant(gateway.db_url)
