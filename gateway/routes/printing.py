"""The printed ticket: ``POST /apps/print/ticket`` with ``{"t": "<ticket_id>.<secret>", "lang": "id"|"en",
"paper": "80"|"58"}``. A POST, so that the ticket's secret is never part of a URL (proxy access logs, history;
docs/adr/0007-public-ticket-access.md).

A kiosk puts the answer into a hidden iframe and prints it (Chromium ``--kiosk-printing`` prints silently). The
page is rendered here from ``api.get_public_ticket`` (called anonymously, like the customer's status page: the
ticket id and its secret are the only credential, and the answer has no PII) with a Jinja2 template; the QR code
of the ticket's status page is an inline SVG made by segno, so printing needs nothing from the network. The
labels are translated by the shared i18n module (static_apps/shared/i18n/*.js), the one place of the strings.
The route is registered before the ``/apps`` static mount."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field

from gateway import auth
from gateway.db import Database
from gateway.errors import ApiError

router = APIRouter(tags=["apps"])
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
# The customer's status page; create_ticket's status_url is this path followed by <ticket_id>.<secret>.
STATUS_PATH = "/apps/public/#t="


def parse_ticket_ref(t: str) -> tuple[str, str]:
    """``<ticket_id>.<secret>`` → (ticket_id, secret); 404 TICKET_NOT_FOUND when it is not of that shape."""
    ticket_id, _, secret = t.partition(".")
    try:
        uuid.UUID(ticket_id)
    except ValueError:
        secret = ""
    if not secret:
        raise ApiError(404, "TICKET_NOT_FOUND", "ticket not found", hint="Use the link printed on the ticket.")
    return ticket_id, secret


ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]{1,300}$")


def site_origin(request: Request) -> str:
    """The origin customers reach the apps at: the posting page's ``Origin`` (the kiosk's own address, also
    right behind a TLS-terminating proxy), else the request's base URL."""
    origin = request.headers.get("origin", "")
    return origin if ORIGIN.match(origin) else str(request.base_url).rstrip("/")


def qr_svg(url: str) -> str:
    """The QR code of url as an inline <svg> element (black modules, no size: CSS sizes it)."""
    svg: str = segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True, dark="#000")
    return svg


def local_time(iso: str | None, timezone: str | None) -> str:
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    return moment.astimezone(ZoneInfo(timezone or "UTC")).strftime("%d-%m-%Y %H:%M")


class PrintIn(BaseModel):
    t: str = Field(max_length=200, description="<ticket_id>.<secret> from the ticket's status_url")
    lang: Literal["id", "en"] = "id"
    paper: Literal["80", "58"] = "80"


@router.post("/apps/print/ticket", response_class=HTMLResponse)
async def print_ticket(body: PrintIn, request: Request) -> HTMLResponse:
    """The printable ticket (80 mm or 58 mm roll): number, service, branch, time, position, ETA and a QR code of
    the status page (at the posting page's origin).
    Errors: 404 TICKET_NOT_FOUND (unknown ticket, wrong secret, malformed t), 400 INVALID_REQUEST."""
    t, lang, paper = body.t, body.lang, body.paper
    ticket_id, secret = parse_ticket_ref(t)
    db: Database = request.app.state.db
    _fn, text = await db.call(
        auth.context_for_claims(request, None), "get_public_ticket", {"ticket_id": ticket_id, "secret": secret}
    )
    ticket: dict[str, Any] = json.loads(text or "{}")
    status_url = site_origin(request) + STATUS_PATH + t
    html = TEMPLATES.get_template("print_ticket.html").render(
        ticket=ticket,
        lang=lang,
        paper=paper,
        issued_at=local_time(ticket.get("created_at"), ticket.get("branch_timezone")),
        qr=qr_svg(status_url),
        status_url=status_url,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
