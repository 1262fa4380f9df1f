"""Trusted proxies, the login throttle, refused worker tokens and the offline API docs page."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import jwt
import psycopg
import pytest
from websockets.sync.client import connect

from gateway import client_ip
from gateway.config import _networks
from tests.gateway.gwkit import PASSWORD, SECRET, Gateway, Tenant, login, make_tenant, start_gateway, stop_gateway


# -- X-Forwarded-For ----------------------------------------------------------------------------------------
def test_forwarded_for_is_walked_from_the_trusted_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QMS_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    proxies = _networks("QMS_TRUSTED_PROXIES")
    assert client_ip.resolve("127.0.0.1", "203.0.113.9", proxies) == "203.0.113.9"
    # A client may prepend anything; the hop our proxies vouch for is the rightmost untrusted one.
    assert client_ip.resolve("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3", proxies) == "203.0.113.9"
    assert client_ip.resolve("127.0.0.1", "10.1.1.1, 10.2.2.2", proxies) == "10.1.1.1"
    assert client_ip.resolve("127.0.0.1", "garbage, 203.0.113.9", proxies) == "203.0.113.9"
    assert client_ip.resolve("127.0.0.1", "203.0.113.9, not-an-ip", proxies) == "127.0.0.1"
    assert client_ip.resolve("198.51.100.1", "203.0.113.9", proxies) == "198.51.100.1"  # peer not trusted
    assert client_ip.resolve("127.0.0.1", "203.0.113.9", ()) == "127.0.0.1"  # no trusted proxies: ignored
    monkeypatch.setenv("QMS_TRUSTED_PROXIES", "10.0.0.0/33")
    with pytest.raises(Exception, match="QMS_TRUSTED_PROXIES"):
        _networks("QMS_TRUSTED_PROXIES")


@pytest.fixture(scope="module")
def proxied(gw_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Two workers behind a trusted proxy on loopback (each request can come from its own client address),
    with a per-IP limit of 20 a minute (10 per worker) and short login limits. The throttle lives in the
    database, so it holds whichever worker answers."""
    gw = start_gateway(
        gw_db,
        tmp_path_factory.mktemp("proxied"),
        workers=2,
        QMS_TRUSTED_PROXIES="127.0.0.1/32",
        QMS_RATE_LIMIT_PER_IP="20",
        QMS_LOGIN_MAX_FAILURES="3",
        QMS_LOGIN_MAX_FAILURES_PER_IP="5",
        QMS_LOGIN_WINDOW_SECONDS="60",
        QMS_LOGIN_LOCKOUT_SECONDS="2",
        QMS_LOGIN_LOCKOUT_MAX_SECONDS="3",
    )
    try:
        yield gw
    finally:
        stop_gateway(gw)


def _echo_ip(client: httpx.Client, forwarded: str) -> httpx.Response:
    return client.post("/rpc/test_echo", json={"p_int": 1}, headers={"X-Forwarded-For": forwarded})


def test_trusted_proxy_forwards_the_client_address(proxied: Gateway) -> None:
    t = make_tenant(proxied.db_url)
    token = login(proxied, t)["access_token"]
    with proxied.client(token) as admin:
        r = _echo_ip(admin, "6.6.6.6, 203.0.113.10")
        assert r.status_code == 200 and r.json()["ip"] == "203.0.113.10", r.text
        # The audit log records the forwarded address.
        r = admin.post("/api/branches", json={"name": "Via proxy"}, headers={"X-Forwarded-For": "203.0.113.11"})
        assert r.status_code == 200, r.text
        rows = t.sql(
            "select ip from audit.log where tenant_id = %s and target_id = %s", (t.tenant_id, r.json()["branch_id"])
        )
        assert rows == [("203.0.113.11",)]
        # The per-IP limit counts each forwarded client on its own (20 a minute over the two workers).
        codes = [_echo_ip(admin, "203.0.113.12").status_code for _ in range(21)]
        assert codes[:10] == [200] * 10 and codes[-1] == 429, codes
        assert _echo_ip(admin, "203.0.113.13").status_code == 200


def test_untrusted_forwarded_for_is_ignored(gateway: Gateway, tenant: Tenant) -> None:
    """Without trusted proxies (the default) the socket peer is the client, whatever the header says (the
    per-IP limit: tests/gateway/test_ops_ratelimit.py)."""
    with gateway.client(login(gateway, tenant)["access_token"]) as admin:
        r = _echo_ip(admin, "203.0.113.20")
        assert r.status_code == 200 and r.json()["ip"] == "127.0.0.1", r.text
        r = admin.post("/api/branches", json={"name": "Direct"}, headers={"X-Forwarded-For": "203.0.113.21"})
        rows = tenant.sql(
            "select ip from audit.log where tenant_id = %s and target_id = %s",
            (tenant.tenant_id, r.json()["branch_id"]),
        )
        assert rows == [("127.0.0.1",)]


# -- login throttle ------------------------------------------------------------------------------------------
def _login(gw: Gateway, t: Tenant, email: str, password: str, ip: str) -> httpx.Response:
    return httpx.post(
        gw.url + "/auth/login",
        json={"tenant": t.slug, "email": email, "password": password},
        headers={"X-Forwarded-For": ip, "User-Agent": "guesser/1.0"},
        timeout=30,
    )


def _lockouts(t: Tenant) -> list[tuple[str, str, str | None, str | None, str | None]]:
    return [
        (r[0], r[1], r[2], r[3], r[4])
        for r in t.sql(
            "select target_type, target_id, ip, actor_role, user_agent from audit.log"
            " where tenant_id = %s and action = 'auth.login_locked' order by seq",
            (t.tenant_id,),
        )
    ]


def test_login_locks_an_account_with_backoff(proxied: Gateway) -> None:
    t = make_tenant(proxied.db_url)
    email = t.emails[t.users["agent"]]
    for _ in range(2):
        r = _login(proxied, t, email.upper(), "wrong", "203.0.113.50")
        assert r.status_code == 401 and r.json()["code"] == "INVALID_CREDENTIALS", r.text
    r = _login(proxied, t, email, "wrong", "203.0.113.51")  # the third failure locks the account
    assert r.status_code == 429 and r.json()["code"] == "LOGIN_LOCKED", r.text
    assert r.headers["retry-after"] == "2"
    # Locked for everyone, the right password included, from any address.
    r = _login(proxied, t, email, PASSWORD, "198.51.100.7")
    assert r.status_code == 429 and r.json()["code"] == "LOGIN_LOCKED" and int(r.headers["retry-after"]) <= 2
    assert _lockouts(t) == [("account", email, "203.0.113.51", "qms_anon", "guesser/1.0")]
    # Other accounts of the tenant are not locked.
    assert _login(proxied, t, t.emails[t.users["admin"]], PASSWORD, "198.51.100.8").status_code == 200
    time.sleep(2.2)
    # The lockout has expired: a failure counts from zero again, but the next lockout is longer (backoff).
    for _ in range(2):
        assert _login(proxied, t, email, "wrong", "203.0.113.52").status_code == 401
    r = _login(proxied, t, email, "wrong", "203.0.113.52")
    assert r.status_code == 429 and r.headers["retry-after"] == "3", r.headers  # 2 s x 2, capped at 3 s
    time.sleep(3.2)
    assert _login(proxied, t, email, PASSWORD, "203.0.113.52").status_code == 200
    # A success clears the account's history: the next lockout is the short one again.
    for _ in range(2):
        assert _login(proxied, t, email, "wrong", "203.0.113.53").status_code == 401
    assert _login(proxied, t, email, "wrong", "203.0.113.53").headers["retry-after"] == "2"
    assert [row[0] for row in _lockouts(t)] == ["account"] * 3


def test_login_locks_a_guessing_address(proxied: Gateway) -> None:
    t = make_tenant(proxied.db_url)
    ip = "203.0.113.60"
    codes = [_login(proxied, t, f"nobody{i}@example.com", "wrong", ip).status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 429], codes  # five accounts, one guess each: the address is locked
    admin_email = t.emails[t.users["admin"]]
    r = _login(proxied, t, admin_email, PASSWORD, ip)
    assert r.status_code == 429 and r.json()["code"] == "LOGIN_LOCKED"
    assert _login(proxied, t, admin_email, PASSWORD, "203.0.113.61").status_code == 200
    assert _lockouts(t) == [("ip", ip, ip, "qms_anon", "guesser/1.0")]
    time.sleep(2.2)
    assert _login(proxied, t, admin_email, PASSWORD, ip).status_code == 200
    # Throttle rows are the gateway's alone: no request role reads them.
    for role in ("qms_admin", "qms_anon", "qms_authenticator"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            t.sql(f"set role {role}; select count(*) from qms.login_throttle")


def test_unknown_tenant_leaves_no_trace(proxied: Gateway) -> None:
    count = "select count(*) from qms.login_throttle"
    with psycopg.connect(proxied.db_url, autocommit=True) as conn:
        before = conn.execute(count).fetchone()
    for _ in range(6):
        r = httpx.post(
            proxied.url + "/auth/login",
            json={"tenant": "no-such-tenant-xyz", "email": "a@example.com", "password": "x"},
            timeout=30,
        )
        assert r.status_code == 401 and r.json()["code"] == "INVALID_CREDENTIALS"
    with psycopg.connect(proxied.db_url, autocommit=True) as conn:
        assert conn.execute(count).fetchone() == before


# -- roles the gateway does not serve -------------------------------------------------------------------------
def test_worker_tokens_are_refused(gateway: Gateway, tenant: Tenant) -> None:
    now = int(time.time())
    token = jwt.encode(
        {"role": "qms_worker", "sub": "relay", "tenant_id": tenant.tenant_id, "iat": now, "exp": now + 60},
        SECRET,
        algorithm="HS256",
    )
    with gateway.client(token) as worker:
        for r in (
            worker.post("/rpc/auth_whoami", json={}),
            worker.get("/rpc/auth_whoami"),
            worker.get("/api/branches"),
            worker.post("/api/tickets", json={"service_id": "00000000-0000-0000-0000-000000000000"}),
            worker.get("/api/queues", params={"branch_id": tenant.branch_id}),
        ):
            assert r.status_code == 403 and r.json()["code"] == "ROLE_NOT_SERVED", r.text
    with connect(f"{gateway.ws_url}?token={token}", open_timeout=10) as ws:
        frame = json.loads(ws.recv(timeout=10))
    assert frame["type"] == "error" and frame["code"] == "ROLE_NOT_SERVED"
    r = httpx.get(gateway.url + "/realtime/sse", params={"token": token, "topics": f"branch:{tenant.branch_id}"})
    assert r.status_code == 403 and r.json()["code"] == "ROLE_NOT_SERVED"


# -- API docs without internet --------------------------------------------------------------------------------
def test_docs_page_loads_only_local_assets(gateway: Gateway) -> None:
    page = httpx.get(gateway.url + "/docs", timeout=30)
    assert page.status_code == 200 and "swagger" in page.text.lower()
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls, page.text
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"/docs references an external host: {url}"
        got = httpx.get(gateway.url + url, timeout=30)
        assert got.status_code == 200 and got.content, url
    assert any(Path(urlsplit(u).path).name == "swagger-ui-bundle.js" for u in urls)
    assert "http://" not in page.text and "https://" not in page.text
    assert httpx.get(gateway.url + "/redoc", timeout=30).status_code == 404


def test_realtime_frames_are_held_to_the_input_limits(gateway: Gateway, tenant: Tenant) -> None:
    token = login(gateway, tenant)["access_token"]
    with connect(f"{gateway.ws_url}?token={token}", open_timeout=10, max_size=None) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
        for text, code in (
            ('{"a":' * 5000 + "1" + "}" * 5000, "NESTING_TOO_DEEP"),
            (json.dumps({"action": "subscribe", "topics": ["branch:\ud800"]}), "INVALID_TEXT"),
            ("not json", "INVALID_JSON"),
            (json.dumps({"action": "ping", "pad": "x" * 300_000}), "BODY_TOO_LARGE"),
        ):
            ws.send(text)
            reply = json.loads(ws.recv(timeout=10))
            assert reply["type"] == "error" and reply["code"] == code, reply
        ws.send(json.dumps({"action": "ping"}))  # the connection is still served
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
    # A hostile first frame (token by frame) is refused the same way, and the socket closed.
    with connect(gateway.ws_url, open_timeout=10) as ws:
        ws.send('{"a":' * 5000 + "1" + "}" * 5000)
        reply = json.loads(ws.recv(timeout=10))
    assert reply["type"] == "error" and reply["code"] == "NESTING_TOO_DEEP"
