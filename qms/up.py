"""``qms up``: the whole system on one machine, supervised.

Order: PostgreSQL (``QMS_DATABASE_URL`` or the embedded cluster under the data dir) → migrations → the demo
tenant (first run only; a failure to seed it stops the start) → child processes: the gateway (uvicorn), the
event relay, the workers (no-show sweeper, retention, analytics snapshots, reports, anomalies), Datasette
(see :func:`datasette_child`), the notification sender and, unless ``QMS_SMTP_URL`` is set, a local mail sink.
A child that dies is restarted with exponential backoff. SIGINT/SIGTERM stop every child (SIGTERM to its
process group, SIGKILL after a timeout) and then the embedded PostgreSQL this run started, so nothing is left
behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import psycopg

from dashboards.serve import datasette_argv, datasette_socket
from qms import demo, tokens
from qms import migrate as migrations
from qms.apicall import describe_error
from qms.config import Settings, start_embedded
from qms.pg import Cluster, PgError

log = logging.getLogger("qms.up")

BACKOFF_START = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 30.0  # a child running this long has its backoff reset
STOP_TIMEOUT = 10.0
READY_TIMEOUT = 60.0
PR_SET_PDEATHSIG = 1


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    env: dict[str, str]


@dataclass
class Child:
    spec: ChildSpec
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START
    restart_at: float | None = None


def _die_with_parent() -> None:
    """In the child: get SIGTERM when ``qms up`` dies, even by SIGKILL (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Supervisor:
    specs: list[ChildSpec]
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def __post_init__(self) -> None:
        self.children = [Child(s) for s in self.specs]

    def _spawn(self, child: Child) -> None:
        # Own session and process group: a terminal's Ctrl-C reaches only `qms up`, which then stops the
        # children in order, and killing the group takes any grandchildren with it.
        child.proc = subprocess.Popen(
            child.spec.argv, env=child.spec.env, start_new_session=True, preexec_fn=_die_with_parent
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("started %s (pid %s)", child.spec.name, child.proc.pid)

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def poll(self) -> None:
        """Restart crashed children, each after its own backoff."""
        now = time.monotonic()
        for child in self.children:
            if child.proc is None or self.stopping:
                continue
            code = child.proc.poll()
            if code is None:
                if now - child.started_at > STABLE_AFTER:
                    child.backoff = BACKOFF_START
                continue
            if child.restart_at is None:
                _kill_group(child.proc.pid, signal.SIGKILL)  # whatever it left running in its group
                child.restart_at = now + child.backoff
                log.warning("%s exited with code %s; restarting in %.0fs", child.spec.name, code, child.backoff)
                child.backoff = min(child.backoff * 2, BACKOFF_MAX)
            elif now >= child.restart_at:
                child.restarts += 1
                self._spawn(child)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM every child's process group, SIGKILL what is left after ``timeout``."""
        self.stopping = True
        procs = [c.proc for c in self.children if c.proc is not None]
        for proc in procs:
            _kill_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                log.warning("pid %s did not stop in %.0fs: killing it", proc.pid, timeout)
        for proc in procs:
            _kill_group(proc.pid, signal.SIGKILL)  # the leader and any leftovers of its group
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


# -- what runs -----------------------------------------------------------------------------------
def gateway_workers(env: dict[str, str] | None = None) -> int:
    """uvicorn worker processes of the gateway: QMS_GATEWAY_WORKERS, default min(2, CPU count).
    Each worker has its own pool and LISTEN connection, so HTTP and realtime fan-out use that many cores."""
    raw = (env if env is not None else os.environ).get("QMS_GATEWAY_WORKERS", "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            log.warning("QMS_GATEWAY_WORKERS=%r is not an integer: using the default", raw)
    return max(1, min(2, os.cpu_count() or 1))


def gateway_child(url: str, secret: str, host: str, port: int, env: dict[str, str]) -> ChildSpec:
    workers = gateway_workers(env)
    argv = [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--host", host, "--port", str(port)]
    argv += ["--workers", str(workers)]
    # Open WebSocket/SSE streams would otherwise hold a graceful shutdown until the kill timeout.
    argv += ["--timeout-graceful-shutdown", str(int(STOP_TIMEOUT // 2))]
    # Realtime frames are small JSON (a few hundred bytes): compressing each one per client (permessage-deflate)
    # doubles the fan-out's CPU per frame and keeps a zlib context per connection, for little saved bandwidth.
    argv += ["--ws-per-message-deflate", "false"]
    # The client address is the gateway's decision (QMS_TRUSTED_PROXIES, gateway/client_ip.py): uvicorn must
    # not rewrite it from X-Forwarded-For for connections from 127.0.0.1.
    argv += ["--no-proxy-headers"]
    child_env = {**env, "QMS_DATABASE_URL": url, "QMS_JWT_SECRET": secret, "QMS_GATEWAY_WORKERS": str(workers)}
    if workers > 1:
        child_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir(env))
    return ChildSpec("gateway", argv, child_env)


def metrics_dir(env: dict[str, str]) -> Path:
    """Where the gateway workers keep their Prometheus values so that any worker answers /metrics for all:
    PROMETHEUS_MULTIPROC_DIR, default <data dir>/run/metrics (see :func:`reset_metrics_dir`)."""
    raw = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    return Path(raw) if raw else Path(env.get("QMS_DATA_DIR", ".qms")) / "run" / "metrics"


def reset_metrics_dir(spec: ChildSpec) -> None:
    """Create the gateway's multiprocess metrics directory and empty it of an earlier run's files, before
    the workers start: each ``qms up`` counts from zero (a worker restarted within the run keeps counting)."""
    raw = spec.env.get("PROMETHEUS_MULTIPROC_DIR")
    if not raw:
        return
    path = Path(raw)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def relay_child(url: str, env: dict[str, str]) -> ChildSpec:
    """The event relay (``python -m qms.relay``): committed ticket events to realtime, in order."""
    return ChildSpec(
        "relay", [sys.executable, "-m", "qms.relay", "--database-url", url], {**env, "QMS_DATABASE_URL": url}
    )


def workers_child(url: str, env: dict[str, str]) -> ChildSpec:
    """The periodic jobs: auto no-show sweeper and retention (``python -m workers``)."""
    return ChildSpec(
        "workers", [sys.executable, "-m", "workers", "--database-url", url], {**env, "QMS_DATABASE_URL": url}
    )


def datasette_child(url: str, data_dir: Path, env: dict[str, str]) -> ChildSpec:
    """Datasette of the analytics dashboards on its Unix socket (dashboards/serve.py), reached through the
    gateway at /analytics/; the snapshots it serves are refreshed by the workers. A stale socket of an earlier
    run is removed first."""
    sock = datasette_socket({**env, "QMS_DATA_DIR": str(data_dir)})
    sock.parent.mkdir(parents=True, exist_ok=True)
    sock.unlink(missing_ok=True)
    return ChildSpec("datasette", datasette_argv(socket=sock), {**env, "QMS_DATABASE_URL": url})


def notify_children(url: str, env: dict[str, str]) -> list[ChildSpec]:
    """The notification sender (``python -m workers.notify``) and, unless ``QMS_SMTP_URL`` names a mail
    server, a local mail sink on a free port (``python -m workers.mailsink``) that becomes the e-mail provider
    of every tenant without its own: what it receives is readable with ``api.list_sink_messages``."""
    child_env = {**env, "QMS_DATABASE_URL": url}
    specs = []
    if not env.get("QMS_SMTP_URL"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            sink_port = s.getsockname()[1]
        argv = [sys.executable, "-m", "workers.mailsink", "--database-url", url, "--port", str(sink_port)]
        specs.append(ChildSpec("mailsink", argv, child_env))
        child_env = {**child_env, "QMS_SMTP_URL": f"smtp://127.0.0.1:{sink_port}?starttls=off"}
    return [*specs, ChildSpec("notify", [sys.executable, "-m", "workers.notify", "--database-url", url], child_env)]


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - our own http://127.0.0.1 URL
            return bool(resp.status == 200)
    except OSError:
        return False


def banner(base: str, url: str, psql: str, info: demo.DemoInfo | None, data_dir: Path) -> str:
    lines = [
        "",
        "QMS is up.",
        f"  gateway     {base}/",
        f"  API docs    {base}/docs   (OpenAPI: {base}/openapi.json)",
        f"  apps        {base}/apps/kiosk/  {base}/apps/agent/  {base}/apps/display/  {base}/apps/admin/",
        f"              {base}/apps/live/ (supervisor's live floor)",
        f"  health      {base}/healthz",
        f"  psql        {psql} '{url}'   (or: qms db psql --data-dir {data_dir})",
    ]
    if info:
        lines.append(f"  demo tenant `{demo.SLUG}`, branch {demo.BRANCH_NAME} ({info.branch_id}); logins:")
        lines += [f"    {x['role']:<10} {x['email']:<24} {x['password']}" for x in info.logins]
        lines.append(
            f"  join link   {base}/apps/public/#b={demo.SLUG}.{demo.BRANCH_CODE}   (customers take a number here)"
        )
        lines.append(f"  kiosk device {info.devices.get('kiosk')}, display device {info.devices.get('display')}")
        lines.append(f"  (a device's token and start page: qms device token --tenant demo <device> --base-url {base})")
        lines.append(f"  (kept in {data_dir / demo.LOGINS_FILE}; a token: qms token issue --tenant demo --role agent)")
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)


def run(port: int = 8000, data_dir: str | Path | None = None, host: str = "127.0.0.1", demo_data: bool = True) -> int:
    """Run until SIGINT/SIGTERM; the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s qms up: %(message)s", stream=sys.stderr)
    settings = Settings.from_env(data_dir)
    stop: list[bool] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.append(True)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if not port_free(host, port):
        log.error("port %s on %s is in use: pick another with --port", port, host)
        return 1
    cluster: Cluster | None = None
    started_pg = False
    supervisor: Supervisor | None = None
    try:
        secret = tokens.jwt_secret(settings)
        if settings.database_url:
            url, psql = settings.database_url, "psql"
        else:
            cluster = Cluster(settings.data_dir)
            started_pg = not cluster.running()
            start_embedded(cluster)
            url, psql = cluster.url(), cluster.psql_path()
            log.info("PostgreSQL at %s (data in %s)", url, cluster.server_dir)
        result = migrations.migrate(url)
        log.info("schema at %s migration(s); %s function/policy files applied", result.applied, result.code_files)
        info: demo.DemoInfo | None = None
        if demo_data:
            info = _seed_demo(url, settings.data_dir)
        env = {**os.environ, "QMS_DATA_DIR": str(settings.data_dir)}
        specs = [gateway_child(url, secret, host, port, env), workers_child(url, env), relay_child(url, env)]
        specs += notify_children(url, {**env, "QMS_PUBLIC_URL": f"http://{host}:{port}"})
        reset_metrics_dir(specs[0])
        ds_env = {**env, "QMS_JWT_SECRET": secret}  # Datasette verifies the gateway's tokens
        specs.append(datasette_child(url, settings.data_dir, ds_env))
        supervisor = Supervisor(specs)
        supervisor.start()
        base = f"http://{host}:{port}"
        ready_by = time.monotonic() + READY_TIMEOUT
        announced = warned = False
        while not stop:
            supervisor.poll()
            if not announced and healthy(f"{base}/healthz"):
                print(banner(base, url, psql, info, settings.data_dir), flush=True)
                announced = True
            elif not announced and not warned and time.monotonic() > ready_by:
                log.warning("the gateway has not answered %s/healthz for %.0fs; still trying", base, READY_TIMEOUT)
                warned = True
            time.sleep(0.3)
        return 0
    except (PgError, migrations.MigrationError, tokens.TokenError) as exc:
        log.error("%s", exc)
        return 1
    except psycopg.Error as exc:  # seeding the demo tenant (one transaction: nothing of it is left)
        log.error("demo tenant not created: %s", describe_error(exc))
        return 1
    finally:
        if supervisor is not None:
            supervisor.stop()
            log.info("children stopped")
        if cluster is not None and started_pg:
            with contextlib.suppress(PgError):
                cluster.stop()
                log.info("PostgreSQL stopped")


def _seed_demo(url: str, data_dir: Path) -> demo.DemoInfo | None:
    """Seed on first run; afterwards the saved logins."""
    info = demo.seed(url, data_dir)
    if info is not None:
        log.info("demo tenant %r created", demo.SLUG)
        return info
    return demo.DemoInfo.load(data_dir)
