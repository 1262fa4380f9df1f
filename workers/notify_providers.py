"""Provider adapters behind one small interface: ``await provider.send(message) -> SendResult``, raising
:class:`TransientError` (retry later) or :class:`PermanentError` (never retry). The provider of a delivery is
chosen per tenant and channel from its ``qms.notification_providers`` row (``kind`` + ``config`` + the
encrypted ``secret``); e-mail falls back to ``QMS_SMTP_URL``. Switching provider is a row change: no queue
code knows which provider sends."""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from workers import notify_secrets

log = logging.getLogger("qms.notify")

SEND_TIMEOUT = 30.0  # seconds; leases must be longer (worker.claim_notifications' lease_seconds)


class TransientError(Exception):
    """The provider may accept the message later (timeout, 4xx SMTP, HTTP 429/5xx)."""


class PermanentError(Exception):
    """The provider refused the message for good (bad address, auth, template); retrying cannot help."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    maintype: str
    subtype: str
    content: bytes


@dataclass
class Message:
    delivery_id: str
    tenant_id: str
    ticket_id: str
    channel: str
    event_type: str
    language: str
    recipient: str | None
    subject: str | None
    text: str
    html: str | None
    idempotency_key: str
    variables: dict[str, Any] = field(default_factory=dict)
    unsubscribe_url: str | None = None
    push_subscriptions: list[dict[str, str]] = field(default_factory=list)
    # E-mail only: further addresses beside ``recipient`` (one message to all) and files to attach.
    more_recipients: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class SendResult:
    provider_message_id: str | None
    # Push subscriptions the push service said are gone (removed by the sender).
    gone_subscriptions: list[str] = field(default_factory=list)


class Provider(Protocol):
    kind: str

    async def send(self, message: Message) -> SendResult: ...


def mask(address: str | None) -> str:
    """An address for logs: first and last characters only."""
    if not address:
        return ""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain[:1]}***"
    return f"{address[:3]}***{address[-2:]}"


@functools.cache
def _tls_context(verify: bool) -> ssl.SSLContext:
    """One TLS context per process: loading the CA store takes a quarter of a second, far more than a send."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpProvider:
    """E-mail over SMTP with aiosmtplib. URL ``smtp://user:pass@host:port`` (STARTTLS when the server
    offers it; ``?starttls=require`` insists), ``smtps://…`` (implicit TLS); ``?from=`` sets the sender."""

    kind = "smtp"

    def __init__(self, url: str, sender: str | None = None, username: str | None = None, password: str | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise PermanentError(f"unsupported SMTP URL scheme {parts.scheme!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.use_tls = parts.scheme == "smtps"
        starttls = query.get("starttls", "auto")
        self.start_tls: bool | None = True if starttls == "require" else False if starttls == "off" else None
        self.username = username or (unquote(parts.username) if parts.username else None)
        self.password = password or (unquote(parts.password) if parts.password else None)
        self.sender = sender or query.get("from") or os.environ.get("QMS_MAIL_FROM") or "QMS <noreply@localhost>"
        self.verify_tls = query.get("verify", "1") != "0"
        # EHLO name: the host name as is (aiosmtplib's default, getfqdn(), may wait seconds on reverse DNS).
        self.helo = query.get("helo") or os.environ.get("QMS_SMTP_HELO") or socket.gethostname()

    def build(self, message: Message) -> EmailMessage:
        if not message.recipient:
            raise PermanentError("no e-mail address (the contact was purged)")
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = ", ".join(formataddr(("", a)) for a in [message.recipient, *message.more_recipients])
        mail["Subject"] = message.subject or ""
        # The idempotency key is the Message-ID: a provider (or a mailbox) dedupes a repeated send by it.
        mail["Message-ID"] = make_msgid(idstring=message.idempotency_key, domain="qms.local")
        mail["X-QMS-Idempotency-Key"] = message.idempotency_key
        mail["X-QMS-Tenant"] = message.tenant_id
        if message.unsubscribe_url:
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        for a in message.attachments:
            mail.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
        return mail

    async def send(self, message: Message) -> SendResult:
        mail = self.build(message)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                tls_context=_tls_context(self.verify_tls),
                local_hostname=self.helo,
                timeout=SEND_TIMEOUT,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [err.code for err in exc.recipients]
            raise (TransientError if all(400 <= c < 500 for c in codes) else PermanentError)(
                f"recipient refused: {codes}"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            cls = TransientError if 400 <= exc.code < 500 else PermanentError
            if exc.code in (535, 530):  # authentication: an operator must fix the credentials
                cls = PermanentError
            raise cls(f"SMTP {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"SMTP {type(exc).__name__}: {exc}") from exc
        return SendResult(provider_message_id=str(mail["Message-ID"]))


class LogProvider:
    """Development provider: logs that it would send (recipient masked, no body), sends nothing."""

    kind = "log"

    async def send(self, message: Message) -> SendResult:
        log.info(
            json.dumps(
                {
                    "event": "notify.log_provider",
                    "delivery_id": message.delivery_id,
                    "tenant_id": message.tenant_id,
                    "channel": message.channel,
                    "recipient": mask(message.recipient),
                    "chars": len(message.text),
                }
            )
        )
        return SendResult(provider_message_id=f"log-{message.idempotency_key}")


def provider_for(channel: str, spec: dict[str, Any] | None) -> Provider:
    """The provider of a claimed delivery: its tenant's row for the channel, else the platform default
    (QMS_SMTP_URL for e-mail). Raises PermanentError when there is none."""
    from workers import notify_http  # the HTTP adapters import httpx/pywebpush; only when needed

    if spec is None:
        if channel == "email" and os.environ.get("QMS_SMTP_URL"):
            return SmtpProvider(os.environ["QMS_SMTP_URL"])
        raise PermanentError(f"no {channel} provider is configured for this tenant")
    kind = str(spec["kind"])
    config: dict[str, Any] = dict(spec.get("config") or {})
    secret = notify_secrets.decrypt(spec["secret"]) if spec.get("secret") else {}
    if kind == "smtp":
        return SmtpProvider(
            str(config.get("url") or os.environ.get("QMS_SMTP_URL", "")),
            sender=config.get("from"),
            username=secret.get("username"),
            password=secret.get("password"),
        )
    if kind == "log":
        return LogProvider()
    if kind == "http":
        return notify_http.HttpSmsProvider(config, secret)
    if kind == "whatsapp":
        return notify_http.WhatsAppProvider(config, secret)
    if kind == "webpush":
        return notify_http.WebPushProvider(config, secret)
    raise PermanentError(f"unknown provider kind {kind!r}")
