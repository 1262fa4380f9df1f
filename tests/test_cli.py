"""The admin CLI against a real database: every command goes through the api functions as qms_admin with
the tenant's claims, prints JSON, and reports errors on one line with exit code 1."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import psycopg
import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from qms import testing
from qms.cli import app

SECRET = "test-secret-" + "x" * 40


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("QMS_DATABASE_URL", db_url)
    monkeypatch.setenv("QMS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QMS_JWT_SECRET", SECRET)
    monkeypatch.delenv("QMS_TENANT", raising=False)
    return CliRunner()


def run(cli: CliRunner, *args: str, ok: bool = True) -> Any:
    result = cli.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)
    assert result.exit_code == 1, f"{args}: expected exit 1, got {result.exit_code}\n{result.stdout}"
    return result


def count(url: str, table: str) -> int:
    name = table if "." in table else f"qms.{table}"
    with psycopg.connect(url) as conn:
        row = conn.execute(f"select count(*) from {name}").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def acme(cli: CliRunner) -> dict[str, Any]:
    """A tenant with a branch, two services and a counter, created through the CLI."""
    tenant = run(cli, "tenant", "create", "Acme Bank", "acme")
    branch = run(
        cli, "branch", "create", "--tenant", "acme", "Acme Central", "--timezone", "Asia/Jakarta", "--code", "C1"
    )
    bid = branch["branch_id"]
    teller = run(cli, "service", "create", "--tenant", "acme", bid, "Teller", "A", "--sla-minutes", "10")
    loans = run(cli, "service", "create", "--tenant", "acme", bid, "Loans", "C")
    counter = run(
        cli, "counter", "create", "--tenant", "acme", bid, "Counter 1", "--service", teller["service_id"],
        "--service", loans["service_id"],
    )  # fmt: skip
    return {"tenant": tenant, "branch": branch, "teller": teller, "loans": loans, "counter": counter}


def test_tenant_create_and_list(cli: CliRunner, db_url: str) -> None:
    created = run(cli, "tenant", "create", "Acme Bank", "acme")
    assert created["slug"] == "acme" and len(created["tenant_id"]) == 36
    run(cli, "tenant", "create", "Other", "other-co")
    listed = run(cli, "tenant", "list")
    assert [t["slug"] for t in listed] == ["acme", "other-co"]
    assert listed[0]["tenant_id"] == created["tenant_id"]


def test_branch_service_counter_create_and_list(cli: CliRunner, acme: dict[str, Any], db_url: str) -> None:
    bid = acme["branch"]["branch_id"]
    assert acme["branch"]["timezone"] == "Asia/Jakarta" and acme["branch"]["code"] == "C1"
    assert acme["teller"]["prefix"] == "A" and acme["teller"]["sla_minutes"] == 10
    assert [b["branch_id"] for b in run(cli, "branch", "list", "--tenant", "acme")] == [bid]
    services = run(cli, "service", "list", "--tenant", "acme", "--branch", bid)
    assert sorted(s["name"] for s in services) == ["Loans", "Teller"]
    counters = run(cli, "counter", "list", "--tenant", "acme")
    assert [c["name"] for c in counters] == ["Counter 1"]
    assert sorted(counters[0]["service_ids"]) == sorted([acme["teller"]["service_id"], acme["loans"]["service_id"]])
    area = run(cli, "area", "create", "--tenant", "acme", bid, "Hall")
    assert [a["area_id"] for a in run(cli, "area", "list", "--tenant", "acme")] == [area["area_id"]]
    # another tenant sees none of it (the CLI runs under RLS with the tenant's claims)
    run(cli, "tenant", "create", "Other", "other-co")
    assert run(cli, "branch", "list", "--tenant", "other-co") == []
    assert run(cli, "counter", "list", "--tenant", "other-co") == []


def test_counter_status(cli: CliRunner, acme: dict[str, Any]) -> None:
    cid = acme["counter"]["counter_id"]
    out = run(cli, "counter", "status", "--tenant", "acme", cid, "available")
    assert out["status"] == "available"
    [counter] = run(cli, "counter", "list", "--tenant", "acme")
    assert counter["status"] == "available"


def test_user_create_list_and_password(cli: CliRunner, acme: dict[str, Any], db_url: str) -> None:
    bid = acme["branch"]["branch_id"]
    user = run(cli, "user", "create", "--tenant", "acme", "Ana@Acme.test", "Ana", "agent", "--branch", bid)
    assert user["role"] == "agent" and user["branch_ids"] == [bid]
    listed = run(cli, "user", "list", "--tenant", "acme")
    assert [u["user_id"] for u in listed] == [user["user_id"]]
    assert all("password_hash" not in u for u in listed)
    run(cli, "user", "set-password", "--tenant", "acme", "ana@acme.test", "--password", "correct horse 1")
    with psycopg.connect(db_url) as conn:
        row = conn.execute("select password_hash from qms.users where user_id = %s", (user["user_id"],)).fetchone()
    assert row is not None and PasswordHasher().verify(row[0], "correct horse 1")
    bad = run(cli, "user", "set-password", "--tenant", "acme", "nobody@acme.test", "--password", "whatever1", ok=False)
    assert "USER_NOT_FOUND" in bad.stderr


def test_device_create_list_revoke(cli: CliRunner, acme: dict[str, Any]) -> None:
    bid = acme["branch"]["branch_id"]
    kiosk = run(cli, "device", "create", "--tenant", "acme", bid, "kiosk", "Kiosk 1")
    assert kiosk["kind"] == "kiosk" and kiosk["branch_id"] == bid
    assert [d["device_id"] for d in run(cli, "device", "list", "--tenant", "acme")] == [kiosk["device_id"]]
    run(cli, "device", "revoke", "--tenant", "acme", kiosk["device_id"])
    [listed] = run(cli, "device", "list", "--tenant", "acme")
    assert listed["status"] == "revoked"


def test_policy_set_and_get(cli: CliRunner, acme: dict[str, Any]) -> None:
    bid, sid = acme["branch"]["branch_id"], acme["teller"]["service_id"]
    run(cli, "policy", "set", "--tenant", "acme", bid, '{"called_grace_seconds": 90}')
    run(cli, "policy", "set", "--tenant", "acme", bid, '{"priority_ratio": 5}', "--service", sid)
    got = run(cli, "policy", "get", "--tenant", "acme", bid, "--service", sid)
    assert got["called_grace_seconds"] == 90 and got["priority_ratio"] == 5
    branch_only = run(cli, "policy", "get", "--tenant", "acme", bid)
    assert branch_only["called_grace_seconds"] == 90 and branch_only["priority_ratio"] == 3  # the default
    bad = run(cli, "policy", "set", "--tenant", "acme", bid, "{not json", ok=False)
    assert "INVALID_POLICY" in bad.stderr


def test_token_issue_claims(cli: CliRunner, acme: dict[str, Any]) -> None:
    bid = acme["branch"]["branch_id"]
    user = run(cli, "user", "create", "--tenant", "acme", "ana@acme.test", "Ana", "agent", "--branch", bid)
    result = cli.invoke(app, ["token", "issue", "--tenant", "acme", "--role", "agent", "--ttl", "600"])
    assert result.exit_code == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["role"] == "qms_agent"
    assert claims["tenant_id"] == acme["tenant"]["tenant_id"]
    assert claims["sub"] == user["user_id"] and claims["tv"] == 0
    assert claims["branch_ids"] == [bid]
    assert 595 <= claims["exp"] - int(time.time()) <= 600 and claims["exp"] - claims["iat"] == 600
    # an explicit subject (full role name) and branch scope
    out = run(
        cli, "token", "issue", "--tenant", "acme", "--role", "qms_agent", "--branch", bid, "--sub", "ana@acme.test",
        "--json",
    )  # fmt: skip
    assert out["claims"]["role"] == "qms_agent" and out["claims"]["sub"] == user["user_id"]
    assert jwt.decode(out["token"], SECRET, algorithms=["HS256"])["branch_ids"] == [bid]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(out["token"], "another-secret-" + "y" * 40, algorithms=["HS256"])
    nobody = run(cli, "token", "issue", "--tenant", "acme", "--role", "supervisor", ok=False)
    assert "USER_NOT_FOUND" in nobody.stderr
    mismatch = run(cli, "token", "issue", "--tenant", "acme", "--role", "admin", "--sub", "ana@acme.test", ok=False)
    assert "ROLE_MISMATCH" in mismatch.stderr
    bad = run(cli, "token", "issue", "--tenant", "acme", "--role", "root", ok=False)
    assert "unknown role" in bad.stderr


def test_bad_input_exits_1_with_reason_and_creates_nothing(cli: CliRunner, acme: dict[str, Any], db_url: str) -> None:
    before = count(db_url, "branches"), count(db_url, "audit.log")
    bad = run(cli, "branch", "create", "--tenant", "acme", "Nowhere", "--timezone", "Mars/Olympus", ok=False)
    assert "INVALID_TIMEZONE" in bad.stderr and "PT400" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and bad.stdout == ""
    assert (count(db_url, "branches"), count(db_url, "audit.log")) == before
    dup = run(cli, "tenant", "create", "Again", "acme", ok=False)
    assert "TENANT_EXISTS" in dup.stderr
    unknown = run(cli, "branch", "list", "--tenant", "nope", ok=False)
    assert "TENANT_NOT_FOUND" in unknown.stderr
    # a counter naming a service of no branch: nothing created, the transaction rolled back
    n = count(db_url, "counters")
    missing = "00000000-0000-4000-8000-000000000000"
    run(cli, "counter", "create", "--tenant", "acme", acme["branch"]["branch_id"], "C9", "--service", missing, ok=False)
    assert count(db_url, "counters") == n


def test_backup_and_restore_round_trip(
    cli: CliRunner,
    acme: dict[str, Any],
    db_url: str,
    test_dbs: testing.TestDatabases,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dump = tmp_path / "qms.dump"
    out = run(cli, "db", "backup", str(dump))
    assert out["bytes"] > 0 and dump.exists()
    # changes after the backup disappear when restoring over the same database
    run(cli, "tenant", "create", "Later", "later-co")
    run(cli, "db", "restore", str(dump))
    assert [t["slug"] for t in run(cli, "tenant", "list")] == ["acme"]
    # and an empty database receives everything, working api functions included
    with psycopg.connect(test_dbs.admin_url(), autocommit=True) as conn:
        conn.execute("create database restore_target")
    target = test_dbs.cluster.url("restore_target")
    try:
        monkeypatch.setenv("QMS_DATABASE_URL", target)
        run(cli, "db", "restore", str(dump))
        assert [b["name"] for b in run(cli, "branch", "list", "--tenant", "acme")] == ["Acme Central"]
        counters = run(cli, "counter", "list", "--tenant", "acme")
        assert counters[0]["counter_id"] == acme["counter"]["counter_id"]
        run(cli, "branch", "create", "--tenant", "acme", "Second")
        bad = run(cli, "db", "restore", str(tmp_path / "missing.dump"), ok=False)
        assert "no such backup file" in bad.stderr
    finally:
        with psycopg.connect(test_dbs.admin_url(), autocommit=True) as conn:
            conn.execute("drop database if exists restore_target with (force)")


@pytest.mark.parametrize("role", ["worker", "qms_worker"])
def test_token_issue_refuses_a_worker_token_and_says_why(cli: CliRunner, acme: dict[str, Any], role: str) -> None:
    bad = run(cli, "token", "issue", "--tenant", "acme", "--role", role, "--sub", "w1", ok=False)
    assert bad.stdout == ""
    assert "qms_worker" in bad.stderr and "not served over HTTP" in bad.stderr
    assert "inside the system" in bad.stderr


def test_device_token_prints_the_token_and_the_start_page(cli: CliRunner, acme: dict[str, Any], db_url: str) -> None:
    bid = acme["branch"]["branch_id"]
    area = run(cli, "area", "create", "--tenant", "acme", bid, "Hall")
    kiosk = run(cli, "device", "create", "--tenant", "acme", bid, "kiosk", "Kiosk 1")
    display = run(cli, "device", "create", "--tenant", "acme", bid, "display", "Board", "--area", area["area_id"])
    audited = count(db_url, "audit.log")
    out = run(cli, "device", "token", "--tenant", "acme", kiosk["device_id"], "--ttl", "3600")
    assert out["url"] == f"/apps/kiosk/#token={out['token']}" and out["kind"] == "kiosk"
    claims = jwt.decode(out["token"], SECRET, algorithms=["HS256"])
    assert claims["role"] == "qms_device" and claims["sub"] == kiosk["device_id"]
    assert claims["tenant_id"] == acme["tenant"]["tenant_id"] and claims["branch_ids"] == [bid]
    assert claims["kind"] == "kiosk" and claims["tv"] == 0 and "area_id" not in claims
    assert claims["exp"] - claims["iat"] == 3600
    # issuing is audited, as over HTTP (api.auth_device_token_claims)
    assert count(db_url, "audit.log") == audited + 1
    base = "http://127.0.0.1:8000/"
    shown = run(cli, "device", "token", "--tenant", "acme", display["device_id"], "--base-url", base)
    assert shown["url"] == f"http://127.0.0.1:8000/apps/display/#token={shown['token']}"
    assert jwt.decode(shown["token"], SECRET, algorithms=["HS256"])["area_id"] == area["area_id"]
    # `token issue --role device` takes the same path
    issued = run(cli, "token", "issue", "--tenant", "acme", "--role", "device", "--sub", kiosk["device_id"], "--json")
    assert {k: issued["claims"][k] for k in ("sub", "kind", "tv", "branch_ids")} == {
        "sub": kiosk["device_id"], "kind": "kiosk", "tv": 0, "branch_ids": [bid]
    }  # fmt: skip
    first = run(cli, "token", "issue", "--tenant", "acme", "--role", "device", "--json")
    assert first["claims"]["sub"] == kiosk["device_id"]  # the earliest active device
    # a revoked device gets no token (its token_version moved on, too)
    run(cli, "device", "revoke", "--tenant", "acme", kiosk["device_id"])
    revoked = run(cli, "device", "token", "--tenant", "acme", kiosk["device_id"], ok=False)
    assert "DEVICE_REVOKED (PT409)" in revoked.stderr and revoked.stdout == ""
    unknown = run(cli, "device", "token", "--tenant", "acme", "00000000-0000-4000-8000-000000000000", ok=False)
    assert "DEVICE_NOT_FOUND (PT404)" in unknown.stderr
