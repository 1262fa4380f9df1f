"""qms.apicall.call_api, the one way Python outside the gateway calls the api: the claims' role and claims
apply to the call only (RLS, role checks and audit as over HTTP), named arguments, None left out so the
function's default applies, and an api error leaves the caller's transaction usable."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from qms.apicall import call_api, describe_error


def _tenant(conn: psycopg.Connection[Any], slug: str) -> dict[str, Any]:
    row = conn.execute("select qms.create_tenant(name => %s, slug => %s)", (slug.title(), slug)).fetchone()
    assert row is not None
    return {"role": "qms_admin", "tenant_id": str(row[0]), "sub": f"admin-{slug}"}


def test_role_and_claims_apply_to_the_call_only(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        acme, globex = _tenant(conn, "acme"), _tenant(conn, "globex")
        branch = call_api(conn, "create_branch", acme, name="Central", timezone="Asia/Jakarta", code=None)
        assert branch["tenant_id"] == acme["tenant_id"] and branch["code"] is None
        # inside the caller's transaction, and back to the owner with no claims afterwards
        after = conn.execute("select current_user, current_setting('request.jwt.claims', true)").fetchone()
        assert after is not None and after[0] != "qms_admin" and not after[1]
        assert [b["branch_id"] for b in call_api(conn, "list_branches", acme)] == [branch["branch_id"]]
        assert call_api(conn, "list_branches", globex) == []
        audit = conn.execute("select actor_sub, actor_role from audit.log where action = 'branch.create'").fetchall()
    assert audit == [("admin-acme", "qms_admin")]


def test_defaults_apply_when_an_argument_is_none(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        admin = _tenant(conn, "acme")
        branch = call_api(conn, "create_branch", admin, name="Central")
        service = call_api(conn, "create_service", admin, branch_id=branch["branch_id"], name="Teller", prefix="A",
                           sla_minutes=None)  # fmt: skip
        assert service["sla_minutes"] == 15


def test_an_api_error_keeps_the_callers_transaction(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        admin = _tenant(conn, "acme")
        with pytest.raises(psycopg.Error) as refused:
            call_api(conn, "create_branch", admin, name="Nowhere", timezone="Mars/Olympus")
        assert (refused.value.sqlstate, refused.value.diag.message_detail) == ("PT400", "INVALID_TIMEZONE")
        assert describe_error(refused.value).startswith("INVALID_TIMEZONE (PT400): ")
        call_api(conn, "create_branch", admin, name="Central")  # the transaction goes on
        with pytest.raises(psycopg.Error) as missing:
            call_api(conn, "create_area", admin, branch_id="00000000-0000-4000-8000-000000000000", name="Hall")
        assert (missing.value.sqlstate, missing.value.diag.message_detail) == ("PT404", "BRANCH_NOT_FOUND")
        after = conn.execute("select current_user, current_setting('request.jwt.claims', true)").fetchone()
        assert after is not None and after[0] != "qms_admin" and not after[1]
    with psycopg.connect(db_url) as conn:
        names = conn.execute("select name from qms.branches").fetchall()
    assert names == [("Central",)]
