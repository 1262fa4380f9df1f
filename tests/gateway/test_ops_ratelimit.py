"""Rate limits (429 RATE_LIMITED with Retry-After), health, readiness, metrics and JSON access logs."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qms import testing
from tests.gateway.gwkit import Gateway, login, make_tenant, sample_value, scrape, start_gateway, stop_gateway


@pytest.fixture
def limited(test_dbs: testing.TestDatabases, tmp_path: Path) -> Iterator[Gateway]:
    with test_dbs.database() as url:
        gw = start_gateway(url, tmp_path, QMS_RATE_LIMIT_PER_IP="8", QMS_RATE_LIMIT_PER_TENANT="4")
        try:
            yield gw
        finally:
            stop_gateway(gw)


def test_rate_limits_per_ip_and_per_tenant(limited: Gateway) -> None:
    one, two = make_tenant(limited.db_url), make_tenant(limited.db_url)
    token_one = login(limited, one)["access_token"]  # 1 request of the IP's 8
    with limited.client(token_one) as c:
        statuses = [c.post("/rpc/auth_whoami", json={}).status_code for _ in range(5)]
    # The tenant's bucket (4) runs out before the IP's.
    assert statuses[:4] == [200] * 4 and statuses[4] == 429
    with limited.client(token_one) as c:
        r = c.post("/rpc/auth_whoami", json={})
    body = r.json()
    assert r.status_code == 429 and body["code"] == "RATE_LIMITED" and int(r.headers["retry-after"]) >= 1
    assert body["request_id"] == r.headers["x-request-id"]
    # Health endpoints are never limited; another request from the same IP soon exhausts the IP bucket.
    assert httpx.get(limited.url + "/healthz").status_code == 200
    seen = {httpx.post(limited.url + "/rpc/auth_whoami", json={}).status_code for _ in range(6)}
    assert 429 in seen
    # The X-Forwarded-For of an untrusted peer is ignored: a new address in it does not escape the limit.
    r = httpx.post(limited.url + "/rpc/auth_whoami", json={}, headers={"X-Forwarded-For": "203.0.113.77"})
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
    assert two.tenant_id  # a second tenant exists; its own bucket is separate (tested by unit below)


def test_token_bucket_refills() -> None:
    from gateway.ratelimit import RateLimiter

    limiter = RateLimiter(60)  # one per second, bursts of 60
    assert all(limiter.take("k", now=0.0) == 0 for _ in range(60))
    assert limiter.take("k", now=0.0) > 0
    assert limiter.take("other", now=0.0) == 0
    assert limiter.take("k", now=1.01) == 0
    assert RateLimiter(0).take("k") == 0  # disabled


def test_health_ready_metrics_and_logs(gateway: Gateway) -> None:
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["database"] is True and ready.json()["listen"] is True
    t = make_tenant(gateway.db_url)
    token = login(gateway, t)["access_token"]
    r = gateway.client(token).post("/rpc/no_such_fn", json={})
    assert r.status_code == 404 and r.json()["code"] == "UNKNOWN_FUNCTION"
    text = httpx.get(gateway.url + "/metrics").text
    for name in (
        "qms_http_request_duration_seconds_bucket",
        "qms_http_errors_total",
        "qms_realtime_connections",
        "qms_pg_notification_queue_usage",
        "qms_db_pool_in_use",
        "qms_listen_connection_up 1.0",
        'qms_http_errors_total{code="UNKNOWN_FUNCTION",status="404"}',
    ):
        assert name in text, name
    time.sleep(0.2)
    lines = [json.loads(line) for line in gateway.logs().splitlines() if line.startswith("{")]
    mine = [entry for entry in lines if entry.get("request_id") == r.headers["x-request-id"]]
    assert mine and mine[0]["status"] == 404 and mine[0]["tenant"] == t.tenant_id and "latency_ms" in mine[0]


def test_worker_count_setting_and_per_worker_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms up` starts QMS_GATEWAY_WORKERS uvicorn workers (default min(2, CPUs)) and tells them the count; each
    worker's in-memory buckets then hold 1/N of the configured limit (0 = off stays off)."""
    from gateway.config import Settings
    from gateway.middleware import Envelope
    from qms import up

    monkeypatch.setattr(up.os, "cpu_count", lambda: 8)
    assert up.gateway_workers({}) == 2
    monkeypatch.setattr(up.os, "cpu_count", lambda: 1)
    assert up.gateway_workers({}) == 1
    assert up.gateway_workers({"QMS_GATEWAY_WORKERS": "3"}) == 3
    assert up.gateway_workers({"QMS_GATEWAY_WORKERS": "0"}) == 1
    spec = up.gateway_child("postgresql://x/db", "s" * 40, "127.0.0.1", 8000, {"QMS_GATEWAY_WORKERS": "3"})
    assert spec.argv[spec.argv.index("--workers") + 1] == "3" and spec.env["QMS_GATEWAY_WORKERS"] == "3"
    assert spec.argv[spec.argv.index("--ws-per-message-deflate") + 1] == "false"
    assert spec.env["PROMETHEUS_MULTIPROC_DIR"] == str(Path(".qms") / "run" / "metrics")
    from gateway.config import default_pool_max

    assert default_pool_max(2, cpus=2) == 4 and default_pool_max(1, cpus=2) == 8 and default_pool_max(2, cpus=6) == 12
    assert default_pool_max(8, cpus=1) == 4 and default_pool_max(1, cpus=64) == 20  # four to twenty per worker
    one = up.gateway_child("postgresql://x/db", "s" * 40, "127.0.0.1", 8000, {"QMS_GATEWAY_WORKERS": "1"})
    assert "PROMETHEUS_MULTIPROC_DIR" not in one.env  # one worker: plain in-process metrics

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("not called")

    settings = Settings("postgresql://x/db", "s" * 40, rate_limit_per_ip=1200, rate_limit_per_tenant=0)
    one, three = Envelope(app, settings, workers=1), Envelope(app, settings, workers=3)
    assert one.per_ip.capacity == 1200 and three.per_ip.capacity == 400
    assert not three.per_tenant.enabled
    monkeypatch.setenv("QMS_JWT_SECRET", "s" * 40)
    monkeypatch.setenv("QMS_DATABASE_URL", "postgresql://x/db")
    monkeypatch.setenv("QMS_GATEWAY_WORKERS", "2")
    assert Settings.from_env().workers == 2


def test_metrics_add_up_over_workers(gw_db: str, tmp_path: Path) -> None:
    """Two workers: every scrape, whichever worker answers it, counts the requests of both."""
    mp = tmp_path / "metrics"
    mp.mkdir()
    gw = start_gateway(gw_db, tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(mp))
    try:
        n = 60
        for _ in range(n):  # a new connection each time, so both workers take some
            assert httpx.get(gw.url + "/healthz").status_code == 200
        assert len({f.stem.rsplit("_", 1)[1] for f in mp.glob("histogram_*.db")}) == 2, "one worker took all"
        healthz = {"method": "GET", "route": "/healthz", "status": "200"}
        for _ in range(6):
            _, samples = scrape(gw.url)
            assert sample_value(samples, "qms_http_request_duration_seconds_count", **healthz) == n
            assert [x.value for x in samples if x.name == "qms_listen_connection_up"] == [1.0]
            assert (sample_value(samples, "qms_db_pool_connections") or 0) >= 2  # both workers' pools
    finally:
        stop_gateway(gw)


def test_metrics_forget_dead_workers(tmp_path: Path) -> None:
    """A gone worker's live gauges leave the totals; its counters and histograms stay."""
    import subprocess
    import sys

    from gateway import metrics

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    files = [f"gauge_livesum_{dead.pid}.db", f"gauge_livemax_{dead.pid}.db", f"counter_{dead.pid}.db"]
    files.append(f"gauge_livesum_{os.getpid()}.db")
    for name in files:
        (tmp_path / name).write_bytes(b"")
    assert metrics.forget_dead_processes(str(tmp_path)) == 1
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted([files[2], files[3]])
    assert metrics.forget_dead_processes(None) == 0
