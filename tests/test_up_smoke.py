"""End to end, as a user starts it: ``qms up`` on a fresh data dir (embedded PostgreSQL, migrations, demo
tenant, gateway), a demo agent logs in, creates and calls a ticket over HTTP, sees its events; SIGINT then
stops everything and no process of that run is left."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from qms.pg import Cluster, free_port
from qms.up import ChildSpec, Supervisor
from tests.gateway.gwkit import scrape

START_TIMEOUT = 240.0


QMS = Path(sys.executable).with_name("qms")  # the installed entry point, as a user runs it


def _processes() -> dict[int, str]:
    """pid -> command line of every process on the machine."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            if cmd:
                found[int(entry.name)] = cmd
    return found


def _left_behind(port: int, pg_port: int, server_dir: Path) -> dict[int, str]:
    """Processes that belong to this run: the gateway on its port, the relay and workers on our database, postgres of
    our cluster."""
    mine: dict[int, str] = {}
    for pid, cmd in _processes().items():
        gateway = "gateway.app:create_app" in cmd and f"--port {port}" in cmd
        relay = ("qms.relay" in cmd or "-m workers" in cmd) and f":{pg_port}/" in cmd
        postgres = "postgres" in cmd and str(server_dir) in cmd
        if gateway or relay or postgres:
            mine[pid] = cmd
    return mine


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"qms up exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"no /healthz within {START_TIMEOUT}s:\n{log.read_text()[-4000:]}")


def _rpc(base: str, token: str, fn: str, args: dict[str, Any]) -> Any:
    resp = httpx.post(f"{base}/rpc/{fn}", json=args, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert resp.status_code == 200, f"{fn}: {resp.status_code} {resp.text}"
    return resp.json()


class SseReader(threading.Thread):
    """Collects the JSON ``data:`` frames of a Server-Sent Events stream."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.events: list[dict[str, Any]] = []
        self.opened = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, timeout=httpx.Timeout(5, read=60)) as resp:
                if resp.status_code != 200:
                    self.error = f"{resp.status_code} {resp.read().decode()}"
                    return
                self.opened.set()
                for line in resp.iter_lines():
                    if line.startswith("data:"):
                        with contextlib.suppress(ValueError):
                            self.events.append(json.loads(line[5:]))
        except httpx.HTTPError as exc:
            self.error = self.error or repr(exc)
        finally:
            self.opened.set()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if predicate(event):
                    return event
            time.sleep(0.1)
        return None


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QMS_", "PG"))}
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(QMS), "up", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _interrupt(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _wait_log(log: Path, text: str, start: int = 0, timeout: float = 20) -> str:
    """The log from ``start`` once it contains ``text`` (the banner follows qms up's own health check)."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text()[start:] and time.monotonic() < deadline:
        time.sleep(0.2)
    found = log.read_text()[start:]
    assert text in found, found[-3000:]
    return found


def _login(base: str, who: dict[str, str]) -> str:
    resp = httpx.post(
        f"{base}/auth/login", json={"tenant": "demo", "email": who["email"], "password": who["password"]}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def test_qms_up_serves_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "qms-data"
    port = free_port(18000 + os.getpid() % 2000)
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "up.log"
    proc = _start(data_dir, port, log)
    cluster: Cluster | None = None
    left: dict[int, str] = {}
    still_running = True
    try:
        _wait_healthy(proc, base, log)
        cluster = Cluster(data_dir)
        secret = data_dir / "secret"
        assert secret.exists() and secret.stat().st_mode & 0o777 == 0o600

        demo = json.loads((data_dir / "demo.json").read_text())
        agent = next(x for x in demo["logins"] if x["role"] == "agent")
        token = _login(base, agent)
        teller = demo["services"]["Teller"]
        topic = f"branch:{demo['branch_id']}:service:{teller}"
        sse = SseReader(f"{base}/realtime/sse?topics={topic}&token={token}")
        sse.start()
        assert sse.opened.wait(15) and sse.error is None, sse.error

        ticket = _rpc(base, token, "create_ticket", {"service_id": teller})
        assert ticket["status"] == "waiting" and ticket["ticket_number"].startswith("A")
        called = _rpc(base, token, "call_next", {"counter_id": demo["counters"]["Counter 1"]})
        assert called["ticket"]["ticket_id"] == ticket["ticket_id"] and called["ticket"]["status"] == "called"
        events = _rpc(base, token, "ticket_events", {"ticket_id": ticket["ticket_id"]})
        assert [e["type"] for e in events] == ["ticket.created", "ticket.called"]
        # ... and the realtime stream delivered the call (engine → NOTIFY/relay → gateway → client)
        pushed = sse.wait_for(lambda e: e.get("type") == "ticket.called" and ticket["ticket_id"] in json.dumps(e), 20)
        assert pushed is not None, f"no ticket.called on {topic}: {sse.events} {sse.error}"
        # /metrics answers for both gateway workers, whichever takes the scrape
        assert any((data_dir / "run" / "metrics").glob("histogram_*.db"))
        for _ in range(3):
            _, samples = scrape(base)
            rpc = [
                x.value
                for x in samples
                if x.name == "qms_http_request_duration_seconds_count" and x.labels["route"].startswith("/rpc")
            ]
            assert sum(rpc) >= 3, rpc
        # the banner printed the demo logins
        _wait_log(log, agent["password"])
        # the dashboards answer through the gateway at /analytics/ once the demo tenant's snapshot has the ticket
        admin = _login(base, next(x for x in demo["logins"] if x["role"] == "admin"))
        today = dt.datetime.now(dt.UTC).date()
        span = {"from_date": str(today - dt.timedelta(days=1)), "to_date": str(today + dt.timedelta(days=1))}
        kpis: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while not kpis and time.monotonic() < deadline:
            resp = httpx.get(
                f"{base}/analytics/{demo['tenant_id']}/kpis.json",
                params={**span, "_shape": "array"},
                headers={"Authorization": f"Bearer {admin}"},
                timeout=10,
            )
            kpis = resp.json() if resp.status_code == 200 else []
            time.sleep(0.5)
        assert sum(k["tickets"] for k in kpis) >= 1, log.read_text()[-4000:]
        running = _left_behind(port, cluster.port, cluster.server_dir)
        assert any("gateway.app" in c for c in running.values()) and any("postgres" in c for c in running.values())
        assert any("-m workers" in c for c in running.values()), running

        assert _interrupt(proc) == 0, log.read_text()[-4000:]
        time.sleep(0.5)
        left = _left_behind(port, cluster.port, cluster.server_dir)
        still_running = cluster.running()
        assert left == {}, f"left behind: {left}\n{log.read_text()[-4000:]}"
        assert not still_running

        # A second start reuses everything: same secret, no second demo tenant, the same logins work.
        mark = len(log.read_text())
        proc = _start(data_dir, port, log)
        _wait_healthy(proc, base, log)
        again = _wait_log(log, agent["password"], mark)
        assert "demo tenant 'demo' created" not in again
        assert json.loads((data_dir / "demo.json").read_text())["tenant_id"] == demo["tenant_id"]
        _login(base, agent)
    finally:
        if proc.poll() is None:
            _interrupt(proc)
        if cluster is not None:  # never leave a server or a relocated cluster behind, even on failure
            cluster.destroy()


def test_supervisor_restarts_a_crashed_child_and_stops_its_whole_group(tmp_path: Path) -> None:
    marker = tmp_path / "starts"
    # each start appends a line, leaves a grandchild sleeping in the same process group, then crashes
    script = (
        f"import subprocess, sys; open({str(marker)!r}, 'a').write('x\\n'); "
        "subprocess.Popen(['sleep', '317']); sys.exit(3)"
    )
    crasher = ChildSpec("crasher", [sys.executable, "-c", script], dict(os.environ))
    steady = ChildSpec("steady", [sys.executable, "-c", "import time; time.sleep(300)"], dict(os.environ))
    sup = Supervisor([crasher, steady])
    sup.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not marker.exists() or len(marker.read_text().split()) < 3):
            sup.poll()
            time.sleep(0.05)
        assert len(marker.read_text().split()) >= 3  # first start + restarts after 1 s and 2 s of backoff
        assert sup.children[0].restarts >= 2 and sup.children[1].restarts == 0
    finally:
        sup.stop(timeout=3)
    time.sleep(0.2)
    assert [pid for pid, cmd in _processes().items() if cmd == "sleep 317"] == []
    assert all(c.proc is not None and c.proc.poll() is not None for c in sup.children)
