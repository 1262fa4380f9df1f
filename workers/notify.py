"""The notification sender: ``python -m workers.notify --database-url URL`` (started by ``qms up``).

It claims due deliveries through ``worker.claim_notifications`` (``for update skip locked`` + a lease, as
qms_worker), commits, renders each (workers/notify_render.py), sends it through the tenant's provider for the
channel (workers/notify_providers.py) and records the outcome with ``worker.finish_notification`` (sent,
retry with backoff and jitter, or dead — the rule lives in SQL). LISTEN ``qms_notifications`` wakes it; it
polls as a fallback. A sender killed mid-send loses nothing: its lease runs out and the next claim retries
the delivery. SIGTERM/SIGINT stop it after the sends in flight. Logs are JSON lines; contact data is masked."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client import Counter, Histogram, start_http_server

from workers import notify_providers as providers
from workers.notify_http import NotApproved
from workers.notify_render import TemplateError, render
from workers.notify_secrets import SecretKeyError

log = logging.getLogger("qms.notify")
CHANNEL = "qms_notifications"

SENDS = Counter("qms_notify_sends_total", "Send attempts by channel and outcome", ["channel", "outcome"])
SEND_SECONDS = Histogram(
    "qms_notify_send_duration_seconds",
    "Time to hand one message to its provider",
    ["channel"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


@dataclass
class Options:
    database_url: str
    worker_id: str
    batch: int = 20
    concurrency: int = 8
    lease_seconds: int = 60
    poll_seconds: float = 2.0
    retry_base_seconds: float = 5.0
    public_url: str = "http://127.0.0.1:8000"


def log_event(event: str, **fields: object) -> None:
    log.info(json.dumps({"event": event, **fields}, default=str))


class Db:
    """One connection shared by the sends in flight: a lock keeps each call's transaction to itself."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]):
        self.conn = conn
        self.lock = asyncio.Lock()

    async def call(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        async with self.lock, self.conn.transaction():
            await self.conn.execute("set local role qms_worker")
            cur = await self.conn.execute(sql, args)
            return await cur.fetchall() if cur.description else []


def _message(
    row: dict[str, Any], opts: Options, rendered_subject: str | None, text: str, html: str | None
) -> providers.Message:
    token = row.get("unsubscribe_token")
    return providers.Message(
        delivery_id=row["delivery_id"],
        tenant_id=row["tenant_id"],
        ticket_id=row["ticket_id"],
        channel=row["channel"],
        event_type=row["event_type"],
        language=row["language"],
        recipient=row.get("recipient"),
        subject=rendered_subject,
        text=text,
        html=html,
        idempotency_key=row["idempotency_key"],
        variables=row.get("vars") or {},
        unsubscribe_url=f"{opts.public_url}/notifications/unsubscribe?token={token}" if token else None,
        push_subscriptions=row.get("push_subscriptions") or [],
    )


async def send_one(row: dict[str, Any], opts: Options) -> tuple[str, str | None, providers.SendResult | None, str]:
    """Render and send one claimed delivery: (outcome, error, result, provider kind). Never raises."""
    variables = dict(row.get("vars") or {})
    if str(variables.get("status_url", "")).startswith("/"):
        variables["status_url"] = f"{opts.public_url}{variables['status_url']}"
    if row.get("unsubscribe_token"):
        variables["unsubscribe_url"] = f"{opts.public_url}/notifications/unsubscribe?token={row['unsubscribe_token']}"
    kind = "none"
    try:
        out = render(row["template"], variables, row["language"], context=row["delivery_id"])
        message = _message(row, opts, out.subject, out.text, out.html)
        provider = providers.provider_for(row["channel"], row.get("provider"))
        kind = provider.kind
        try:
            result = await asyncio.wait_for(provider.send(message), providers.SEND_TIMEOUT + 5)
        except NotApproved:
            fallback = row.get("fallback_provider")
            if not fallback:
                raise
            provider = providers.provider_for(str(fallback["channel"]), fallback)
            kind = f"{provider.kind}(fallback)"
            # The fallback channel's own address (an e-mail fallback goes to the e-mail, not the phone).
            message = dataclasses.replace(
                message, channel=str(fallback["channel"]), recipient=row.get("fallback_recipient")
            )
            result = await asyncio.wait_for(provider.send(message), providers.SEND_TIMEOUT + 5)
        return "sent", None, result, kind
    except (providers.PermanentError, TemplateError) as exc:
        return "permanent_failure", str(exc), None, kind
    except (providers.TransientError, SecretKeyError, TimeoutError) as exc:
        return "temporary_failure", str(exc) or type(exc).__name__, None, kind
    except Exception as exc:  # a bug in an adapter must not stop the sender: retry, and say so
        log.exception("notify.adapter_error")
        return "temporary_failure", f"{type(exc).__name__}: {exc}", None, kind


async def process(db: Db, row: dict[str, Any], opts: Options, sem: asyncio.Semaphore) -> None:
    async with sem:
        started = time.monotonic()
        outcome, error, result, kind = await send_one(row, opts)
        elapsed = time.monotonic() - started
    SEND_SECONDS.labels(row["channel"]).observe(elapsed)
    SENDS.labels(row["channel"], outcome).inc()
    template = row.get("template") or {}
    try:
        status = await db.call(
            "select worker.finish_notification(tenant_id => %s, delivery_id => %s, worker_id => %s, outcome => %s,"
            " error => %s, provider_message_id => %s, provider => %s, template_id => %s, template_version => %s,"
            " retry_base_seconds => %s)",
            (
                row["tenant_id"],
                row["delivery_id"],
                opts.worker_id,
                outcome,
                error,
                result.provider_message_id if result else None,
                kind,
                template.get("template_id"),
                template.get("version"),
                opts.retry_base_seconds,
            ),
        )
        for endpoint in result.gone_subscriptions if result else []:
            await db.call(
                "select worker.remove_push_subscription(%s, %s, %s)", (row["tenant_id"], row["ticket_id"], endpoint)
            )
    except psycopg.errors.DatabaseError as exc:
        # LEASE_LOST: the lease ran out while sending and another sender owns the delivery now.
        log_event("notify.finish_failed", delivery_id=row["delivery_id"], error=str(exc).splitlines()[0])
        return
    log_event(
        "notify.sent" if outcome == "sent" else "notify.failed",
        delivery_id=row["delivery_id"],
        tenant_id=row["tenant_id"],
        channel=row["channel"],
        event_type=row["event_type"],
        attempt=row["attempt"],
        status=status[0][0] if status else None,
        provider=kind,
        recipient=providers.mask(row.get("recipient")),
        ms=round(elapsed * 1000, 1),
        **({"error": error} if error else {}),
    )


async def claim(db: Db, opts: Options) -> list[dict[str, Any]]:
    rows = await db.call(
        "select c from worker.claim_notifications(worker_id => %s, max_rows => %s, lease_seconds => %s) c",
        (opts.worker_id, opts.batch, opts.lease_seconds),
    )
    return [r[0] for r in rows]


async def _listen(url: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Set ``wake`` on every NOTIFY; reconnect after a lost connection (polling covers the gap)."""
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(f"listen {CHANNEL}")
                async for _ in conn.notifies():
                    wake.set()
        except psycopg.OperationalError:
            await asyncio.sleep(1.0)


async def run(opts: Options, stop: asyncio.Event) -> None:
    wake = asyncio.Event()
    listener = asyncio.create_task(_listen(opts.database_url, wake, stop))
    sem = asyncio.Semaphore(opts.concurrency)
    backoff = 0.5
    try:
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    opts.database_url, autocommit=True, application_name="qms-notify"
                ) as conn:
                    backoff = 0.5
                    db = Db(conn)
                    while not stop.is_set():
                        wake.clear()
                        rows = await claim(db, opts)
                        if rows:
                            await asyncio.gather(*(process(db, r, opts, sem) for r in rows))
                        if len(rows) >= opts.batch:
                            continue  # a full batch: more is waiting
                        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
                        await asyncio.wait(waiters, timeout=opts.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
                        for w in waiters:
                            w.cancel()
            except psycopg.OperationalError as exc:
                log_event("notify.connection_lost", error=str(exc).splitlines()[0], retry_in=backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 10.0)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers.notify", description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("QMS_DATABASE_URL"))
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lease-seconds", type=int, default=60)
    parser.add_argument("--poll-seconds", type=float, default=2.0)
    parser.add_argument("--retry-base-seconds", type=float, default=float(os.environ.get("QMS_NOTIFY_RETRY_BASE", "5")))
    parser.add_argument("--public-url", default=os.environ.get("QMS_PUBLIC_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--metrics-port", type=int, default=int(os.environ.get("QMS_NOTIFY_METRICS_PORT", "0")))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or QMS_DATABASE_URL is required")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    opts = Options(
        database_url=args.database_url,
        worker_id=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
        batch=args.batch,
        concurrency=args.concurrency,
        lease_seconds=args.lease_seconds,
        poll_seconds=args.poll_seconds,
        retry_base_seconds=args.retry_base_seconds,
        public_url=args.public_url.rstrip("/"),
    )
    if args.metrics_port:
        start_http_server(args.metrics_port, addr="127.0.0.1")

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            log_event("notify.stopping", signal=sig.name)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        log_event("notify.started", worker_id=opts.worker_id, smtp_default=bool(os.environ.get("QMS_SMTP_URL")))
        await run(opts, stop)
        log_event("notify.stopped", worker_id=opts.worker_id)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
