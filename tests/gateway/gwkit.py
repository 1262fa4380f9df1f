"""Helpers of the gateway tests: a real gateway (uvicorn in a subprocess, loopback port) against a real database cloned from the
migrated template, plus helpers to seed tenants, users and devices as the owner."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from argon2 import PasswordHasher
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from qms.apicall import call_api

ROOT = Path(__file__).resolve().parents[2]
SECRET = secrets.token_urlsafe(48)
PASSWORD = "correct horse battery staple"
_hasher = PasswordHasher()
PASSWORD_HASH = _hasher.hash(PASSWORD)

# Test-only api functions (created in the test database, never in sql/): they give the error mapping and
# argument binding something stable to call while the real api functions evolve.
TEST_FUNCTIONS = """
create or replace function api.test_echo(p_int integer, p_uuid uuid default null, p_tags text[] default null,
                                         p_doc jsonb default null, p_flag boolean default null,
                                         p_text text default null)
    returns jsonb language sql stable
as $$ select jsonb_build_object('p_int', p_int, 'p_uuid', p_uuid, 'p_tags', to_jsonb(p_tags), 'p_doc', p_doc,
                                'p_flag', p_flag, 'p_text', p_text, 'role', current_user,
                                'tenant', qms.current_tenant_id(),
                                'ip', qms.request_header('x-forwarded-for'),
                                'ua', qms.request_header('user-agent'),
                                'rid', current_setting('request.id', true)) $$;
create or replace function api.test_raise(p_state text, p_detail text default null)
    returns jsonb language plpgsql volatile
as $$ begin
    if p_state like 'PT%' then
        raise exception 'raised for a test' using errcode = p_state, detail = coalesce(p_detail, 'TEST_REASON'),
            hint = 'a test hint';
    elsif p_state = 'P0001' then
        raise exception 'bare exception';
    else
        raise exception 'internal detail: select secret from table' using errcode = p_state;
    end if;
end $$;
create or replace function api.test_rows(p_n integer) returns table (n integer, sq integer)
    language sql stable as $$ select g, g * g from generate_series(1, p_n) g $$;
create sequence if not exists public.test_flaky_seq;
grant usage on sequence public.test_flaky_seq to qms_anon, qms_agent, qms_admin;
grant usage on schema public to qms_anon, qms_agent, qms_admin;
-- Fails with a serialization failure on two calls out of three (nextval survives the rollback).
create or replace function api.test_flaky() returns bigint language plpgsql volatile
as $$ declare v bigint := nextval('public.test_flaky_seq'); begin
    if v % 3 <> 0 then raise exception 'conflict' using errcode = '40001'; end if;
    return v;
end $$;
create or replace function api.test_void() returns void language sql volatile as $$ select $$;
create or replace function api.test_admin_only() returns text language sql stable as $$ select 'ok' $$;
create or replace function api.test_sleep(p_seconds float8) returns text language sql volatile
    as $$ select pg_sleep(p_seconds)::text $$;
grant execute on function api.test_echo(integer, uuid, text[], jsonb, boolean, text), api.test_raise(text, text),
    api.test_rows(integer), api.test_void(), api.test_flaky(), api.test_sleep(float8)
    to qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_analyst, qms_worker;
revoke all on function api.test_admin_only() from public;
grant execute on function api.test_admin_only() to qms_admin;
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Gateway:
    url: str
    db_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/realtime"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_gateway(db_url: str, tmp: Path, *, workers: int = 1, **env: str) -> Gateway:
    port = free_port()
    log_path = tmp / f"gateway-{port}.log"
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QMS_", "PG"))},
        "QMS_DATABASE_URL": db_url,
        "QMS_JWT_SECRET": SECRET,
        "QMS_REALTIME_RECHECK_SECONDS": "2",
        "QMS_RATE_LIMIT_PER_IP": "100000",
        "QMS_RATE_LIMIT_PER_TENANT": "100000",
        **env,
    }
    with log_path.open("wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "gateway.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                # The gateway resolves X-Forwarded-For itself (QMS_TRUSTED_PROXIES); uvicorn's own handling,
                # which believes loopback peers, is off as under `qms up`.
                "--no-proxy-headers",
                *(["--workers", str(workers)] if workers > 1 else []),
            ],
            cwd=ROOT,
            env=full_env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    gw = Gateway(f"http://127.0.0.1:{port}", db_url, proc, log_path)
    deadline = time.monotonic() + 90  # several workers on a busy machine take a while
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited ({proc.returncode}):\n{gw.logs()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(gw.url + "/readyz", timeout=1).status_code == 200:
                return gw
        time.sleep(0.1)
    stop_gateway(gw)
    raise RuntimeError(f"gateway not ready:\n{gw.logs()[-3000:]}")


def stop_gateway(gw: Gateway) -> None:
    gw.proc.terminate()
    try:
        gw.proc.wait(10)
    except subprocess.TimeoutExpired:
        gw.proc.kill()
        gw.proc.wait(5)


@dataclass
class Tenant:
    """A tenant seeded through the api (tests.add_* fixtures): two branches, users per role (password
    PASSWORD) and helpers."""

    db_url: str
    tenant_id: str
    slug: str
    branch_id: str
    other_branch_id: str
    users: dict[str, str] = field(default_factory=dict)  # role -> user_id
    emails: dict[str, str] = field(default_factory=dict)

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            cur = conn.execute(query.encode() if params is None else query, params)
            return cur.fetchall() if cur.description else []

    def api(self, fn: str, **args: Any) -> Any:
        """api.<fn> as a tenant-wide admin of this tenant (qms.apicall.call_api), straight on the database."""
        claims = {"role": "qms_admin", "tenant_id": self.tenant_id, "sub": self.users.get("admin", "fixture-admin")}
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            return call_api(conn, fn, claims, **args)

    def change_password(self, user_id: str) -> None:
        """A password change (qms.set_user_password_hash, as the CLI does): bumps token_version."""
        self.sql("select qms.set_user_password_hash(%s, %s, %s)", (self.tenant_id, user_id, PASSWORD_HASH))

    def add_user(self, role: str, branch_ids: list[str] | None = None, email: str | None = None) -> str:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        rows = self.sql("select tests.add_user(%s, %s, %s, %s)", (self.tenant_id, email, role, branch_ids))
        user_id = str(rows[0][0])
        self.sql("select qms.set_user_password_hash(%s, %s, %s)", (self.tenant_id, user_id, PASSWORD_HASH))
        self.users.setdefault(role, user_id)
        self.emails[user_id] = email
        return user_id

    def add_device(self, kind: str = "display", area_id: str | None = None) -> str:
        rows = self.sql(
            "select tests.add_device(%s, %s, %s, %s, %s)",
            (self.tenant_id, self.branch_id, kind, f"dev-{uuid.uuid4().hex[:8]}", area_id),
        )
        return str(rows[0][0])

    def add_counter(self, branch_id: str | None = None) -> str:
        """An available counter without services."""
        rows = self.sql(
            "select tests.add_counter(%s, %s, %s, null)",
            (self.tenant_id, branch_id or self.branch_id, f"C-{uuid.uuid4().hex[:6]}"),
        )
        return str(rows[0][0])


def make_tenant(db_url: str) -> Tenant:
    slug = f"t-{uuid.uuid4().hex[:10]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        tenant_id = str(conn.execute("select qms.create_tenant(%s, %s)", (slug.upper(), slug)).fetchone()[0])  # type: ignore[index]
        branches = []
        for name in ("Main", "Second"):
            row = conn.execute("select tests.add_branch(%s, %s)", (tenant_id, name)).fetchone()
            assert row is not None
            branches.append(str(row[0]))
    t = Tenant(db_url, tenant_id, slug, branches[0], branches[1])
    t.add_user("admin")
    t.add_user("agent", [t.branch_id])
    t.add_user("supervisor", [t.branch_id])
    return t


def login(gw: Gateway, t: Tenant, role: str = "admin", user_id: str | None = None) -> dict[str, Any]:
    user_id = user_id or t.users[role]
    r = httpx.post(
        gw.url + "/auth/login", json={"tenant": t.slug, "email": t.emails[user_id], "password": PASSWORD}, timeout=30
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def notify(db_url: str, payload: dict[str, Any] | str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "select pg_notify('qms_events', %s)", (payload if isinstance(payload, str) else json.dumps(payload),)
        )


def scrape(base: str) -> tuple[set[str], list[Sample]]:
    """One ``/metrics`` scrape, read with prometheus_client's parser: the declared metric family names
    (counters without their ``_total``) and every sample."""
    families = list(text_string_to_metric_families(httpx.get(base + "/metrics", timeout=10).text))
    return {f.name for f in families}, [s for f in families for s in f.samples]


def sample_value(samples: list[Sample], name: str, **labels: str) -> float | None:
    """The value of the sample with exactly this name and these labels, None when there is none."""
    return next((s.value for s in samples if s.name == name and s.labels == labels), None)
