"""Login, refresh rotation, expiry, logout, immediate revocation of disabled users and revoked devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from typer.testing import CliRunner

from qms.cli import app as cli_app
from tests.gateway.gwkit import PASSWORD, ROOT, SECRET, Gateway, Tenant, login


def whoami(gw: Gateway, token: str) -> httpx.Response:
    return gw.client(token).post("/rpc/auth_whoami", json={})


def test_login_issues_scoped_claims(gateway: Gateway, tenant: Tenant) -> None:
    body = login(gateway, tenant, "agent")
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    assert claims["role"] == "qms_agent" and claims["tenant_id"] == tenant.tenant_id
    assert claims["sub"] == tenant.users["agent"] and claims["branch_ids"] == [tenant.branch_id]
    assert isinstance(claims["tv"], int) and claims["exp"] - claims["iat"] == body["expires_in"] == 900
    assert uuid.UUID(claims["jti"])
    me = whoami(gateway, body["access_token"]).json()
    assert me["role"] == "qms_agent" and me["sub"] == tenant.users["agent"] and me["branch_ids"] == [tenant.branch_id]
    assert body["refresh_token"].startswith(tenant.tenant_id + ".")
    stored = tenant.sql(
        "select count(*) from qms.refresh_tokens where tenant_id = %s and token_hash = sha256(%s)",
        (tenant.tenant_id, body["refresh_token"].encode()),
    )
    assert stored == [(1,)]


def test_bad_credentials_look_the_same(gateway: Gateway, tenant: Tenant) -> None:
    email = tenant.emails[tenant.users["admin"]]
    for payload in (
        {"tenant": tenant.slug, "email": email, "password": "wrong"},
        {"tenant": tenant.slug, "email": "nobody@example.com", "password": PASSWORD},
        {"tenant": "no-such-tenant", "email": email, "password": PASSWORD},
    ):
        r = httpx.post(gateway.url + "/auth/login", json=payload)
        assert r.status_code == 401 and r.json()["code"] == "INVALID_CREDENTIALS", r.text
    r = httpx.post(gateway.url + "/auth/login", json={"tenant": tenant.slug})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST"


def test_refresh_rotates_and_detects_reuse(gateway: Gateway, tenant: Tenant) -> None:
    first = login(gateway, tenant)
    r = httpx.post(gateway.url + "/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert whoami(gateway, second["access_token"]).status_code == 200
    # Presenting the rotated token again revokes the whole family, including the new token.
    reuse = httpx.post(gateway.url + "/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "REFRESH_TOKEN_REUSED"
    after = httpx.post(gateway.url + "/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401 and after.json()["code"] == "SESSION_ENDED"
    bogus = httpx.post(gateway.url + "/auth/refresh", json={"refresh_token": "garbage-token-value"})
    assert bogus.status_code == 401 and bogus.json()["code"] == "INVALID_REFRESH_TOKEN"


def test_logout_revokes_refresh(gateway: Gateway, tenant: Tenant) -> None:
    body = login(gateway, tenant)
    assert httpx.post(gateway.url + "/auth/logout", json={"refresh_token": body["refresh_token"]}).status_code == 204
    r = httpx.post(gateway.url + "/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "SESSION_ENDED"


def test_expired_and_forged_tokens(gateway: Gateway, tenant: Tenant) -> None:
    now = int(time.time())
    claims = {
        "role": "qms_admin",
        "tenant_id": tenant.tenant_id,
        "sub": tenant.users["admin"],
        "tv": 1,
        "iat": now - 100,
        "exp": now - 10,
    }
    expired = jwt.encode(claims, SECRET, algorithm="HS256")
    r = whoami(gateway, expired)
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_EXPIRED"
    forged = jwt.encode({**claims, "exp": now + 100}, "another-secret-another-secret-another", algorithm="HS256")
    assert whoami(gateway, forged).json()["code"] == "INVALID_TOKEN"
    bad_role = jwt.encode({**claims, "exp": now + 100, "role": "postgres"}, SECRET, algorithm="HS256")
    assert whoami(gateway, bad_role).json()["code"] == "INVALID_TOKEN"
    r = gateway.client().post("/rpc/auth_whoami", json={}, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"


def test_disabled_user_and_password_change_stop_at_once(gateway: Gateway, tenant: Tenant) -> None:
    agent = login(gateway, tenant, "agent")
    assert whoami(gateway, agent["access_token"]).status_code == 200
    tenant.api("update_user", user_id=tenant.users["agent"], is_active=False)
    r = whoami(gateway, agent["access_token"])
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_REVOKED"
    refresh = httpx.post(gateway.url + "/auth/refresh", json={"refresh_token": agent["refresh_token"]})
    assert refresh.status_code == 401 and refresh.json()["code"] == "USER_DISABLED"
    # A token_version bump (password change) invalidates the admin's current token too.
    admin = login(gateway, tenant)
    tenant.change_password(tenant.users["admin"])
    assert whoami(gateway, admin["access_token"]).json()["code"] == "TOKEN_REVOKED"
    assert whoami(gateway, login(gateway, tenant)["access_token"]).status_code == 200


def test_device_token_and_revocation(gateway: Gateway, tenant: Tenant) -> None:
    device_id = tenant.add_device("display")
    admin = gateway.client(login(gateway, tenant)["access_token"])
    r = admin.post(f"/api/devices/{device_id}/token")
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["role"] == "qms_device" and claims["sub"] == device_id and claims["branch_ids"] == [tenant.branch_id]
    me = whoami(gateway, token)
    assert me.status_code == 200 and me.json()["role"] == "qms_device"
    seen = tenant.sql(
        "select last_seen_at is not null from qms.devices where tenant_id = %s and device_id = %s",
        (tenant.tenant_id, device_id),
    )
    assert seen == [(True,)]
    audit = tenant.sql(
        "select count(*) from audit.log where tenant_id = %s and action = 'device.token_issued'", (tenant.tenant_id,)
    )
    assert audit == [(1,)]
    # Revoking through the admin api (status revoked) stops the token on its next request.
    rev = admin.post("/rpc/update_device", json={"device_id": device_id, "status": "revoked"})
    assert rev.status_code == 200, rev.text
    r = whoami(gateway, token)
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_REVOKED"
    again = admin.post(f"/api/devices/{device_id}/token")
    assert again.status_code == 409 and again.json()["code"] == "DEVICE_REVOKED"


def test_device_claims_are_the_same_from_the_gateway_and_the_cli(
    gateway: Gateway, tenant: Tenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """POST /api/devices/{id}/token and `qms device token` sign the claims qms.tokens.device_claims builds."""
    [(area_id,)] = tenant.sql("select tests.add_area(%s, %s, 'Hall')", (tenant.tenant_id, tenant.branch_id))
    device_id = tenant.add_device("display", area_id=str(area_id))
    admin = gateway.client(login(gateway, tenant)["access_token"])
    r = admin.post(f"/api/devices/{device_id}/token")
    assert r.status_code == 200, r.text
    monkeypatch.setenv("QMS_DATABASE_URL", gateway.db_url)
    monkeypatch.setenv("QMS_JWT_SECRET", SECRET)
    monkeypatch.setenv("QMS_DATA_DIR", str(tmp_path))
    out = CliRunner().invoke(cli_app, ["device", "token", "--tenant", tenant.slug, device_id])
    assert out.exit_code == 0, out.stdout
    over_http = jwt.decode(r.json()["token"], SECRET, algorithms=["HS256"])
    from_cli = jwt.decode(json.loads(out.stdout)["token"], SECRET, algorithms=["HS256"])
    stamps = {"iat", "exp", "jti"}
    assert {k: v for k, v in over_http.items() if k not in stamps} == {
        k: v for k, v in from_cli.items() if k not in stamps
    } == {
        "role": "qms_device", "tenant_id": tenant.tenant_id, "sub": device_id, "branch_ids": [tenant.branch_id],
        "area_id": str(area_id), "kind": "display", "tv": 0,
    }  # fmt: skip


def test_device_token_needs_admin_in_scope(gateway: Gateway, tenant: Tenant) -> None:
    device_id = tenant.add_device("kiosk")
    agent = gateway.client(login(gateway, tenant, "agent")["access_token"])
    r = agent.post(f"/api/devices/{device_id}/token")
    assert r.status_code == 403 and r.json()["code"] == "PERMISSION_DENIED", r.text
    admin = gateway.client(login(gateway, tenant)["access_token"])
    r = admin.post(f"/api/devices/{uuid.uuid4()}/token")
    assert r.status_code == 404 and r.json()["code"] == "DEVICE_NOT_FOUND"


def test_refuses_to_start_without_secret() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    env["QMS_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/none"
    proc = subprocess.run(
        [sys.executable, "-c", "from gateway.app import create_app; create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "QMS_JWT_SECRET is not set" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_operator_tokens_without_tv(gateway: Gateway, tenant: Tenant) -> None:
    """CLI-minted tokens carry no tv: valid while the tenant (and a named user) is active."""
    now = int(time.time())
    base = {"role": "qms_admin", "tenant_id": tenant.tenant_id, "iat": now, "exp": now + 60}
    service = jwt.encode({**base, "sub": "ops-script"}, SECRET, algorithm="HS256")
    assert whoami(gateway, service).status_code == 200
    as_user = jwt.encode({**base, "sub": tenant.users["agent"], "role": "qms_agent"}, SECRET, algorithm="HS256")
    assert whoami(gateway, as_user).status_code == 200
    tenant.api("update_user", user_id=tenant.users["agent"], is_active=False)
    assert whoami(gateway, as_user).json()["code"] == "TOKEN_REVOKED"
    tenant.sql("update qms.tenants set is_active = false where tenant_id = %s", (tenant.tenant_id,))
    assert whoami(gateway, service).json()["code"] == "TOKEN_REVOKED"


def test_revoked_token_changes_nothing(gateway: Gateway, tenant: Tenant) -> None:
    """The token check, set role and the call travel in one pipeline: a revoked token's call never runs."""
    admin = gateway.client(login(gateway, tenant)["access_token"])
    ok = admin.post("/api/branches", json={"name": "Before revocation"})
    assert ok.status_code == 200, ok.text
    tenant.change_password(tenant.users["admin"])
    for _ in range(6):  # past psycopg's prepare threshold: prepared statements behave the same
        r = admin.post("/api/branches", json={"name": "After revocation"})
        assert r.status_code == 401 and r.json()["code"] == "TOKEN_REVOKED", r.text
    names = tenant.sql("select name from qms.branches where tenant_id = %s order by name", (tenant.tenant_id,))
    assert ("Before revocation",) in names and ("After revocation",) not in names
    # The pooled connections are fine afterwards: a fresh login works at once, many times over.
    fresh = gateway.client(login(gateway, tenant)["access_token"])
    assert all(fresh.post("/rpc/auth_whoami", json={}).status_code == 200 for _ in range(12))


def test_operator_token_naming_a_revoked_device_is_refused(gateway: Gateway, tenant: Tenant) -> None:
    """A token of another role whose sub is a device id stands or falls with that device."""
    from qms import tokens

    device_id = tenant.add_device("display")
    tenant.api("update_device", device_id=device_id, status="active")
    token = tokens.issue(SECRET, role="agent", tenant_id=tenant.tenant_id, sub=device_id, branch_ids=[tenant.branch_id])
    assert whoami(gateway, token).status_code == 200
    tenant.api("update_device", device_id=device_id, status="revoked")
    r = whoami(gateway, token)
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_REVOKED"


def test_verified_tokens_are_cached_until_they_expire() -> None:
    from gateway import auth
    from gateway.config import Settings
    from gateway.errors import ApiError

    settings = Settings(authenticator_url="postgresql://unused", jwt_secret=SECRET)
    token = jwt.encode(
        {"role": "qms_agent", "tenant_id": str(uuid.uuid4()), "sub": "x", "exp": int(time.time()) + 1},
        SECRET,
        algorithm="HS256",
    )
    first = auth.decode(settings, token)
    assert auth.decode(settings, token) is first  # served from the cache
    other = Settings(authenticator_url="postgresql://unused", jwt_secret="another-secret-" + "x" * 32)
    try:
        auth.decode(other, token)
        raise AssertionError("a token cached under one secret must not pass under another")
    except ApiError as exc:
        assert exc.code == "INVALID_TOKEN"
    time.sleep(1.2)
    try:
        auth.decode(settings, token)
        raise AssertionError("an expired token must not be served from the cache")
    except ApiError as exc:
        assert exc.code == "TOKEN_EXPIRED"
