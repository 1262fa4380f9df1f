"""The analytics surfaces outside SQL, as processes: the gateway's KPI and CSV routes, the per-tenant SQLite
snapshots (equal to the views, no PII column, refreshed incrementally) and Datasette behind the gateway at
/analytics/ (canned queries as JSON and CSV for the right tenant, 403 for another tenant's database)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import psycopg
import pytest
from psycopg.rows import dict_row

from dashboards.serve import datasette_argv
from gateway.auth import ALGORITHM
from qms.analytics_csv import KPI_COLUMNS
from qms.analytics_csv import TICKET_COLUMNS as EXPORT_COLUMNS
from tests.analytics import day
from tests.engine_fixtures import connect_as, make_claims, owner_rows
from tests.gateway.gwkit import SECRET, Gateway, start_gateway, stop_gateway
from workers import analytics_snapshot

if TYPE_CHECKING:
    from qms.testing import TestDatabases

PII_MARKERS = ("phone", "email", "contact", "display_name", "customer", "password")


def token(claims: dict[str, Any]) -> str:
    """An access token as the gateway signs them (no tv: valid while the tenant is active)."""
    return jwt.encode({**claims, "exp": int(time.time()) + 600}, SECRET, algorithm=ALGORITHM)


@dataclass
class Stack:
    db_url: str
    world: day.World
    snapshots: Path
    gateway: Gateway

    def client(self, claims: dict[str, Any]) -> httpx.Client:
        return httpx.Client(base_url=self.gateway.url, headers={"Authorization": f"Bearer {token(claims)}"}, timeout=30)

    def params(self) -> dict[str, str]:
        today = dt.datetime.now(dt.UTC).date()
        return {"from_date": str(self.world.timed_day), "to_date": str(today + dt.timedelta(days=1))}


def refresh(db_url: str, directory: Path) -> None:
    """Refresh the snapshots as the worker does, until they hold every event (the watermark lags one call)."""
    top = owner_rows(db_url, "select coalesce(max(seq), 0) as s from qms.ticket_events")[0]["s"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        for _ in range(10):
            analytics_snapshot.refresh(conn, directory)
            files = list(directory.glob("*.db"))
            if files and all(analytics_snapshot._last_seq(f) >= top for f in files):
                return
            time.sleep(0.05)
    raise AssertionError("the snapshot watermark did not reach the log's end")


@pytest.fixture(scope="module")
def stack(test_dbs: TestDatabases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("analytics")
    snapshots, sock = tmp / "snapshots", tmp / "datasette.sock"
    with test_dbs.database() as db_url:
        world = day.build(db_url)
        refresh(db_url, snapshots)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("QMS_", "PG"))},
            "QMS_DATABASE_URL": db_url,
            "QMS_JWT_SECRET": SECRET,
            "QMS_ANALYTICS_DIR": str(snapshots),
        }
        log = (tmp / "datasette.log").open("wb")
        datasette = subprocess.Popen(datasette_argv(socket=sock), env=env, stdout=log, stderr=subprocess.STDOUT)
        gw = start_gateway(db_url, tmp, QMS_DATASETTE_SOCKET=str(sock), QMS_BI_RATE_LIMIT="5")
        try:
            deadline = time.monotonic() + 30
            while not sock.exists() and time.monotonic() < deadline:
                assert datasette.poll() is None, (tmp / "datasette.log").read_text()
                time.sleep(0.1)
            yield Stack(db_url, world, snapshots, gw)
        finally:
            stop_gateway(gw)
            datasette.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                datasette.wait(10)
            datasette.kill()
            log.close()


def test_kpi_and_csv_export_over_http(stack: Stack) -> None:
    world, params = stack.world, stack.params()
    analyst = world.claims("qms_analyst")
    with stack.client(analyst) as c:
        r = c.get("/api/analytics/kpi", params={**params, "granularity": "hour"})
        assert r.status_code == 200, r.text
        with connect_as(stack.db_url, "qms_analyst", analyst) as conn:
            direct = conn.execute(
                "select api.kpi(from_date => %s, to_date => %s, granularity => 'hour') as r",
                (params["from_date"], params["to_date"]),
            ).fetchone()
        assert direct is not None and r.json() == direct["r"] and r.json()

        ny = world.branches["newyork"]
        r = c.get("/api/analytics/export", params={**params, "branch_id": str(ny.branch_id)})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text)))
        assert tuple(rows[0]) == EXPORT_COLUMNS
        facts = [f for f in day.ticket_facts(stack.db_url, world.tenant_a) if f["branch_id"] == ny.branch_id]
        body = [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows[1:]]
        assert sorted(b["ticket_id"] for b in body) == sorted(str(f["ticket_id"]) for f in facts)
        for b in body:
            offset = dt.datetime.fromisoformat(b["created_at"]).utcoffset()
            assert offset in (dt.timedelta(hours=-5), dt.timedelta(hours=-4))
            assert b["timezone"] == "America/New_York" and b["transferred"] in ("true", "false")

        r = c.get("/api/analytics/kpi", params={**params, "granularity": "minute"})
        assert r.status_code == 400 and r.json()["code"] == "INVALID_GRANULARITY"
        r = c.get("/api/analytics/export", params={"from_date": params["to_date"], "to_date": params["from_date"]})
        assert r.status_code == 400 and r.json()["code"] == "INVALID_RANGE"

    with stack.client(world.claims("qms_analyst", tenant="b")) as c:
        r = c.get("/api/analytics/export", params={**params, "branch_id": str(ny.branch_id)})
        assert r.status_code == 404 and r.json()["code"] == "BRANCH_NOT_FOUND"
        rows = list(csv.reader(io.StringIO(c.get("/api/analytics/export", params=params).text)))
        berlin = {str(f["ticket_id"]) for f in day.ticket_facts(stack.db_url, world.tenant_b)}
        assert {row[0] for row in rows[1:]} == berlin
    with stack.client(world.claims("qms_agent", "jakarta")) as c:
        assert c.get("/api/analytics/kpi", params=params).status_code == 403


def sqlite_rows(path: Path, query: str) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(query)]


HOUR_KEY = ("branch_id", "service_id", "priority_class", "channel", "counter_id")


def keyed(rows: list[dict[str, Any]], date: str, hour: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Hourly KPI rows by key (ids as text), with their sums."""
    return {
        (*(None if r[k] is None else str(r[k]) for k in HOUR_KEY), str(r[date]), int(r[hour])): (
            r["tickets"], r["served"], r["no_shows"], r["cancelled"], r["waited"], r["sla_met"],
            round(float(r["wait_seconds_sum"]), 3),
        )
        for r in rows
    }  # fmt: skip


def assert_snapshot_equals_the_views(db_url: str, path: Path, tenant: uuid.UUID) -> None:
    """A tenant's file holds the tickets of analytics.tickets and the rows of analytics.hourly_kpis."""
    tickets = {r["ticket_id"]: r for r in sqlite_rows(path, "select * from tickets")}
    view = owner_rows(db_url, "select * from analytics.tickets where tenant_id = %s", (tenant,))
    assert tickets.keys() == {str(v["ticket_id"]) for v in view}
    for v in view:
        s = tickets[str(v["ticket_id"])]
        assert (s["status"], s["outcome"], bool(s["transferred"])) == (v["status"], v["outcome"], v["transferred"])
        assert (s["service_id"], s["counter_id"]) == (str(v["service_id"]), v["counter_id"] and str(v["counter_id"]))
        assert s["local_date"] == v["bucket_hour"].date().isoformat() and s["local_hour"] == v["bucket_hour"].hour
        for name in ("wait_seconds", "service_seconds"):
            assert (s[name] is None) == (v[name] is None)
            if v[name] is not None:
                assert s[name] == pytest.approx(float(v[name]), abs=1e-6)
        assert dt.datetime.fromisoformat(s["created_at"]) == v["created_at"]
    hours = sqlite_rows(path, "select * from hourly_kpis")
    kpis = owner_rows(db_url, "select * from analytics.hourly_kpis where tenant_id = %s", (tenant,))
    for k in kpis:
        k["d"], k["h"] = k["bucket_hour"].date().isoformat(), k["bucket_hour"].hour
    assert len(hours) == len(kpis) and keyed(hours, "local_date", "local_hour") == keyed(kpis, "d", "h")


def sorted_dump(path: Path) -> list[str]:
    """Every row of a SQLite file as SQL text (values with their storage class), in a stable order."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return sorted(line for line in db.iterdump() if line.startswith("INSERT"))


def test_snapshot_equals_the_views_and_has_no_pii(stack: Stack) -> None:
    world = stack.world
    for tenant in (world.tenant_a, world.tenant_b):
        path = stack.snapshots / f"{tenant}.db"
        assert_snapshot_equals_the_views(stack.db_url, path, tenant)
        with contextlib.closing(sqlite3.connect(path)) as db:
            tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
            columns = [c[1] for t in tables for c in db.execute(f"pragma table_info({t})")]
            dump = "\n".join(db.iterdump())
        assert not [c for c in columns if any(m in c.lower() for m in PII_MARKERS)]
        assert "@" not in dump


def test_snapshot_refresh_is_incremental(stack: Stack) -> None:
    world = stack.world
    jakarta = world.branches["jakarta"]
    path = stack.snapshots / f"{world.tenant_a}.db"
    inode, before = path.stat().st_ino, analytics_snapshot._last_seq(path)
    with connect_as(stack.db_url, "qms_agent", world.claims("qms_agent", "jakarta")) as conn:
        row = conn.execute("select api.create_ticket(service_id => %s) as t", (jakarta.services[0],)).fetchone()
    assert row is not None
    refresh(stack.db_url, stack.snapshots)
    assert path.stat().st_ino == inode and analytics_snapshot._last_seq(path) > before
    got = sqlite_rows(path, f"select status from tickets where ticket_id = '{row['t']['ticket_id']}'")
    assert got == [{"status": "waiting"}]


def test_incremental_refresh_equals_the_views_and_a_full_build(stack: Stack) -> None:
    """Tickets already in the file change (a transfer moves one to another service's rows of its hour, a
    cancellation ends one): after the incremental refresh the file equals the views and, row for row and
    type for type, a file built from scratch at the same seq."""
    world = stack.world
    ny = world.branches["newyork"]
    path = stack.snapshots / f"{world.tenant_a}.db"
    inode, before = path.stat().st_ino, analytics_snapshot._last_seq(path)
    waiting = owner_rows(
        stack.db_url,
        "select ticket_id, service_id from qms.tickets where tenant_id = %s and branch_id = %s"
        " and status = 'waiting' order by created_at",
        (world.tenant_a, ny.branch_id),
    )
    assert len(waiting) >= 2
    act = "select api.ticket_action(ticket_id => %s, action => %s, target_service_id => %s)"
    moved, cancelled = waiting[0], waiting[1]
    other = next(s for s in ny.services if s != moved["service_id"])
    with connect_as(stack.db_url, "qms_supervisor", world.claims("qms_supervisor", "newyork")) as sup:
        sup.execute(act, (moved["ticket_id"], "transfer", other))
        sup.execute(act, (cancelled["ticket_id"], "cancel", None))
    refresh(stack.db_url, stack.snapshots)
    upto = analytics_snapshot._last_seq(path)
    assert path.stat().st_ino == inode and upto > before
    got = sqlite_rows(path, f"select ticket_id, service_id, status from tickets where last_seq > {before}")
    assert {(r["ticket_id"], r["service_id"], r["status"]) for r in got} >= {
        (str(moved["ticket_id"]), str(other), "waiting"),
        (str(cancelled["ticket_id"]), str(cancelled["service_id"]), "cancelled"),
    }
    assert_snapshot_equals_the_views(stack.db_url, path, world.tenant_a)

    fresh = stack.snapshots.parent / "fresh"
    fresh.mkdir()
    with psycopg.connect(stack.db_url, autocommit=True) as conn, conn.transaction():
        conn.execute("set transaction isolation level repeatable read, read only")
        conn.execute("set local role qms_worker")
        with conn.cursor(row_factory=dict_row) as cur:
            analytics_snapshot.refresh_tenant(cur, fresh, world.tenant_a, upto)
    assert sorted_dump(fresh / path.name) == sorted_dump(path)


def test_datasette_serves_each_tenant_only_its_own_database(stack: Stack) -> None:
    world, params = stack.world, stack.params()
    a, b = str(world.tenant_a), str(world.tenant_b)
    with stack.client(world.claims("qms_analyst")) as c:
        r = c.get(f"/analytics/{a}/kpis.json", params={**params, "_shape": "array"})
        assert r.status_code == 200, r.text
        rows = r.json()
        with connect_as(stack.db_url, "qms_analyst", world.claims("qms_analyst")) as conn:
            kpi = conn.execute(
                "select api.kpi(from_date => %(from_date)s, to_date => %(to_date)s) as r", params
            ).fetchone()
        assert kpi is not None
        want = {(k["bucket"], k["branch_id"], k["service_id"]): k for k in kpi["r"]}
        assert {(r["day"], r["branch_id"], r["service_id"]) for r in rows} == want.keys()
        for row in rows:
            k = want[(row["day"], row["branch_id"], row["service_id"])]
            assert (row["tickets"], row["served"], row["no_shows"]) == (k["tickets"], k["served"], k["no_shows"])
            if k["avg_wait_seconds"] is not None:
                assert row["avg_wait_seconds"] == pytest.approx(float(k["avg_wait_seconds"]), abs=2e-3)
        r = c.get(f"/analytics/{a}/kpis.csv", params=params)
        assert r.status_code == 200 and r.text.splitlines()[0].startswith("day,branch,service,branch_id,service_id")
        for query in ("sla_by_service", "hourly_heatmap", "no_show_trend", "counter_utilisation"):
            assert c.get(f"/analytics/{a}/{query}.json", params=params).status_code == 200, query
        r = c.get(f"/analytics/{a}.json", params={"sql": "select count(*) as n from tickets", "_shape": "array"})
        assert r.status_code == 200 and r.json()[0]["n"] > 0
        assert c.get(f"/analytics/{b}/kpis.json", params=params).status_code == 403
        assert c.get(f"/analytics/{b}.json", params={"sql": "select 1"}).status_code == 403
        assert c.get("/analytics/_memory.json", params={"sql": "select 1"}).status_code == 403
    # A tenant-wide admin reads the canned queries but may not run SQL; supervisors and strangers get nothing.
    with stack.client(world.claims("qms_admin")) as c:
        assert c.get(f"/analytics/{a}/kpis.json", params=params).status_code == 200
        assert c.get(f"/analytics/{a}.json", params={"sql": "select 1"}).status_code == 403
    with stack.client(world.claims("qms_supervisor", "jakarta")) as c:
        assert c.get(f"/analytics/{a}/kpis.json", params=params).status_code == 403
    assert httpx.get(f"{stack.gateway.url}/analytics/{a}/kpis.json", params=params).status_code == 403
    cookie = {"qms_token": token(make_claims("qms_analyst", world.tenant_b))}
    assert httpx.get(f"{stack.gateway.url}/analytics/{b}/kpis.csv", params=params, cookies=cookie).status_code == 200


def test_datasette_rechecks_token_revocation(stack: Stack) -> None:
    """A token still within its lifetime stops opening the dashboards once revoked, by the gateway's rule
    (qms.auth_token_valid): here the analyst's user account is disabled, then enabled again."""
    world, params = stack.world, stack.params()
    a = str(world.tenant_a)
    user = owner_rows(
        stack.db_url,
        "insert into qms.users (tenant_id, email, display_name, role) values (%s, 'dash@example.com', 'Dash',"
        " 'analyst') returning user_id, token_version",
        (world.tenant_a,),
    )[0]
    claims = {**world.claims("qms_analyst"), "sub": str(user["user_id"]), "tv": user["token_version"]}
    with stack.client(claims) as c:
        assert c.get(f"/analytics/{a}/kpis.json", params=params).status_code == 200
        owner_rows(
            stack.db_url, "update qms.users set is_active = false where user_id = %s returning 1", (user["user_id"],)
        )
        assert c.get(f"/analytics/{a}/kpis.json", params=params).status_code == 403
        owner_rows(
            stack.db_url,
            "update qms.users set is_active = true, token_version = token_version + 1 where user_id = %s returning 1",
            (user["user_id"],),
        )
        assert c.get(f"/analytics/{a}/kpis.json", params=params).status_code == 403  # an older token version


def test_bi_endpoint_is_tokenized_read_only_and_rate_limited(stack: Stack) -> None:
    world, params = stack.world, stack.params()
    with connect_as(stack.db_url, "qms_admin", world.claims("qms_admin")) as conn:
        issued = [conn.execute("select api.create_bi_token(name => %s) as t", (n,)).fetchone()["t"] for n in "ab"]
        conn.execute("select api.revoke_bi_token(token_id => %s)", (issued[1]["token_id"],))
        listed = conn.execute("select api.list_bi_tokens() as l").fetchone()["l"]
        kpi = conn.execute("select api.kpi(from_date => %(from_date)s, to_date => %(to_date)s) as r", params).fetchone()
    assert "token" not in json.dumps(listed).replace("token_id", "") and len(listed) == 2
    url = f"{stack.gateway.url}/api/analytics/bi/kpi"
    good, revoked = issued[0]["token"], issued[1]["token"]
    r = httpx.get(url, params={**params, "token": good})
    assert r.status_code == 200 and r.json() == kpi["r"] and r.json()
    r = httpx.get(url, params={**params, "format": "csv"}, headers={"X-BI-Token": good})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == KPI_COLUMNS and sum(int(x["tickets"]) for x in rows) == sum(k["tickets"] for k in kpi["r"])
    for bad in (revoked, good[:-2] + "zz", "nonsense"):
        r = httpx.get(url, params={**params, "token": bad})
        assert r.status_code == 401 and r.json()["code"] == "INVALID_BI_TOKEN"
    # A BI token reads KPIs only: it is no access token, and its tenant is the token's.
    assert (
        httpx.get(
            f"{stack.gateway.url}/rpc/kpi", params=params, headers={"Authorization": f"Bearer {good}"}
        ).status_code
        == 401
    )
    answers = [httpx.get(url, params={**params, "token": good}) for _ in range(5)]
    assert answers[0].status_code == 200 and answers[-1].status_code == 429
    assert answers[-1].json()["code"] == "RATE_LIMITED" and int(answers[-1].headers["retry-after"]) >= 1


def test_canned_query_charts_render_offline_in_a_browser(stack: Stack) -> None:
    """Each canned query's chart link (datasette-vega) draws a Vega chart from the query's rows in headless
    Chromium, through the gateway, with every request on the gateway's own origin (no CDN)."""
    from playwright.sync_api import expect, sync_playwright

    from tests.apps.conftest import CHROMIUM, CHROMIUM_ARGS

    world, params = stack.world, stack.params()
    a = str(world.tenant_a)
    origins: set[str] = set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context()
            ctx.add_cookies(
                [{"name": "qms_token", "value": token(world.claims("qms_analyst")), "url": stack.gateway.url}]
            )
            page = ctx.new_page()
            page.on("request", lambda r: origins.add("/".join(r.url.split("/")[:3])))
            for query in ("kpis", "sla_by_service", "hourly_heatmap", "no_show_trend", "counter_utilisation"):
                page.goto(f"{stack.gateway.url}/analytics/{a}/{query}")
                link = page.locator("a.qms-chart")
                fragment = (link.get_attribute("href") or "").split("#", 1)[1]
                page.goto(
                    f"{stack.gateway.url}/analytics/{a}/{query}?from_date={params['from_date']}"
                    f"&to_date={params['to_date']}#{fragment}"
                )
                hrefs = page.eval_on_selector_all(".export-links a", "els => els.map(e => e.getAttribute('href'))")
                assert hrefs and all(h.startswith(f"/analytics/{a}/{query}.") for h in hrefs), hrefs
                expect(page.locator(".vega-embed canvas, .vega-embed svg").first).to_be_visible(timeout=15_000)
        finally:
            browser.close()
    assert origins == {stack.gateway.url}
