"""The local mail sink of ``qms up``: ``python -m workers.mailsink --port N --database-url URL``.

An SMTP server (aiosmtpd) on 127.0.0.1 that accepts every message and keeps it in ``qms.mail_sink_messages``
under the tenant named by the sender's ``X-QMS-Tenant`` header, so a newcomer sees the notifications arrive
(``api.list_sink_messages``) without a real mail server. ``qms up`` starts it unless ``QMS_SMTP_URL`` is set.
Development only: it never relays anything."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("qms.mailsink")


def _part(mail: EmailMessage, subtype: str) -> str | None:
    body = mail.get_body(preferencelist=(subtype,))
    return str(body.get_content()) if body is not None else None


class Store:
    """aiosmtpd handler: one row per accepted message (a message without a tenant header is refused)."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.lock = threading.Lock()
        self.conn: psycopg.Connection[Any] | None = None

    def _insert(self, tenant: str, envelope: Envelope, mail: EmailMessage) -> None:
        with self.lock:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.database_url, autocommit=True, application_name="qms-mailsink")
            with self.conn.transaction():
                self.conn.execute("set local role qms_worker")
                self.conn.execute(
                    "insert into qms.mail_sink_messages (tenant_id, mail_from, rcpt_to, subject, body_text, body_html,"
                    " headers) values (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        tenant,
                        envelope.mail_from or "",
                        list(envelope.rcpt_tos),
                        str(mail["Subject"] or ""),
                        _part(mail, "plain"),
                        _part(mail, "html"),
                        json.dumps(
                            {k: str(v) for k, v in mail.items() if k.lower().startswith(("x-qms", "message-id"))}
                        ),
                    ),
                )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content or b""
        raw = content.encode() if isinstance(content, str) else content
        mail = message_from_bytes(raw, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        tenant = str(mail["X-QMS-Tenant"] or "")
        try:
            uuid.UUID(tenant)
        except ValueError:
            return "550 no X-QMS-Tenant header: this sink keeps only QMS notifications"
        try:
            self._insert(tenant, envelope, mail)
        except psycopg.Error as exc:
            log.warning(json.dumps({"event": "mailsink.store_failed", "error": str(exc).splitlines()[0]}))
            return "451 could not store the message, try again"
        log.info(json.dumps({"event": "mailsink.received", "tenant_id": tenant, "subject": str(mail["Subject"])}))
        return "250 Message accepted"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers.mailsink", description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("QMS_DATABASE_URL"))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or QMS_DATABASE_URL is required")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # server_hostname: without it each connection calls socket.getfqdn(), which may wait on reverse DNS.
    controller = Controller(Store(args.database_url), hostname="127.0.0.1", port=args.port, server_hostname="localhost")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller.start()
    log.info(json.dumps({"event": "mailsink.started", "port": args.port}))
    stop.wait()
    controller.stop()
    log.info(json.dumps({"event": "mailsink.stopped"}))


if __name__ == "__main__":
    main()
