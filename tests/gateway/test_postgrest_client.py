"""postgrest-py, the client the CLI and workers use, works against the gateway unchanged."""

from __future__ import annotations

import pytest
from postgrest import APIError, SyncPostgrestClient

from tests.gateway.gwkit import Gateway, Tenant, login


def client(gateway: Gateway, token: str | None, schema: str = "api") -> SyncPostgrestClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return SyncPostgrestClient(gateway.url, schema=schema, headers=headers)


def test_round_trip(gateway: Gateway, tenant: Tenant) -> None:
    token = login(gateway, tenant)["access_token"]
    with client(gateway, token) as pg:
        data = pg.rpc("test_echo", {"p_int": 3, "p_tags": ["a", "b"]}).execute().data
        assert data["p_int"] == 3 and data["p_tags"] == ["a", "b"] and data["tenant"] == tenant.tenant_id
        got = pg.rpc("test_echo", {"p_int": 4, "p_tags": ["c"]}, get=True).execute().data
        assert got["p_int"] == 4 and got["p_tags"] == ["c"]
        assert pg.rpc("auth_whoami", {}).execute().data["role"] == "qms_admin"
        branches = pg.rpc("list_branches", {}).execute().data
        assert {b["branch_id"] for b in branches} >= {tenant.branch_id, tenant.other_branch_id}
    # The client's default schema ("public") is accepted as the api schema.
    with client(gateway, token, schema="public") as pg:
        assert pg.rpc("test_rows", {"p_n": 2}).execute().data == [{"n": 1, "sq": 1}, {"n": 2, "sq": 4}]


def test_errors_surface_as_api_error(gateway: Gateway, tenant: Tenant) -> None:
    token = login(gateway, tenant)["access_token"]
    with client(gateway, token) as pg:
        with pytest.raises(APIError) as err:
            pg.rpc("test_raise", {"p_state": "PT409", "p_detail": "INVALID_TRANSITION"}).execute()
        assert err.value.code == "INVALID_TRANSITION" and err.value.hint == "a test hint"
        assert err.value.message == "raised for a test"
        with pytest.raises(APIError) as err:
            pg.rpc("no_such_thing", {}).execute()
        assert err.value.code == "UNKNOWN_FUNCTION"
    with client(gateway, None) as anon, pytest.raises(APIError) as err:
        anon.rpc("test_admin_only", {}).execute()
    assert err.value.code == "AUTH_REQUIRED"
