"""/rpc: argument binding, result shapes, and every error class's status and body."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest

from tests.gateway.gwkit import Gateway, Tenant, login


@pytest.fixture
def admin(gateway: Gateway, tenant: Tenant) -> httpx.Client:
    return gateway.client(login(gateway, tenant)["access_token"])


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "message", "details", "hint", "request_id"}
    assert body["code"] == code
    assert body["request_id"] == r.headers["x-request-id"]
    return body


def test_post_binds_named_arguments_of_every_kind(admin: httpx.Client, tenant: Tenant) -> None:
    some = str(uuid.uuid4())
    r = admin.post(
        "/rpc/test_echo",
        json={
            "p_int": 7,
            "p_uuid": some,
            "p_tags": ["a", 'b"c', "d,e"],
            "p_doc": {"k": [1, None]},
            "p_flag": False,
            "p_text": "x'); drop table qms.users; --",
        },
        headers={"User-Agent": "probe/1.0", "X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["p_int"] == 7 and body["p_uuid"] == some and body["p_flag"] is False
    assert body["p_tags"] == ["a", 'b"c', "d,e"]
    assert body["p_doc"] == {"k": [1, None]}
    assert body["p_text"] == "x'); drop table qms.users; --"
    assert body["role"] == "qms_admin" and body["tenant"] == tenant.tenant_id
    # The X-Forwarded-For of a client that is not a trusted proxy is ignored: the peer address is recorded.
    assert body["ua"] == "probe/1.0" and body["ip"] == "127.0.0.1"
    assert body["rid"] == r.headers["x-request-id"]


def test_get_for_stable_functions_and_shapes(admin: httpx.Client) -> None:
    r = admin.get("/rpc/test_echo", params={"p_int": "5", "p_tags": "{x,y}", "p_doc": '{"a":1}'})
    assert r.status_code == 200, r.text
    assert r.json()["p_tags"] == ["x", "y"] and r.json()["p_doc"] == {"a": 1}
    rows = admin.get("/rpc/test_rows", params={"p_n": "3"})
    assert rows.json() == [{"n": 1, "sq": 1}, {"n": 2, "sq": 4}, {"n": 3, "sq": 9}]
    void = admin.post("/rpc/test_void", json={})
    assert void.status_code == 204 and void.content == b""


def test_request_id_is_accepted_or_generated(admin: httpx.Client) -> None:
    rid = str(uuid.uuid4())
    r = admin.post("/rpc/test_echo", json={"p_int": 1}, headers={"X-Request-Id": rid})
    assert r.headers["x-request-id"] == rid and r.json()["rid"] == rid
    r = admin.post("/rpc/test_echo", json={"p_int": 1}, headers={"X-Request-Id": "not-a-uuid"})
    assert str(uuid.UUID(r.headers["x-request-id"])) == r.headers["x-request-id"]
    assert r.headers["x-request-id"] != "not-a-uuid"


@pytest.mark.parametrize(
    ("state", "status", "code"),
    [
        ("PT409", 409, "TEST_REASON"),
        ("PT404", 404, "TEST_REASON"),
        ("PT422", 422, "TEST_REASON"),
        ("23505", 409, "23505"),
        ("23503", 409, "23503"),
        ("22P02", 400, "22P02"),
        ("23502", 400, "23502"),
        ("P0001", 400, "P0001"),
        ("42501", 403, "PERMISSION_DENIED"),
        ("XX000", 500, "INTERNAL"),
        ("42P01", 500, "INTERNAL"),
        ("40001", 503, "SERIALIZATION_RETRY_EXHAUSTED"),
    ],
)
def test_error_classes(admin: httpx.Client, state: str, status: int, code: str) -> None:
    body = assert_error(admin.post("/rpc/test_raise", json={"p_state": state}), status, code)
    text = str(body)
    assert "Traceback" not in text and "api.test_raise" not in text
    if status >= 500:
        assert "select secret" not in text  # no internals in server errors
    if state.startswith("PT"):
        assert body["hint"] == "a test hint" and body["message"] == "raised for a test"
    if status == 500:
        assert body["message"] == "internal error"


def test_serialization_failures_are_retried(admin: httpx.Client) -> None:
    # test_flaky fails two calls out of three: the gateway's retries make every request succeed.
    results = [admin.post("/rpc/test_flaky", json={}) for _ in range(4)]
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert all(r.json() % 3 == 0 for r in results)


def test_permission_errors_depend_on_authentication(gateway: Gateway, tenant: Tenant) -> None:
    agent = gateway.client(login(gateway, tenant, "agent")["access_token"])
    assert_error(agent.post("/rpc/test_admin_only", json={}), 403, "PERMISSION_DENIED")
    assert_error(gateway.client().post("/rpc/test_admin_only", json={}), 401, "AUTH_REQUIRED")
    assert gateway.client(login(gateway, tenant)["access_token"]).get("/rpc/test_admin_only").json() == "ok"


def test_bad_requests(admin: httpx.Client) -> None:
    assert_error(
        admin.post("/rpc/test_echo", content=b"{not json", headers={"Content-Type": "application/json"}),
        400,
        "INVALID_JSON",
    )
    assert_error(admin.post("/rpc/test_echo", json=[1, 2]), 400, "INVALID_JSON")
    assert_error(admin.post("/rpc/no_such_function", json={}), 404, "UNKNOWN_FUNCTION")
    assert_error(admin.post("/rpc/Robert'); drop", json={}), 404, "UNKNOWN_FUNCTION")
    body = assert_error(admin.post("/rpc/test_echo", json={"p_int": 1, "p_nope": 2}), 400, "INVALID_ARGUMENTS")
    assert {"name": "p_int", "type": "integer", "required": True} in body["details"]["expected"]  # type: ignore[index]
    assert_error(admin.post("/rpc/test_echo", json={}), 400, "INVALID_ARGUMENTS")
    assert_error(admin.post("/rpc/test_echo", json={"p_int": "seven"}), 400, "22P02")
    assert_error(admin.post("/rpc/test_echo", json={"p_int": {"a": 1}}), 400, "INVALID_ARGUMENTS")
    assert_error(admin.post("/rpc/test_echo", json={"p_int": 1, "p_text": "nul\u0000byte"}), 400, "INVALID_TEXT")
    assert_error(admin.get("/rpc/test_raise", params={"p_state": "PT409"}), 405, "METHOD_NOT_ALLOWED")
    assert_error(
        admin.post("/rpc/test_echo", json={"p_int": 1}, headers={"Content-Profile": "qms"}), 406, "UNKNOWN_SCHEMA"
    )
    assert_error(admin.get("/no/such/route"), 404, "NOT_FOUND")


def test_new_functions_are_found_without_restart(admin: httpx.Client, gateway: Gateway) -> None:
    name = f"test_late_{uuid.uuid4().hex[:8]}"
    assert_error(admin.post(f"/rpc/{name}", json={}), 404, "UNKNOWN_FUNCTION")
    with psycopg.connect(gateway.db_url, autocommit=True) as conn:
        conn.execute(f"create function api.{name}(p_x integer) returns integer language sql as 'select p_x + 1'")
        conn.execute(f"grant execute on function api.{name}(integer) to qms_admin")
    import time

    time.sleep(1.1)  # the catalog is refreshed at most once a second
    r = admin.post(f"/rpc/{name}", json={"p_x": 41})
    assert r.status_code == 200 and r.json() == 42
