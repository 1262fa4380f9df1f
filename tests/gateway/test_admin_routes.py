"""Gateway routes of the admin console and the public join page: setting a password (hashed here, sessions end),
device pairing (token, start URL, QR of it), and the per-IP and per-branch limits of anonymous joins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import segno

from qms import testing
from tests.gateway.gwkit import Gateway, Tenant, login, make_tenant, start_gateway, stop_gateway


def admin_call(gw: Gateway, token: str, fn: str, **args: object) -> dict:  # type: ignore[type-arg]
    with gw.client(token) as c:
        r = c.post(f"/rpc/{fn}", json=args)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_set_password_hashes_it_and_ends_the_users_sessions(gateway: Gateway, tenant: Tenant) -> None:
    admin = login(gateway, tenant, "admin")["access_token"]
    agent_session = login(gateway, tenant, "agent")
    agent_id = tenant.users["agent"]
    with gateway.client(admin) as c:
        weak = c.post(f"/api/users/{agent_id}/password", json={"password": "short"})
        ok = c.post(f"/api/users/{agent_id}/password", json={"password": "a-new-secret-9"})
        missing = c.post(
            "/api/users/00000000-0000-4000-8000-000000000000/password", json={"password": "a-new-secret-9"}
        )
    assert weak.status_code == 400 and weak.json()["code"] == "WEAK_PASSWORD", weak.text
    assert weak.json()["details"] == {"field": "password", "min_length": 8}
    assert ok.status_code == 200 and ok.json()["password_set"] is True, ok.text
    assert missing.status_code == 404 and missing.json()["code"] == "USER_NOT_FOUND", missing.text
    stored = tenant.sql("select password_hash from qms.users where user_id = %s", (agent_id,))[0][0]
    assert stored.startswith("$argon2id$")
    # The agent's old access token and refresh token stop working; the new password works.
    with gateway.client(agent_session["access_token"]) as c:
        old = c.post("/rpc/auth_whoami", json={})
    assert old.status_code == 401, old.text
    r = httpx.post(gateway.url + "/auth/refresh", json={"refresh_token": agent_session["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "SESSION_ENDED", r.text
    r = httpx.post(
        gateway.url + "/auth/login",
        json={"tenant": tenant.slug, "email": tenant.emails[agent_id], "password": "a-new-secret-9"},
    )
    assert r.status_code == 200, r.text


def test_device_token_comes_with_its_start_url_and_qr(gateway: Gateway, tenant: Tenant) -> None:
    admin = login(gateway, tenant, "admin")["access_token"]
    dev = admin_call(gateway, admin, "create_device", branch_id=tenant.branch_id, kind="kiosk", name="K1")
    with gateway.client(admin) as c:
        r = c.post(f"/api/devices/{dev['device_id']}/token")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "kiosk" and body["start_url"] == f"/apps/kiosk/#token={body['token']}"
    expected = segno.make(gateway.url + body["start_url"], error="m").svg_inline(
        scale=1, border=2, omitsize=True, dark="#000"
    )
    assert body["qr_svg"] == expected


@pytest.fixture
def join_limited(test_dbs: testing.TestDatabases, tmp_path: Path) -> Iterator[Gateway]:
    with test_dbs.database() as url:
        gw = start_gateway(url, tmp_path, QMS_JOIN_LIMIT_PER_IP="6", QMS_JOIN_LIMIT_PER_BRANCH="4")
        try:
            yield gw
        finally:
            stop_gateway(gw)


def test_joins_are_limited_per_branch_and_per_ip(join_limited: Gateway) -> None:
    gw = join_limited
    t = make_tenant(gw.db_url)
    admin = login(gw, t, "admin")["access_token"]
    codes = []
    services = []
    for branch, code in ((t.branch_id, "one"), (t.other_branch_id, "two")):
        admin_call(gw, admin, "update_branch", branch_id=branch, code=code)
        services.append(
            admin_call(gw, admin, "create_service", branch_id=branch, name="Teller", prefix="A")["service_id"]
        )
        codes.append(f"{t.slug}.{code}")
    with gw.client() as c:
        one = [c.post("/rpc/join_queue", json={"code": codes[0], "service_id": services[0]}) for _ in range(5)]
        two = [c.post("/rpc/join_queue", json={"code": codes[1], "service_id": services[1]}) for _ in range(2)]
        other = c.post("/rpc/get_public_branch", json={"code": codes[0]})
    assert [r.status_code for r in one] == [200, 200, 200, 200, 429], [r.text for r in one]
    limited = one[4].json()
    assert limited["code"] == "RATE_LIMITED" and limited["details"] == {"scope": "join_branch"}
    assert int(one[4].headers["retry-after"]) >= 1
    # The other branch still takes joins until this IP's own limit (6) runs out.
    assert [r.status_code for r in two] == [200, 429], [r.text for r in two]
    assert two[1].json()["details"] == {"scope": "join_ip"}
    assert other.status_code == 200  # reading the join page is not a join
    assert t.sql("select count(*) from qms.tickets where tenant_id = %s", (t.tenant_id,)) == [(5,)]
