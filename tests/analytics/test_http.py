"""The analytics REST routes through a real gateway process: KPI JSON, the streamed CSV export (stable header,
branch-time timestamps, every ticket of the filter) and their errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from gateway.auth import ALGORITHM
from gateway.routes.analytics import EXPORT_COLUMNS
from tests.analytics import day
from tests.engine_fixtures import connect_as
from tests.gateway.gwkit import SECRET, Gateway, start_gateway, stop_gateway


def token(claims: dict[str, Any]) -> str:
    """An access token as the gateway signs them (no tv: valid while the tenant is active)."""
    return jwt.encode({**claims, "exp": int(time.time()) + 600}, SECRET, algorithm=ALGORITHM)


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[day.World, Gateway]]:
    world = day.build(db_url)
    gw = start_gateway(db_url, tmp_path)
    try:
        yield world, gw
    finally:
        stop_gateway(gw)


def test_kpi_and_csv_export_over_http(db_url: str, served: tuple[day.World, Gateway]) -> None:
    world, gw = served
    today = dt.datetime.now(dt.UTC).date()
    params = {"from_date": str(world.timed_day), "to_date": str(today + dt.timedelta(days=1))}
    analyst = world.claims("qms_analyst")
    with httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {token(analyst)}"}, timeout=30) as c:
        r = c.get("/api/analytics/kpi", params={**params, "granularity": "hour"})
        assert r.status_code == 200, r.text
        with connect_as(db_url, "qms_analyst", analyst) as conn:
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
        facts = [f for f in day.ticket_facts(db_url, world.tenant_a) if f["branch_id"] == ny.branch_id]
        body = [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows[1:]]
        assert sorted(b["ticket_id"] for b in body) == sorted(str(f["ticket_id"]) for f in facts)
        for b in body:
            created = dt.datetime.fromisoformat(b["created_at"])
            offset = created.utcoffset()
            assert offset in (dt.timedelta(hours=-5), dt.timedelta(hours=-4))
            assert b["timezone"] == "America/New_York" and b["transferred"] in ("true", "false")

        r = c.get("/api/analytics/kpi", params={**params, "granularity": "minute"})
        assert r.status_code == 400 and r.json()["code"] == "INVALID_GRANULARITY"
        r = c.get("/api/analytics/export", params={"from_date": params["to_date"], "to_date": params["from_date"]})
        assert r.status_code == 400 and r.json()["code"] == "INVALID_RANGE"

    other = token(world.claims("qms_analyst", tenant="b"))
    with httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {other}"}, timeout=30) as c:
        r = c.get("/api/analytics/export", params={**params, "branch_id": str(ny.branch_id)})
        assert r.status_code == 404 and r.json()["code"] == "BRANCH_NOT_FOUND"
        rows = list(csv.reader(io.StringIO(c.get("/api/analytics/export", params=params).text)))
        berlin = {str(f["ticket_id"]) for f in day.ticket_facts(db_url, world.tenant_b)}
        assert {row[0] for row in rows[1:]} == berlin
    agent = token(world.claims("qms_agent", "jakarta"))
    r = httpx.get(gw.url + "/api/analytics/kpi", params=params, headers={"Authorization": f"Bearer {agent}"})
    assert r.status_code == 403
