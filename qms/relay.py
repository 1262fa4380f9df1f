"""Event relay: tails ``qms.ticket_events`` by seq and NOTIFYs committed events on ``qms_events``.

Why a relay (docs/adr/0005-event-delivery.md): a ``pg_notify`` inside the engine's transactions serialises every
notifying commit cluster-wide. The engine therefore never notifies; this loop reads committed events through
``worker.relay_events`` (which only returns events below the visibility watermark, so an event whose seq is lower
but whose transaction commits later is never skipped), sends ONE ``pg_notify`` per batch of at most
``MAX_PAYLOAD`` bytes, and stores its position with ``worker.relay_ack`` in the same transaction: the NOTIFYs and
the position commit together, so every event is delivered once, in seq order, also across restarts.

Payload: ``{"events": [envelope, ...]}`` in seq order; envelope
``{"v":1,"type","seq","ts","tenant_id","branch_id","payload":{"service_id","counter_id","area_id",
"display_area_id","prev_display_area_id","ticket_id","ticket_number","status"}}`` (no PII; worker.relay_events).

Run: ``python -m qms.relay --database-url URL`` (or ``QMS_DATABASE_URL``); SIGTERM/SIGINT stop it cleanly.
Only one relay of a name delivers at a time (a session advisory lock); others wait as hot standbys.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

CHANNEL = "qms_events"
MAX_PAYLOAD = 7900  # bytes; Postgres refuses NOTIFY payloads of 8000 bytes and more

log = logging.getLogger("qms.relay")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def pack_batches(envelopes: Iterable[dict[str, Any]], limit: int = MAX_PAYLOAD) -> list[str]:
    """Split envelopes (in seq order) into ``{"events": [...]}`` payloads of at most ``limit`` UTF-8 bytes."""
    payloads: list[str] = []
    current: list[str] = []
    size = len(b'{"events":[]}')
    for envelope in envelopes:
        item = _dumps(envelope)
        item_size = len(item.encode()) + (1 if current else 0)
        if current and size + item_size > limit:
            payloads.append('{"events":[' + ",".join(current) + "]}")
            current, size, item_size = [], len(b'{"events":[]}'), len(item.encode())
        if size + item_size > limit:
            raise ValueError(f"one event envelope is larger than {limit} bytes: seq {envelope.get('seq')}")
        current.append(item)
        size += item_size
    if current:
        payloads.append('{"events":[' + ",".join(current) + "]}")
    return payloads


@dataclass
class Relay:
    """The relay loop; ``run()`` blocks until ``stop()`` (or a signal handler calls it)."""

    database_url: str
    name: str = "default"
    interval: float = 0.005
    batch: int = 500
    role: str | None = "qms_worker"
    stopping: threading.Event = field(default_factory=threading.Event)
    delivered: int = 0
    position: int = 0

    def stop(self) -> None:
        self.stopping.set()

    def connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.database_url, autocommit=True, application_name=f"qms-relay:{self.name}")
        if self.role:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(self.role)))
        conn.execute("set idle_in_transaction_session_timeout = '30s'")
        # No commit of the relay waits for its WAL flush: a lost sample is harmless, and a delivering poll's
        # NOTIFYs go out at commit either way. Only a server crash can lose the last positions stored; the
        # relay then delivers those events again, in order (harmless: the gateway lost its connection in the
        # crash and made every client resync, and clients apply only seq above their snapshot's as_of_seq).
        # Saves the flush wait per delivery.
        conn.execute("set synchronous_commit = off")
        return conn

    def acquire_leadership(self, conn: psycopg.Connection[Any]) -> bool:
        """Wait (as a standby) until this relay holds the name's advisory lock; False when stopping."""
        while not self.stopping.is_set():
            row = conn.execute("select pg_try_advisory_lock(hashtext(%s))", (f"qms.relay:{self.name}",)).fetchone()
            if row and row[0]:
                return True
            self.stopping.wait(1.0)
        return False

    def poll(self, conn: psycopg.Connection[Any]) -> int:
        """Sample the horizon in a transaction of its own, then one transaction: read settled events after the
        position, notify them, store the new position. Sampling first means an event committed before this
        poll is usually settled for the read that follows at once, not one poll interval later."""
        conn.execute("select qms.sample_event_horizon()")
        with conn.transaction():
            rows: Sequence[tuple[int, dict[str, Any]]] = conn.execute(
                "select seq, envelope from worker.relay_events(%s, %s)", (self.position, self.batch)
            ).fetchall()
            if not rows:
                return 0
            for payload in pack_batches(envelope for _, envelope in rows):
                conn.execute("select pg_notify(%s, %s)", (CHANNEL, payload))
            conn.execute("select worker.relay_ack(%s, %s)", (self.name, rows[-1][0]))
        self.position = rows[-1][0]
        self.delivered += len(rows)
        return len(rows)

    def run(self) -> None:
        backoff = 0.1
        while not self.stopping.is_set():
            try:
                with self.connect() as conn:
                    if not self.acquire_leadership(conn):
                        return
                    row = conn.execute("select worker.relay_position(%s)", (self.name,)).fetchone()
                    self.position = int(row[0]) if row else 0
                    log.info(_dumps({"msg": "relay started", "relay": self.name, "position": self.position}))
                    backoff = 0.1
                    while not self.stopping.is_set():
                        # A full batch means more is ready: poll again at once.
                        if self.poll(conn) < self.batch:
                            self.stopping.wait(self.interval)
            except psycopg.OperationalError as exc:
                log.warning(_dumps({"msg": "relay connection lost", "relay": self.name, "error": str(exc)}))
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        log.info(_dumps({"msg": "relay stopped", "relay": self.name, "position": self.position}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qms.relay", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("QMS_DATABASE_URL"))
    parser.add_argument("--name", default="default", help="relay name (its stored position)")
    parser.add_argument("--interval", type=float, default=0.005, help="poll interval in seconds when idle")
    parser.add_argument("--batch", type=int, default=500, help="events per poll")
    parser.add_argument("--role", default="qms_worker", help="role to set after connecting ('' for none)")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url or QMS_DATABASE_URL is required")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    relay = Relay(args.database_url, name=args.name, interval=args.interval, batch=args.batch, role=args.role or None)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: relay.stop())
    started = time.monotonic()
    relay.run()
    log.info(
        _dumps({"msg": "relay exit", "delivered": relay.delivered, "seconds": round(time.monotonic() - started, 3)})
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
