"""Helpers for the notification tests: a real SMTP server in-process (aiosmtpd), an HTTP stub provider that
answers, fails or hangs on demand, sender worker processes, and tickets issued through the api."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from qms.pg import free_port
from tests.engine_fixtures import Seed, connect_as, owner_rows, seed_branch


@dataclass
class Received:
    to: list[str]
    mail: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.mail["Subject"])

    def body(self, subtype: str = "plain") -> str:
        part = self.mail.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""  # type: ignore[no-any-return, attr-defined]


@dataclass
class SmtpSink:
    """aiosmtpd handler: keeps every accepted message. ``hold_rcpt`` blocks RCPT until released."""

    messages: list[Received] = field(default_factory=list)
    hold_rcpt: threading.Event | None = None
    rcpt_seen: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.rcpt_seen.set()
        if self.hold_rcpt is not None:
            await asyncio.to_thread(self.hold_rcpt.wait)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail = message_from_bytes(envelope.content or b"", policy=policy.default)
        with self.lock:
            self.messages.append(Received(list(envelope.rcpt_tos), mail))  # type: ignore[arg-type]
        return "250 Message accepted"

    def wait_for(self, n: int, timeout: float = 30.0) -> list[Received]:
        wait_until(lambda: len(self.messages) >= n, timeout, f"{n} messages")
        return list(self.messages)


def start_smtp(sink: SmtpSink) -> tuple[Controller, str]:
    port = free_port(26000 + os.getpid() % 2000)
    # server_hostname: without it every connection calls socket.getfqdn(), which may wait on reverse DNS.
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    return controller, f"smtp://127.0.0.1:{port}?starttls=off"


class StubState:
    """What the HTTP stub answers next: a list of modes consumed in order, then ``default``."""

    def __init__(self) -> None:
        self.modes: list[str] = []
        self.default = "ok"
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def next_mode(self) -> str:
        with self.lock:
            return self.modes.pop(0) if self.modes else self.default


def start_http_stub(state: StubState) -> tuple[ThreadingHTTPServer, str]:
    """POST → 'ok' 200 {"id": …}, 'transient' 503, 'permanent' 400, 'hang' sleeps 5 s, 'gone' 410."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            mode = state.next_mode()
            with state.lock:
                state.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body.decode(), "mode": mode}
                )
            if mode == "hang":
                time.sleep(5)
            status = {"ok": 200, "transient": 503, "permanent": 400, "gone": 410, "hang": 200}[mode]
            payload = json.dumps({"status": "ok", "messages": [{"id": f"msg-{len(state.requests)}"}]}).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def seed_notifying(url: str, **settings: Any) -> Seed:
    """A branch with one service and counter whose tenant has notifications on (e-mail by default)."""
    seed = seed_branch(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select tests.keep_contacts(%s)", (seed.tenant_id,))  # customers may leave an address
        conn.execute(
            "insert into qms.notification_settings (tenant_id, enabled, channels, events, max_attempts)"
            " values (%s, true, %s, %s, %s)",
            (
                seed.tenant_id,
                settings.get("channels", ["email"]),
                settings.get("events", ["ticket.created", "ticket.called", "ticket.recalled", "ticket.ahead"]),
                settings.get("max_attempts", 5),
            ),
        )
    return seed


def issue(url: str, seed: Seed, contacts: list[dict[str, Any] | None]) -> list[str]:
    """Tickets through api.create_ticket as an agent, one transaction each; their ids."""
    ids = []
    with connect_as(url, "qms_agent", seed.claims()) as conn:
        for contact in contacts:
            ticket = scalar(
                conn,
                "select api.create_ticket(service_id => %s, contact => %s)",
                (seed.service_ids[0], json.dumps(contact) if contact else None),
            )
            ids.append(str(ticket["ticket_id"]))
    return ids


def scalar(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The one value of a one-row, one-column query (connections of connect_as return dict rows)."""
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def deliveries(url: str, where: str = "true", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return owner_rows(url, f"select * from qms.notification_deliveries where {where} order by created_at", params)


_WORKER_LOGS: dict[int, IO[str]] = {}


def start_worker(
    url: str, smtp_url: str | None, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "QMS_SECRET_KEY": "test-secret", **(env or {})}
    if smtp_url:
        full_env["QMS_SMTP_URL"] = smtp_url
    else:
        full_env.pop("QMS_SMTP_URL", None)
    # The log goes to a file, not a pipe: a pipe nobody reads until the stop fills up after a few hundred
    # lines and blocks the worker in the middle of its batch.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by stop_worker
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.notify", "--database-url", url, "--poll-seconds", "0.3", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=full_env,
    )
    _WORKER_LOGS[proc.pid] = log
    return proc


def stop_worker(proc: subprocess.Popen[str], timeout: float = 15.0) -> tuple[int, list[dict[str, Any]]]:
    """SIGTERM, wait, and the JSON log lines."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    with _WORKER_LOGS.pop(proc.pid) as log:
        log.seek(0)
        out = log.read()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return proc.returncode, lines
