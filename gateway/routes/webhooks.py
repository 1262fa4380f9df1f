"""Notification routes that are not one ``api`` call under the caller's token:

* ``POST /webhooks/notifications/report`` — a provider's delivery callback ``{message_id, status, error}``
  (status ``delivered`` or ``failed``), and ``POST /webhooks/notifications/inbound/{tenant_id}`` — an
  inbound SMS ``{from, text}`` whose text is a STOP keyword. Both are signed: header ``X-QMS-Signature:
  sha256=<hex HMAC-SHA256 of the raw body keyed by QMS_WEBHOOK_SECRET>``. They record through the platform
  functions of schema ``worker`` under role qms_worker — set here by the gateway itself, never from a token.
* ``GET /notifications/unsubscribe?token=…`` — the link in every message (anonymous).
* ``POST /api/notification-templates/preview`` — admin: render a template (a version, the active one or the
  shipped default, read with ``api.get_notification_template`` under the caller's token) with sample data;
  a draft (``subject``/``body_text``/``body_html`` sent along) replaces the read template's text, so the
  console previews what the admin types before it is saved as a version.
* ``PUT /api/notification-providers/{channel}`` — admin: encrypt the credentials with ``QMS_SECRET_KEY`` and
  store them with ``api.set_notification_provider``; they are never returned. For ``webpush`` the VAPID
  public key (``config.vapid_public_key``, what the status page subscribes with) is derived here from the
  private key, so the two always match; ``{"vapid_private_key": "generate"}`` makes a new pair.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway import auth
from gateway.db import Database, RequestContext
from gateway.errors import ApiError
from gateway.routes.rpc import json_object, json_response
from workers import notify_http, notify_secrets
from workers.notify_providers import PermanentError
from workers.notify_render import TemplateError, render

router = APIRouter()

STOP_WORDS = frozenset({"stop", "unsubscribe", "berhenti", "unreg", "cancel"})
SAMPLE = {
    "ticket_number": "A-012",
    "branch_name": "Main branch",
    "service_name": "Customer service",
    "counter_name": "Counter 3",
    "position": 4,
    "eta_minutes": 12,
    "status_url": "https://example.org/apps/public/#t=sample",
    "unsubscribe_url": "https://example.org/notifications/unsubscribe?token=sample",
}


def _worker_context(request: Request) -> RequestContext:
    claims = {"role": "qms_worker", "sub": "gateway-webhook"}
    return RequestContext("qms_worker", claims, {}, str(getattr(request.state, "request_id", "")), True)


async def _signed_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    secret = os.environ.get("QMS_WEBHOOK_SECRET", "")
    given = request.headers.get("x-qms-signature", "").removeprefix("sha256=")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not secret or not hmac.compare_digest(given, expected):
        raise ApiError(
            401,
            "INVALID_SIGNATURE",
            "the webhook signature is missing or wrong",
            hint="Sign the raw body: X-QMS-Signature: sha256=<hex HMAC-SHA256 with the shared secret>.",
        )
    return json_object(request)


@router.post("/webhooks/notifications/report", include_in_schema=False)
async def delivery_report(request: Request) -> Response:
    data = await _signed_json(request)
    status = {"delivered": "delivered", "failed": "permanent_failure"}.get(
        str(data.get("status")), str(data.get("status"))
    )
    db: Database = request.app.state.db
    row = await db.fetch_one(
        _worker_context(request),
        "select worker.record_delivery_report(provider_message_id => %s, status => %s, error => %s)",
        (str(data.get("message_id", "")), status, data.get("error")),
    )
    return json_response(json.dumps({"updated": row[0] if row else 0}))


@router.post("/webhooks/notifications/inbound/{tenant_id}", include_in_schema=False)
async def inbound_sms(tenant_id: uuid.UUID, request: Request) -> Response:
    data = await _signed_json(request)
    words = str(data.get("text", "")).strip().lower().split()
    if not words or words[0] not in STOP_WORDS or not data.get("from"):
        return json_response(json.dumps({"stopped": False}))
    db: Database = request.app.state.db
    await db.fetch_one(
        _worker_context(request),
        "select worker.suppress_address(tenant_id => %s, channel => 'sms', address => %s, reason => 'STOP')",
        (str(tenant_id), str(data["from"])),
    )
    return json_response(json.dumps({"stopped": True}))


@router.get("/notifications/unsubscribe", include_in_schema=False)
async def unsubscribe(request: Request, token: uuid.UUID) -> Response:
    db: Database = request.app.state.db
    await db.call(auth.request_context(request), "unsubscribe_notifications", {"token": str(token)})
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Unsubscribed</title>"
        "<p>You will get no more messages about this ticket. / Anda tidak akan menerima pesan lagi untuk nomor ini.</p>"
    )


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_type: str | None = None
    channel: str | None = None
    language: str = Field(default="en", pattern="^[a-z]{2}$")
    template_id: uuid.UUID | None = None
    variables: dict[str, Any] | None = None
    # A draft's text (the limits of api.create_notification_template): rendered instead of the stored text.
    subject: str | None = Field(default=None, max_length=500)
    body_text: str | None = Field(default=None, max_length=10000)
    body_html: str | None = Field(default=None, max_length=50000)


DRAFT_FIELDS = ("subject", "body_text", "body_html")


@router.post("/api/notification-templates/preview", tags=["notifications"])
async def preview(body: PreviewIn, request: Request) -> Response:
    """Render a template, or a draft of its slot, with sample data (or the given variables):
    {subject, text, html, missing}."""
    db: Database = request.app.state.db
    args = {k: str(v) for k, v in body.model_dump(exclude={"variables", *DRAFT_FIELDS}).items() if v is not None}
    if body.template_id is not None:
        args = {"template_id": str(body.template_id)}
    _fn, text = await db.call(auth.request_context(request), "get_notification_template", args)
    template = json.loads(text or "{}")
    if body.body_text is not None:
        template.update({k: getattr(body, k) for k in DRAFT_FIELDS})
    try:
        out = render(template, {**SAMPLE, **(body.variables or {})}, str(template.get("language", body.language)))
    except TemplateError as exc:
        raise ApiError(400, "INVALID_TEMPLATE", str(exc), hint="Fix the Jinja2 syntax of the template.") from exc
    return json_response(
        json.dumps({"subject": out.subject, "text": out.text, "html": out.html, "missing": out.missing})
    )


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["smtp", "http", "log", "whatsapp", "webpush"]
    config: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, Any] | None = None


@router.put("/api/notification-providers/{channel}", tags=["notifications"])
async def set_provider(channel: str, body: ProviderIn, request: Request) -> Response:
    """Store a channel's provider; ``credentials`` are encrypted here and never returned."""
    db: Database = request.app.state.db
    args: dict[str, Any] = {"channel": channel, "kind": body.kind, "config": body.config}
    if body.kind == "webpush" and body.credentials is not None:
        body.credentials, args["config"] = _vapid(body.credentials, body.config)
    if body.credentials is not None:
        try:
            args["secret"] = notify_secrets.encrypt(body.credentials)
        except notify_secrets.SecretKeyError as exc:
            raise ApiError(
                503, "SECRET_KEY_MISSING", str(exc), hint="Set QMS_SECRET_KEY for the gateway and the sender."
            ) from exc
    _fn, text = await db.call(auth.request_context(request), "set_notification_provider", args)
    return json_response(text or "null")


def _vapid(credentials: dict[str, Any], config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Web Push credentials and config: a generated pair for ``"generate"``, the public key derived from the
    private one (400 INVALID_NOTIFICATION_PROVIDER when it is no P-256 key)."""
    private = str(credentials.get("vapid_private_key", ""))
    if private == "generate":
        private, _public = notify_http.generate_vapid_keys()
    try:
        public = notify_http.vapid_public_key(private)
    except PermanentError as exc:
        raise ApiError(
            400,
            "INVALID_NOTIFICATION_PROVIDER",
            str(exc),
            hint='Send {"vapid_private_key": "<base64url key>"} or {"vapid_private_key": "generate"}.',
        ) from exc
    return {**credentials, "vapid_private_key": private}, {**config, "vapid_public_key": public}
