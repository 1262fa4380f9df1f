"""REST routes as thin mappings onto api functions, OpenAPI, and a bounded schemathesis run (no 5xx)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from qms import testing
from tests.gateway.gwkit import ROOT, Gateway, Tenant, login, make_tenant, start_gateway, stop_gateway


def test_ticket_flow_through_rest(gateway: Gateway, tenant: Tenant) -> None:
    admin = gateway.client(login(gateway, tenant)["access_token"])
    r = admin.post("/api/services", json={"branch_id": tenant.branch_id, "name": "Teller", "prefix": "A"})
    assert r.status_code == 200, r.text
    service_id = r.json()["service_id"]
    r = admin.post("/api/counters", json={"branch_id": tenant.branch_id, "name": "C1", "service_ids": [service_id]})
    assert r.status_code == 200, r.text
    counter_id = r.json()["counter_id"]
    services = admin.get("/api/services", params={"branch_id": tenant.branch_id})
    assert services.status_code == 200 and [s["service_id"] for s in services.json()] == [service_id], services.text
    assert any(c["counter_id"] == counter_id for c in admin.get("/api/counters").json())
    r = admin.post(f"/api/counters/{counter_id}/status", json={"status": "available"})
    assert r.status_code == 200, r.text

    r = admin.post("/api/tickets", json={"service_id": service_id, "channel": "staff"})
    assert r.status_code == 200, r.text
    ticket = r.json()
    assert ticket["status"] == "waiting" and ticket["service_id"] == service_id
    got = admin.get(f"/api/tickets/{ticket['ticket_id']}")
    assert got.status_code == 200 and got.json()["ticket_id"] == ticket["ticket_id"]
    queue = admin.get("/api/queues", params={"branch_id": tenant.branch_id})
    assert queue.status_code == 200 and ticket["ticket_number"] in queue.text
    called = admin.post(
        f"/api/tickets/{ticket['ticket_id']}/actions", json={"action": "call_next", "counter_id": counter_id}
    )
    assert called.status_code == 200, called.text
    assert called.json()["ticket"]["ticket_id"] == ticket["ticket_id"]
    started = admin.post(
        f"/api/tickets/{ticket['ticket_id']}/actions", json={"action": "start", "counter_id": counter_id}
    )
    assert started.status_code == 200 and started.json()["status"] == "serving", started.text
    wrong = admin.post(f"/api/tickets/{ticket['ticket_id']}/actions", json={"action": "hold"})
    assert wrong.status_code == 409 and wrong.json()["code"] == "INVALID_TRANSITION"
    display = admin.get("/api/display/snapshot", params={"branch_id": tenant.branch_id})
    assert display.status_code == 200 and ticket["ticket_number"] in display.text
    assert admin.get("/api/audit-logs").status_code == 200


def test_admin_routes_and_validation(gateway: Gateway, tenant: Tenant) -> None:
    admin = gateway.client(login(gateway, tenant)["access_token"])
    r = admin.post("/api/branches", json={"name": "Third", "timezone": "Asia/Jakarta"})
    assert r.status_code == 200, r.text
    assert any(b["branch_id"] == r.json()["branch_id"] for b in admin.get("/api/branches").json())
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    r = admin.post(
        "/api/users", json={"email": email, "display_name": "New", "role": "agent", "branch_ids": [tenant.branch_id]}
    )
    assert r.status_code == 200, r.text
    assert any(u["email"] == email for u in admin.get("/api/users").json())
    dup = admin.post(
        "/api/users", json={"email": email, "display_name": "New", "role": "agent", "branch_ids": [tenant.branch_id]}
    )
    assert dup.status_code == 409 and dup.json()["code"] == "USER_EXISTS", dup.text
    bad = admin.post("/api/tickets", json={"service_id": "not-a-uuid"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_REQUEST"
    unknown = admin.post("/api/branches", json={"name": "X", "no_such_param": 1})
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_ARGUMENTS"
    agent = gateway.client(login(gateway, tenant, "agent")["access_token"])
    forbidden = agent.post("/api/branches", json={"name": "Nope"})
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "PERMISSION_DENIED", forbidden.text


@pytest.fixture
def bare_gateway(test_dbs: testing.TestDatabases, tmp_path: Path) -> Iterator[Gateway]:
    """A gateway whose database lacks api.list_audit_logs (a function another team has not shipped yet)."""
    with test_dbs.database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("drop function if exists api.list_audit_logs")
        gw = start_gateway(url, tmp_path)
        try:
            yield gw
        finally:
            stop_gateway(gw)


def test_route_without_function_is_a_clean_404(bare_gateway: Gateway) -> None:
    t = make_tenant(bare_gateway.db_url)
    admin = bare_gateway.client(login(bare_gateway, t)["access_token"])
    r = admin.get("/api/audit-logs")
    assert r.status_code == 404 and r.json()["code"] == "UNKNOWN_FUNCTION"


def test_openapi_lists_rpc_and_rest(gateway: Gateway) -> None:
    doc = httpx.get(gateway.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in (
        "/rpc/create_ticket",
        "/rpc/test_echo",
        "/api/tickets",
        "/api/tickets/{ticket_id}/actions",
        "/api/queues",
        "/auth/login",
    ):
        assert path in paths, path
    echo = paths["/rpc/test_echo"]
    assert echo["post"]["requestBody"]["content"]["application/json"]["schema"]["required"] == ["p_int"]
    assert "get" in echo and "get" not in paths["/rpc/test_raise"]
    assert httpx.get(gateway.url + "/docs").status_code == 200


def test_schemathesis_finds_no_server_errors(gateway: Gateway, tenant: Tenant) -> None:
    """A bounded property-based pass over /openapi.json as an admin (and so through every check the gateway
    and the functions make): no 5xx, and status codes, content types and bodies as documented."""
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert exe, "schemathesis is a dev dependency"
    token = login(gateway, tenant)["access_token"]
    started = time.monotonic()
    proc = subprocess.run(
        [
            exe,
            "run",
            gateway.url + "/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "5",
            "--exclude-path-regex",
            "^/(realtime|rpc/test_)",
            "--phases",
            "examples,fuzzing",
            "--request-timeout",
            "20",
            "--generation-deterministic",
            "--no-color",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-30000:] + proc.stderr[-2000:]
    assert time.monotonic() - started < 120, "keep the schemathesis pass bounded"
