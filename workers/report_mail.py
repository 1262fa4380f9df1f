"""Sending a report e-mail over SMTP (aiosmtplib): an HTML body and a CSV attachment.

A small sender of the report worker's own; once the notification pipeline's e-mail adapter exists, reports can
go through it instead (same message, another transport)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    start_tls: bool = False

    @classmethod
    def from_env(cls) -> SmtpSettings | None:
        """QMS_SMTP_HOST (required to send), QMS_SMTP_PORT (25), QMS_SMTP_FROM, QMS_SMTP_USER/PASSWORD,
        QMS_SMTP_STARTTLS (1/0); None when QMS_SMTP_HOST is unset (reports are then not sent)."""
        host = os.environ.get("QMS_SMTP_HOST", "").strip()
        if not host:
            return None
        return cls(
            host=host,
            port=int(os.environ.get("QMS_SMTP_PORT", "25")),
            sender=os.environ.get("QMS_SMTP_FROM", "reports@localhost"),
            username=os.environ.get("QMS_SMTP_USER") or None,
            password=os.environ.get("QMS_SMTP_PASSWORD") or None,
            start_tls=os.environ.get("QMS_SMTP_STARTTLS", "0") == "1",
        )


def build_message(sender: str, recipients: list[str], subject: str, html: str, csv_name: str, csv: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(recipients), subject
    msg.set_content("This report is in HTML; the CSV attachment holds the same rows.")
    msg.add_alternative(html, subtype="html")
    msg.add_attachment(csv.encode(), maintype="text", subtype="csv", filename=csv_name)
    return msg


def send(settings: SmtpSettings, message: EmailMessage, timeout: float = 30.0) -> None:
    """Send one message; raises aiosmtplib.SMTPException / OSError on failure."""
    asyncio.run(
        aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            start_tls=settings.start_tls,
            timeout=timeout,
        )
    )
