"""Gateway benchmark: HTTP latency/throughput, call → display fan-out latency, and the gateway's overhead.

    uv run python -m bench.gateway            # full run, ~4 min
    uv run python -m bench.gateway --quick    # small version, ~1 min

One throwaway cluster (qms.pg.Cluster + qms.testing.TestDatabases, as bench/run.py), one real gateway
(uvicorn with ``--workers`` processes, default min(2, CPUs) as ``qms up``; uvloop + httptools) and the event
relay (``python -m qms.relay``), all on 127.0.0.1. Measured in the same run:

1. ``POST /rpc/create_ticket`` at 1, 16 and 64 concurrent clients, into 1 service and spread over 10
   services: throughput and p50/p95/p99 latency. Each client is one coroutine with its own keep-alive
   ``httpx.AsyncClient`` connection; clients are spread over up to ``--client-procs`` processes.
2. Call → display: N WebSocket clients on ``/realtime`` (each with its own display-device token, subscribed
   to ``branch:<id>:display:all``) in several processes; an agent paces ``POST /rpc/call_next`` (then
   ``ticket_action`` to free the counter) and every ``ticket.called`` frame's arrival is compared with the
   moment the API call returned (wall clock, same machine).
3. Overhead: ``api.create_ticket`` (10 services) and ``api.list_services`` called over psycopg directly
   (one connection per client process, as qms_authenticator, ``set_config`` role + claims per transaction)
   vs through the gateway, at 1 and 16 clients.

Every phase has a request count and a time limit; a watchdog (SIGALRM) ends a run that hangs, and the
gateway, relay, client processes and cluster are always removed. Results are printed and written between
``<!-- gateway-results:start -->`` / ``<!-- gateway-results:end -->`` in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing as mp
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.run import FINISH, SERVER_SETTINGS, _fill, _percentile, machine_info, seed, vacuum
from gateway.config import default_pool_max
from qms import tokens
from qms.pg import Cluster, find_bin_dir, free_port
from qms.testing import TestDatabases

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- gateway-results:start -->", "<!-- gateway-results:end -->"
SECRET = "bench-" + uuid.uuid4().hex + uuid.uuid4().hex
HTTP_TIMEOUT = 30.0
MAX_REQUESTS_PER_CLIENT = 200_000
CTX = mp.get_context("fork")


# -- processes --------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 when it is gone)."""
    try:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(parent: int) -> float:
    """CPU of a process and all its children that are alive now (postgres backends, uvicorn workers)."""
    total = cpu_seconds(parent)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parts = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(parts[1]) == parent:
                total += (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    return total


pg_cpu_seconds = tree_cpu_seconds


def cpu_stall_us() -> int:
    """Total microseconds in which some runnable task waited for a CPU (Linux PSI; 0 when unavailable)."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return 0
    return int(first.rsplit("total=", 1)[1])


@dataclass
class Services:
    gateway: subprocess.Popen[bytes]
    relay: subprocess.Popen[bytes]
    base: str
    postmaster: int
    log_dir: Path

    def cpu(self) -> tuple[float, float, float]:
        """(gateway with its workers, relay, postgres) CPU seconds so far."""
        return tree_cpu_seconds(self.gateway.pid), cpu_seconds(self.relay.pid), pg_cpu_seconds(self.postmaster)


def start_services(url: str, log_dir: Path, workers: int = 1, pool_max: int | None = None) -> Services:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QMS_", "PG"))}
    env.update(
        {
            "QMS_DATABASE_URL": url,
            "QMS_JWT_SECRET": SECRET,
            "QMS_RATE_LIMIT_PER_IP": "0",
            "QMS_RATE_LIMIT_PER_TENANT": "0",
            "QMS_GATEWAY_WORKERS": str(workers),
        }
    )
    if pool_max is not None:
        env["QMS_POOL_MAX"] = str(pool_max)
        env["QMS_POOL_MIN"] = str(min(2, pool_max))
    port = free_port(18500 + os.getpid() % 1000)
    gw_cmd = [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--host", "127.0.0.1"]
    gw_cmd += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    gw_cmd += ["--timeout-graceful-shutdown", "3", "--ws-per-message-deflate", "false"]  # as `qms up`
    with (log_dir / "gateway.log").open("wb") as gw_log, (log_dir / "relay.log").open("wb") as relay_log:
        gateway = subprocess.Popen(gw_cmd, cwd=ROOT, env=env, stdout=gw_log, stderr=subprocess.STDOUT)
        relay = subprocess.Popen(
            [sys.executable, "-m", "qms.relay", "--database-url", url],
            cwd=ROOT,
            env=env,
            stdout=relay_log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if gateway.poll() is not None:
            raise RuntimeError(f"gateway exited: {(log_dir / 'gateway.log').read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                break
        time.sleep(0.1)
    else:
        raise RuntimeError("gateway not ready within 60 s")
    return Services(gateway, relay, base, 0, log_dir)


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def raise_nofile(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, want), hard) if hard != resource.RLIM_INFINITY else max(soft, want)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- seeding ----------------------------------------------------------------------------------------
@dataclass
class Tenant:
    tenant_id: str
    branch_id: str
    services: list[str]
    counters: list[str]
    agent_token: str
    claims: dict[str, Any]


def make_tenant(url: str, name: str, n_services: int) -> Tenant:
    """bench.run's seed (tenant, branch, services, 64 counters) plus an agent user and its token (no tv)."""
    sc = seed(url, name, n_services, 1)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select tests.add_user(%s, %s, 'agent', %s, 'Bench agent')",
            (sc.tenant_id, f"agent-{uuid.uuid4().hex[:8]}@bench.example", [sc.branch_id]),
        ).fetchone()
        assert row is not None
        user = str(row[0])
    claims = {"role": "qms_agent", "tenant_id": str(sc.tenant_id), "sub": user, "branch_ids": [str(sc.branch_id)]}
    token = tokens.issue(
        SECRET, role="agent", tenant_id=str(sc.tenant_id), sub=user, branch_ids=[str(sc.branch_id)], ttl_seconds=7200
    )
    return Tenant(
        str(sc.tenant_id),
        str(sc.branch_id),
        [str(s) for s in sc.service_ids],
        [str(c) for c in sc.counter_ids],
        token,
        claims,
    )


def display_tokens(url: str, t: Tenant, n: int) -> list[str]:
    """``n`` display devices of the branch and one device token each (the claims of POST /api/devices/{id}/token)."""
    devices: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(n):
            row = conn.execute(
                "select tests.add_device(%s, %s, 'display', %s)", (t.tenant_id, t.branch_id, f"display-{i}")
            ).fetchone()
            assert row is not None
            devices.append(str(row[0]))
    return [
        tokens.issue(
            SECRET,
            role="device",
            tenant_id=t.tenant_id,
            sub=d,
            branch_ids=[t.branch_id],
            ttl_seconds=7200,
            extra={"kind": "display"},
        )
        for d in devices
    ]


# -- results ----------------------------------------------------------------------------------------
@dataclass
class Point:
    label: str
    clients: int
    ops: int
    duration: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    client_cpu: float = 0.0
    gw_cpu: float = 0.0
    pg_cpu: float = 0.0
    stall: float = 0.0

    @property
    def tps(self) -> float:
        return self.ops / self.duration if self.duration else 0.0

    def pct(self, q: float) -> float:
        return _percentile(self.latencies, q) * 1000

    def cells(self) -> str:
        err = f" ⚠{len(self.errors)} err" if self.errors else ""
        return (
            f"{self.tps:,.0f} | {self.pct(0.5):.2f} | {self.pct(0.95):.2f} | {self.pct(0.99):.2f} "
            f"| {100 * self.gw_cpu / self.duration:.0f} % | {100 * self.pg_cpu / self.duration:.0f} % "
            f"| {100 * self.client_cpu / self.duration:.0f} % | {100 * self.stall / self.duration:.0f} %{err}"
        )


def _wait_until(t: float) -> None:
    while (delay := t - time.time()) > 0:
        time.sleep(min(delay, 0.05))


# -- 1 + 3: HTTP clients ----------------------------------------------------------------------------
class RawHttp:
    """A keep-alive HTTP/1.1 connection that costs little CPU: the request bytes are built once, the response
    read as a header block plus Content-Length (or chunked) body. The benchmark's clients share the cores
    with the gateway under test; a full client library spent about as much CPU per request as the gateway."""

    def __init__(self, base: str, token: str, method: str, path: str, body: dict[str, Any]) -> None:
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        head = [f"Host: {url.netloc}", f"Authorization: Bearer {token}", "Accept: application/json"]
        if method == "GET":
            target, payload = f"{path}?{urllib.parse.urlencode(body)}", b""
        else:
            target, payload = path, json.dumps(body).encode()
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        self.request = (f"{method} {target} HTTP/1.1\r\n" + "\r\n".join(head) + "\r\n\r\n").encode() + payload
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def send(self, request: bytes | None = None) -> tuple[int, bytes]:
        """One request on the open connection: (status, body)."""
        assert self.reader is not None and self.writer is not None
        self.writer.write(request or self.request)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        lower = header.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
            return status, await self.reader.readexactly(length)
        if b"transfer-encoding: chunked" not in lower:
            raise RuntimeError(f"response without length: {header[:200]!r}")
        body = bytearray()
        while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
            body += await self.reader.readexactly(size + 2)
            del body[-2:]
        await self.reader.readuntil(b"\r\n")
        return status, bytes(body)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()


def http_proc(
    base: str, token: str, method: str, path: str, bodies: list[dict[str, Any]], t0: float, t1: float
) -> tuple[int, list[float], list[str], float]:
    """One client process: ``len(bodies)`` coroutines, each its own keep-alive connection, until t1."""
    import uvloop

    async def one(body: dict[str, Any]) -> tuple[int, list[float], list[str]]:
        lat: list[float] = []
        errs: list[str] = []
        conn = RawHttp(base, token, method, path, body)
        try:
            await asyncio.wait_for(conn.open(), HTTP_TIMEOUT)
            healthz = f"GET /healthz HTTP/1.1\r\nHost: {conn.host}:{conn.port}\r\n\r\n".encode()
            await conn.send(healthz)  # the connection is open and warm before the clock starts
            if time.time() > t0 + 0.2:
                errs.append(f"client ready {time.time() - t0:.2f} s after the start")
            await asyncio.sleep(max(0.0, t0 - time.time()))
            n = 0
            while time.time() < t1 and n < MAX_REQUESTS_PER_CLIENT:
                n += 1
                start = time.perf_counter()
                status, text = await asyncio.wait_for(conn.send(), HTTP_TIMEOUT)
                if status >= 300:
                    errs.append(f"{status} {text[:200]!r}")
                    continue
                lat.append(time.perf_counter() - start)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, RuntimeError, ValueError) as exc:
            errs.append(repr(exc))  # the connection is in an unknown state: this client stops
        finally:
            await conn.close()
        return len(lat), lat, errs

    async def main() -> list[tuple[int, list[float], list[str]]]:
        return await asyncio.gather(*(one(b) for b in bodies))

    cpu0 = time.process_time()
    results = uvloop.run(main())
    return (
        sum(r[0] for r in results),
        [x for r in results for x in r[1]],
        [e for r in results for e in r[2]],
        time.process_time() - cpu0,
    )


def direct_proc(
    auth_url: str, claims: dict[str, Any], query: str, params: list[Any], t0: float, t1: float
) -> tuple[int, list[float], list[str], float]:
    """One direct client: its own connection as qms_authenticator; per transaction set_config role +
    claims + headers (as the gateway does, without its token check), then the api call."""
    lat: list[float] = []
    errs: list[str] = []
    cpu0 = time.process_time()
    headers = json.dumps({"user-agent": "bench-direct", "x-forwarded-for": "127.0.0.1"})
    with psycopg.connect(auth_url) as conn:
        if time.time() > t0 + 0.2:
            errs.append(f"client ready {time.time() - t0:.2f} s after the start")
        _wait_until(t0)
        n = 0
        while time.time() < t1 and n < MAX_REQUESTS_PER_CLIENT:
            n += 1
            start = time.perf_counter()
            try:
                with conn.transaction():
                    conn.execute(
                        "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true),"
                        " set_config('request.headers', %s, true), set_config('request.id', %s, true)",
                        (claims["role"], json.dumps(claims), headers, str(uuid.uuid4())),
                    )
                    conn.execute(query, params).fetchone()
            except psycopg.Error as exc:
                errs.append(f"{exc.sqlstate} {exc}")
                continue
            lat.append(time.perf_counter() - start)
    return len(lat), lat, errs, time.process_time() - cpu0


def run_point(
    svc: Services, label: str, clients: int, duration: float, jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]]
) -> Point:
    """Run ``jobs`` (fn, args without t0/t1) in parallel processes for ``duration`` seconds."""
    t0 = time.time() + 2.0 + 0.1 * len(jobs)
    t1 = t0 + duration
    with CTX.Pool(len(jobs)) as pool:
        pending = [pool.apply_async(fn, (*args, t0, t1)) for fn, args in jobs]
        # CPU is sampled inside the window (direct clients' backends exit right after t1) and scaled up.
        margin = min(0.2, duration / 10)
        _wait_until(t0 + margin)
        cpu0, stall0 = svc.cpu(), cpu_stall_us()
        _wait_until(t1 - margin)
        cpu1, stall1 = svc.cpu(), cpu_stall_us()
        scale = duration / (duration - 2 * margin)
        results = [p.get(timeout=duration + HTTP_TIMEOUT + 30) for p in pending]
    return Point(
        label,
        clients,
        sum(r[0] for r in results),
        duration,
        [x for r in results for x in r[1]],
        [e for r in results for e in r[2]],
        sum(r[3] for r in results),
        (cpu1[0] - cpu0[0]) * scale,
        (cpu1[2] - cpu0[2]) * scale,
        (stall1 - stall0) / 1e6 * scale,
    )


def split(items: list[Any], parts: int) -> list[list[Any]]:
    return [items[i::parts] for i in range(parts) if items[i::parts]]


def http_point(
    svc: Services,
    t: Tenant,
    label: str,
    clients: int,
    n_services: int,
    duration: float,
    procs: int,
    fn: str = "create_ticket",
) -> Point:
    if fn == "create_ticket":
        bodies = [{"service_id": t.services[i % n_services], "channel": "api"} for i in range(clients)]
        method = "POST"
    else:
        bodies = [{"branch_id": t.branch_id} for _ in range(clients)]
        method = "GET"
    jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
        (http_proc, (svc.base, t.agent_token, method, f"/rpc/{fn}", part))
        for part in split(bodies, min(procs, clients))
    ]
    return run_point(svc, label, clients, duration, jobs)


def direct_point(svc: Services, auth_url: str, t: Tenant, label: str, clients: int, duration: float, fn: str) -> Point:
    jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
    for i in range(clients):
        if fn == "create_ticket":
            query = "select to_jsonb(api.create_ticket(service_id => %s::uuid, channel => %s::text))::text"
            params: list[Any] = [t.services[i % len(t.services)], "api"]
        else:
            query = "select to_jsonb(api.list_services(branch_id => %s::uuid))::text"
            params = [t.branch_id]
        jobs.append((direct_proc, (auth_url, t.claims, query, params)))
    return run_point(svc, label, clients, duration, jobs)


# -- 2: call → display ------------------------------------------------------------------------------
class DisplayClient(asyncio.Protocol):
    """A display client that costs little CPU: the WebSocket handshake and frames by hand on a plain asyncio
    protocol (server frames unmasked, client frames masked, RFC 6455), so that 1,000 of them reading every
    frame leave the shared cores to the gateway under test. welcome → subscribe → subscribed, then every
    ``ticket.called`` frame's arrival time (one clock read per received chunk) is kept by ticket id."""

    def __init__(self, url: urllib.parse.SplitResult, token: str, topic: str, arrivals: dict[str, float]) -> None:
        self.url = url
        self.token = token
        self.topic = topic
        self.arrivals = arrivals
        self.buf = bytearray()
        self.state = "handshake"
        self.resyncs = 0
        self.transport: asyncio.Transport | None = None
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not its subclasses
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.url.path}?token={self.token} HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buf
        buf += data
        pos = 0
        if self.state == "handshake":
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self._fail(f"handshake refused: {bytes(buf[:end])[:200]!r}")
                return
            pos = end + 4
            self.state = "welcome"
        size = len(buf)
        while size - pos >= 2:
            n = buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif n == 127:
                if size - pos < 10:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < head + n:
                break
            opcode = buf[pos] & 0x0F
            payload = bytes(buf[pos + head : pos + head + n])
            pos += head + n
            if opcode == 1:
                self._text(payload, now)
            elif opcode == 9:
                self._send(10, payload)
            elif opcode == 8:
                self._fail("closed by the server")
                return
        del buf[:pos]

    def _text(self, payload: bytes, now: float) -> None:
        if self.state == "live":
            if b'"ticket.called"' in payload:
                self.arrivals.setdefault(str(json.loads(payload)["payload"]["ticket_id"]), now)
            elif b'"resync"' in payload:
                self.resyncs += 1
            return
        kind = json.loads(payload).get("type")
        if self.state == "welcome" and kind == "welcome":
            self._send(1, json.dumps({"action": "subscribe", "topics": [self.topic]}).encode())
            self.state = "subscribe"
        elif self.state == "subscribe" and kind == "subscribed":
            self.state = "live"
            self.subscribed.set_result(None)
        else:
            self._fail(f"unexpected {kind!r} while {self.state}")

    def _send(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None and len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def _fail(self, why: str) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(RuntimeError(why))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(RuntimeError(f"connection lost: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)


def ws_proc(
    ws_url: str,
    topic: str,
    toks: list[str],
    ready: Any,
    stop: Any,
    out: Any,
    connect_limit: float,
    hard_stop: float,
) -> None:
    """Connect ``len(toks)`` display clients, report ready, collect ticket.called arrivals until ``stop``."""
    import uvloop

    raise_nofile(len(toks) + 256)
    url = urllib.parse.urlsplit(ws_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80

    async def main() -> tuple[list[dict[str, float]], dict[str, int]]:
        loop = asyncio.get_running_loop()
        status = {"ok": 0, "failed": 0, "resync": 0}
        per_client: list[dict[str, float]] = [{} for _ in toks]
        gate = asyncio.Semaphore(16)  # auth + subscribe are database transactions: do not flood the pool
        clients: list[DisplayClient] = []

        async def connect(tok: str, arrivals: dict[str, float]) -> None:
            async with gate:
                try:
                    _, proto = await asyncio.wait_for(
                        loop.create_connection(lambda: DisplayClient(url, tok, topic, arrivals), host, port),
                        connect_limit,
                    )
                    clients.append(proto)
                    await asyncio.wait_for(asyncio.shield(proto.subscribed), connect_limit)
                    status["ok"] += 1
                except Exception as exc:  # a failed client is counted, not fatal
                    status["failed"] += 1
                    if status["failed"] == 1:
                        print(f"ws client failed: {exc!r}", file=sys.stderr, flush=True)

        await asyncio.gather(*(connect(tok, arrivals) for tok, arrivals in zip(toks, per_client, strict=True)))
        ready.put((os.getpid(), status["ok"], status["failed"]))
        while not await loop.run_in_executor(None, stop.wait, 0.2):
            if time.time() > hard_stop:
                break
        for proto in clients:
            status["resync"] += proto.resyncs
            if proto.transport is not None:
                proto.transport.close()
        await asyncio.gather(*(asyncio.wait_for(p.closed, 5) for p in clients), return_exceptions=True)
        return per_client, status

    per_client, status = uvloop.run(main())
    out.put((per_client, status))


@dataclass
class FanoutResult:
    clients: int
    connected: int
    calls: int
    rate: float
    duration: float
    lat_ret: list[float]
    lat_send: list[float]
    complete_clients: int
    missing: int
    resyncs: int
    call_latencies: list[float]
    errors: list[str]
    gw_cpu: float
    relay_cpu: float
    pg_cpu: float
    client_cpu_note: str


def fanout(
    svc: Services,
    url: str,
    n_clients: int,
    procs: int,
    rate: float,
    duration: float,
    connect_limit: float,
    py_spy: str | None = None,
) -> FanoutResult:
    t = make_tenant(url, "display", 1)
    n_calls = max(1, int(rate * duration))
    # Tickets first (their ticket.created events reach no client yet), then wait until the relay has sent them.
    _fill(url, t.claims, t.services[0], n_calls + 20)
    vacuum(url, "qms.tickets", "qms.ticket_events")
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "select (select coalesce(max(seq), 0) from qms.ticket_events) <= worker.relay_position('default')"
            ).fetchone()
            if row and row[0]:
                break
            time.sleep(0.1)
    toks = display_tokens(url, t, n_clients)
    topic = f"branch:{t.branch_id}:display:all"
    ws_url = svc.base.replace("http://", "ws://") + "/realtime"
    ready: Any = CTX.Queue()
    out: Any = CTX.Queue()
    stop: Any = CTX.Event()
    hard_stop = time.time() + 3 * connect_limit + duration + 120
    workers = [
        CTX.Process(target=ws_proc, args=(ws_url, topic, part, ready, stop, out, connect_limit, hard_stop))
        for part in split(toks, min(procs, n_clients))
    ]
    results: list[tuple[list[dict[str, float]], dict[str, int]]] = []
    sent: dict[str, tuple[float, float]] = {}
    call_lat: list[float] = []
    errors: list[str] = []
    connected = 0
    cpu0 = cpu1 = (0.0, 0.0, 0.0)
    ccpu0 = ccpu1 = 0.0
    try:
        for w in workers:
            w.start()
        for _ in workers:
            _pid, ok, _failed = ready.get(timeout=connect_limit * (n_clients / len(workers) / 16 + 2) + 60)
            connected += ok
        print(f"  {connected}/{n_clients} display clients subscribed; calling {n_calls} tickets", flush=True)
        time.sleep(1.0)
        counter = t.counters[0]
        headers = {"Authorization": f"Bearer {t.agent_token}"}
        with httpx.Client(base_url=svc.base, headers=headers, timeout=HTTP_TIMEOUT) as agent:
            agent.get("/healthz")
            start = time.time() + 0.2
            cpu0 = svc.cpu()
            ccpu0 = sum(cpu_seconds(w.pid) for w in workers if w.pid is not None)
            profiler = start_profile(py_spy, svc.gateway.pid, duration, svc.log_dir) if py_spy else None
            for i in range(n_calls):
                _wait_until(start + i / rate)
                if time.time() > start + 2 * duration + 10:
                    errors.append("calling ran over its time limit")
                    break
                t_send = time.time()
                resp = agent.post("/rpc/call_next", json={"counter_id": counter})
                t_ret = time.time()
                if resp.status_code != 200 or not resp.json().get("ticket"):
                    errors.append(f"call_next {resp.status_code} {resp.text[:200]}")
                    continue
                call_lat.append(t_ret - t_send)
                ticket = resp.json()["ticket"]["ticket_id"]
                sent[str(ticket)] = (t_send, t_ret)
                for action in FINISH:
                    r = agent.post(
                        "/rpc/ticket_action", json={"ticket_id": ticket, "action": action, "counter_id": counter}
                    )
                    if r.status_code != 200:
                        errors.append(f"{action} {r.status_code} {r.text[:200]}")
            time.sleep(2.0)  # delivery grace
            cpu1 = svc.cpu()
            ccpu1 = sum(cpu_seconds(w.pid) for w in workers if w.pid is not None)
            if profiler is not None:
                print(summarize_profile(profiler, svc.log_dir / "gateway.pyspy.txt"), flush=True)
        stop.set()
        for _ in workers:
            results.append(out.get(timeout=60))
    finally:
        stop.set()
        for w in workers:
            w.join(10)
            if w.is_alive():
                w.kill()
                w.join(5)
    lat_ret: list[float] = []
    lat_send: list[float] = []
    complete = missing = resyncs = 0
    for per_client, status in results:
        resyncs += status.get("resync", 0)
        for arrivals in per_client:
            got_all = True
            for ticket, (t_send, t_ret) in sent.items():
                at = arrivals.get(ticket)
                if at is None:
                    missing += 1
                    got_all = False
                    continue
                lat_ret.append(at - t_ret)
                lat_send.append(at - t_send)
            complete += bool(got_all and arrivals)
    return FanoutResult(
        n_clients,
        connected,
        len(sent),
        rate,
        duration,
        lat_ret,
        lat_send,
        complete,
        missing,
        resyncs,
        call_lat,
        errors,
        cpu1[0] - cpu0[0],
        cpu1[1] - cpu0[1],
        cpu1[2] - cpu0[2],
        f"{len(workers)} client processes (hand-rolled WebSocket protocol on uvloop), "
        f"{100 * (ccpu1 - ccpu0) / (duration + 2):.0f} % of one core during the calls",
    )


def start_profile(py_spy: str, pid: int, duration: float, log_dir: Path) -> subprocess.Popen[bytes]:
    """py-spy (not a project dependency: pass its path) sampling the gateway (and its workers) during the calls."""
    out = log_dir / "gateway.pyspy.txt"
    cmd = [py_spy, "record", "--pid", str(pid), "--duration", str(max(1, int(duration))), "--rate", "200"]
    cmd += ["--subprocesses"]
    cmd += ["--format", "raw", "--nonblocking", "--output", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_profile(proc: subprocess.Popen[bytes], path: Path, top: int = 15) -> str:
    """Self time per function and inclusive time of a few gateway frames, from py-spy's collapsed stacks."""
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "py-spy did not finish"
    if not path.exists():
        return "py-spy wrote nothing (needs ptrace permission)"
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for name in {f.split(" (")[0] for f in frames}:
            incl[name] = incl.get(name, 0) + n
    lines = [f"gateway profile: {total} samples; self time (top {top}):"]
    for name, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {100 * n / total:5.1f} %  {name}")
    lines.append("inclusive time (top 25 functions):")
    for name, n in sorted(incl.items(), key=lambda kv: -kv[1])[:25]:
        lines.append(f"  {100 * n / total:5.1f} %  {name}")
    return "\n".join(lines)


# -- report -----------------------------------------------------------------------------------------
POINT_HEAD = (
    "| run | clients | req/s | p50 ms | p95 ms | p99 ms | gateway CPU | postgres CPU | client CPU | CPU stall |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
)


def point_rows(points: list[Point]) -> str:
    return "".join(f"| {p.label} | {p.clients} | {p.cells()} |\n" for p in points)


def fanout_text(f: FanoutResult) -> str:
    def ms(values: list[float], q: float) -> str:
        return f"{_percentile(values, q) * 1000:.1f}" if values else "-"

    pairs = len(f.lat_ret)
    expected = f.clients * f.calls
    return (
        f"| display clients connected | {f.connected} / {f.clients} ({f.client_cpu_note}) |\n"
        f"| calls (call_next → {' → '.join(FINISH)}) | {f.calls} at {f.rate:g}/s for {f.duration:g} s; "
        f"call_next over HTTP p50 {ms(f.call_latencies, 0.5)} ms, p99 {ms(f.call_latencies, 0.99)} ms |\n"
        f"| (client, event) pairs received | {pairs:,} / {expected:,} "
        f"({100 * pairs / expected if expected else 0:.2f} %) |\n"
        f"| clients that got every ticket.called | {f.complete_clients} / {f.clients} "
        f"({100 * f.complete_clients / f.clients if f.clients else 0:.1f} %) |\n"
        f"| API return → client receives: p50 / p99 / max | {ms(f.lat_ret, 0.5)} / {ms(f.lat_ret, 0.99)} / "
        f"{ms(f.lat_ret, 1.0)} ms |\n"
        f"| API call sent → client receives: p50 / p99 | {ms(f.lat_send, 0.5)} / {ms(f.lat_send, 0.99)} ms |\n"
        f"| resync frames | {f.resyncs} |\n"
        f"| CPU during the calls (gateway / relay / postgres) | {100 * f.gw_cpu / (f.duration + 2):.0f} % / "
        f"{100 * f.relay_cpu / (f.duration + 2):.0f} % / {100 * f.pg_cpu / (f.duration + 2):.0f} % of one core |\n"
        + (f"| errors | {len(f.errors)}: {f.errors[0][:200]} |\n" if f.errors else "")
    )


def write_doc(body: str) -> None:
    old = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if BEGIN not in old or END not in old:
        old = old.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    pre, rest = old.split(BEGIN, 1)
    post = rest.split(END, 1)[1]
    DOC.write_text(f"{pre}{BEGIN}\n{body}{END}{post}")


class Watchdog(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise Watchdog("the benchmark ran over its time limit")


# -- main -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small version (~1 min)")
    ap.add_argument("--duration", type=float, default=None, help="seconds per HTTP point (default 5, quick 1.5)")
    ap.add_argument("--clients", default=None, help="HTTP client counts (default 1,16,64; quick 1,16)")
    ap.add_argument("--client-procs", type=int, default=4, help="max client processes for HTTP points (default 4)")
    ap.add_argument("--displays", type=int, default=None, help="WebSocket display clients (default 1000, quick 200)")
    ap.add_argument("--ws-procs", type=int, default=4, help="processes for the display clients (default 4)")
    ap.add_argument("--call-rate", type=float, default=20.0, help="calls per second (default 20)")
    ap.add_argument("--call-seconds", type=float, default=None, help="seconds of calling (default 10, quick 5)")
    ap.add_argument(
        "--workers",
        type=int,
        default=max(1, min(2, os.cpu_count() or 1)),
        help="uvicorn worker processes of the gateway (default min(2, CPUs), as `qms up`)",
    )
    ap.add_argument("--pool-max", type=int, default=None, help="QMS_POOL_MAX of each worker (default: the gateway's)")
    ap.add_argument("--skip", default="", help="comma-separated phases to skip: http,fanout,overhead")
    ap.add_argument("--py-spy", default=None, help="path of py-spy: profile the gateway during the calls")
    ap.add_argument("--no-doc", action="store_true", help="print only; do not rewrite docs/benchmarks.md")
    ap.add_argument("--time-limit", type=float, default=None, help="watchdog in seconds (default 900, quick 240)")
    args = ap.parse_args(argv)
    duration = args.duration or (1.5 if args.quick else 5.0)
    clients = [int(c) for c in (args.clients or ("1,16" if args.quick else "1,16,64")).split(",")]
    displays = args.displays or (200 if args.quick else 1000)
    call_seconds = args.call_seconds or (5.0 if args.quick else 10.0)
    skip = set(filter(None, args.skip.split(",")))
    command = "uv run python -m bench.gateway " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    nofile = raise_nofile(displays + 1024)

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(args.time_limit or (240 if args.quick else 900)))
    base = Path(tempfile.mkdtemp(prefix="qms-gwbench-"))
    cluster = Cluster(base, bin_dir=find_bin_dir())
    cluster.init(port=free_port(56500))
    with (cluster.pgdata / "postgresql.auto.conf").open("a") as fh:
        for key, value in SERVER_SETTINGS.items():
            fh.write(f"{key} = {value}\n")
    svc: Services | None = None
    http_points: list[Point] = []
    overhead: list[tuple[Point, Point]] = []
    fan: FanoutResult | None = None
    started = time.monotonic()
    load_start = os.getloadavg()
    try:
        cluster.start()
        dbs = TestDatabases(cluster, with_pgtap=False)
        dbs.build_template()
        url = dbs.clone()
        auth_url = make_conninfo("", **{**conninfo_to_dict(url), "user": "qms_authenticator"})
        log_dir = base / "logs"
        log_dir.mkdir()
        svc = start_services(url, log_dir, args.workers, args.pool_max)
        svc.postmaster = int((cluster.pgdata / "postmaster.pid").read_text().split()[0])
        print(f"cluster on port {cluster.port}, gateway at {svc.base}, relay pid {svc.relay.pid}", flush=True)

        if "http" not in skip:
            for n in clients:
                for n_services in (1, 10):
                    t = make_tenant(url, f"http{n}x{n_services}", 10)
                    label = f"create_ticket, {n_services} service{'s' if n_services > 1 else ''}"
                    p = http_point(svc, t, label, n, n_services, duration, args.client_procs)
                    http_points.append(p)
                    print(f"  HTTP {label}, {n} clients: {p.cells()}", flush=True)
                    if p.errors:
                        print(f"    first error: {p.errors[0]}", flush=True)
        if "overhead" not in skip:
            for fn in ("create_ticket", "list_services"):
                for n in (1, 16):
                    t = make_tenant(url, f"ovh-{fn[:4]}-{n}", 10)
                    direct = direct_point(svc, auth_url, t, f"{fn} direct", n, duration, fn)
                    t = make_tenant(url, f"ovh-{fn[:4]}-{n}g", 10)
                    via = http_point(svc, t, f"{fn} gateway", n, 10, duration, args.client_procs, fn)
                    overhead.append((direct, via))
                    print(f"  {fn}, {n} clients: direct {direct.cells()} | gateway {via.cells()}", flush=True)
                    for p in (direct, via):
                        if p.errors:
                            print(f"    first error ({p.label}): {p.errors[0]}", flush=True)
        if "fanout" not in skip:
            print(f"fan-out: {displays} display clients, {args.call_rate:g} calls/s for {call_seconds:g} s", flush=True)
            fan = fanout(svc, url, displays, args.ws_procs, args.call_rate, call_seconds, 30.0, args.py_spy)
            print(fanout_text(fan), flush=True)
        info = machine_info(url)
        pool_max = args.pool_max or default_pool_max(args.workers)
    finally:
        signal.alarm(0)
        if svc is not None:
            stop_process(svc.gateway)
            stop_process(svc.relay)
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)
    elapsed = time.monotonic() - started
    load_end = os.getloadavg()

    lines = [
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command.strip()}` "
        f"({duration:g} s per HTTP point, {elapsed:.0f} s in all).\n",
        f"- Machine: {info['cpu']}, {info['memory']} RAM, {info['os']}, Python {info['python']}; "
        f"open-file limit {nofile}; load average (1 min) {load_start[0]:.1f} at the start, "
        f"{load_end[0]:.1f} at the end",
        f"- Server: {info['postgres']} (settings as the engine benchmark)",
        f"- Gateway: uvicorn, {args.workers} worker{'s' if args.workers > 1 else ''} (uvloop, httptools; each "
        f"with its own pool of 2-{pool_max} connections"
        f"{' (the default for this machine)' if args.pool_max is None else ' (--pool-max)'} and LISTEN connection; "
        "WebSocket frames not compressed, as `qms up`), "
        "rate limits off, JSON access log to a file; "
        "relay: `python -m qms.relay` (5 ms poll)",
        f"- HTTP clients: one coroutine + keep-alive connection each (a minimal HTTP/1.1 client on uvloop), in up to "
        f"{args.client_procs} processes; direct clients: one process + psycopg connection each",
        "- Everything (clients, gateway, relay, postgres) shares the same cores; CPU columns are "
        "% of one core during the point (client CPU = all client processes together); CPU stall = share of "
        "the point's wall time in which some runnable task of the machine waited for a CPU (/proc/pressure/cpu, "
        "includes other work on the machine)\n",
    ]
    if http_points:
        lines += ["**1. HTTP `POST /rpc/create_ticket`**\n", POINT_HEAD + point_rows(http_points)]
    if overhead:
        rows = []
        for direct, via in overhead:
            ratio = via.tps / direct.tps if direct.tps else float("nan")
            rows.append(
                f"| {direct.label.split()[0]} | {direct.clients} | {direct.tps:,.0f} | {via.tps:,.0f} | "
                f"**{100 * ratio:.0f} %** | {direct.pct(0.5):.2f} → {via.pct(0.5):.2f} "
                f"(+{via.pct(0.5) - direct.pct(0.5):.2f}) | {direct.pct(0.99):.2f} → {via.pct(0.99):.2f} |"
            )
        lines += [
            "**3. Gateway overhead: the same api function over psycopg vs through the gateway**\n",
            "| function | clients | direct /s | gateway /s | gateway ÷ direct | p50 ms direct → gateway (Δ) "
            "| p99 ms direct → gateway |\n|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n",
            "Details (same columns as table 1):\n",
            POINT_HEAD + point_rows([p for pair in overhead for p in pair]),
        ]
    if fan is not None:
        lines += [
            f"**2. Call → display: {fan.clients} WebSocket display clients on `branch:<id>:display:all`**\n",
            "| | |\n|---|---|\n" + fanout_text(fan),
        ]
    body = "\n".join(lines) + "\n"
    print()
    print(body)
    if not args.no_doc:
        write_doc(body)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
