"""A DBA reproduces an admin request by hand, as DESIGN.md §2 promises:
``set role qms_admin; select set_config('request.jwt.claims', '{...}', true); select api.create_branch(...)``.
The branch is created for the tenant of the claims, audited with the claimed actor, and invisible under
another tenant's claims."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest


def _provision(db_url: str, slug: str) -> uuid.UUID:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("select qms.create_tenant(%s, %s)", (slug.title(), slug)).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def _as_admin(conn: psycopg.Connection[Any], tenant_id: uuid.UUID, sub: str) -> None:
    """What the DBA types: the role, then the claims of the request (transaction-local)."""
    conn.execute("set role qms_admin")
    claims = {"role": "qms_admin", "tenant_id": str(tenant_id), "sub": sub}
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))


def test_dba_creates_a_branch_that_only_its_tenant_sees(db_url: str) -> None:
    tenant_a = _provision(db_url, "acme")
    tenant_b = _provision(db_url, "globex")

    with psycopg.connect(db_url) as conn:
        _as_admin(conn, tenant_a, "dba-alice")
        row = conn.execute(
            "select api.create_branch(name => %s, timezone => %s, code => %s)", ("Main Office", "Asia/Jakarta", "MAIN")
        ).fetchone()
    assert row is not None
    branch: dict[str, Any] = row[0]
    assert branch["name"] == "Main Office"
    assert branch["timezone"] == "Asia/Jakarta"
    assert branch["tenant_id"] == str(tenant_a)
    branch_id = branch["branch_id"]

    # The same tenant sees it again in a later request.
    with psycopg.connect(db_url) as conn:
        _as_admin(conn, tenant_a, "dba-alice")
        listed = conn.execute("select api.list_branches()").fetchone()
        audit = conn.execute(
            "select actor_sub, actor_role, after ->> 'branch_id' from audit.log where action = 'branch.create'"
        ).fetchall()
    assert listed is not None
    assert [b["branch_id"] for b in listed[0]] == [branch_id]
    assert audit == [("dba-alice", "qms_admin", branch_id)]

    # Under tenant B's claims the branch does not exist, through the api or the table.
    with psycopg.connect(db_url) as conn:
        _as_admin(conn, tenant_b, "dba-bob")
        listed_b = conn.execute("select api.list_branches()").fetchone()
        count_b = conn.execute("select count(*) from qms.branches where branch_id = %s", (branch_id,)).fetchone()
        assert listed_b is not None and listed_b[0] == []
        assert count_b is not None and count_b[0] == 0
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("select api.update_branch(%s, name => 'Stolen')", (branch_id,))
    assert refused.value.sqlstate == "PT404"
    assert refused.value.diag.message_detail == "BRANCH_NOT_FOUND"

    # As the owner again: the branch is intact and belongs to tenant A only.
    with psycopg.connect(db_url) as conn:
        owner = conn.execute("select tenant_id, name from qms.branches").fetchall()
    assert owner == [(tenant_a, "Main Office")]


def test_dba_without_set_role_is_refused(db_url: str) -> None:
    """Claims alone are not enough: the api checks the database role too (PT403 FORBIDDEN)."""
    tenant_a = _provision(db_url, "acme")
    with psycopg.connect(db_url) as conn:
        claims = {"role": "qms_admin", "tenant_id": str(tenant_a), "sub": "dba-alice"}
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("select api.create_branch('Main')")
    assert refused.value.sqlstate == "PT403"
    assert refused.value.diag.message_detail == "FORBIDDEN"
