"""HTTP provider adapters: a configurable SMS gateway, WhatsApp Cloud API template messages and Web Push
(VAPID). Each raises TransientError / PermanentError like every provider (workers/notify_providers.py)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from jinja2.sandbox import SandboxedEnvironment

from workers.notify_providers import Message, PermanentError, SendResult, TransientError

_ENV = SandboxedEnvironment(autoescape=False)
_ENV.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False)
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def _classify(status: int, body: str) -> Exception:
    """HTTP status -> retry or not: 408, 425, 429 and 5xx may pass later; other 4xx never will."""
    cls = TransientError if status in (408, 425, 429) or status >= 500 else PermanentError
    return cls(f"HTTP {status}: {body[:200]}")


def _dig(value: Any, path: str) -> Any:
    """``messages.0.id`` -> value["messages"][0]["id"]; None when absent."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


async def _post(
    url: str, *, headers: dict[str, str], content: bytes | None = None, json_body: Any = None, timeout_s: Any = None
) -> httpx.Response:
    try:
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(float(timeout_s), connect=5.0) if timeout_s else TIMEOUT
        ) as client:
            return await client.post(url, headers=headers, content=content, json=json_body)
    except httpx.HTTPError as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc


class HttpSmsProvider:
    """SMS through any HTTP gateway. config: ``url``; ``body_template`` (Jinja2, sandboxed; variables
    ``to``, ``text``, ``idempotency_key``; filter ``json``), default a JSON object {to, text};
    ``content_type``; ``timeout_seconds`` (default 15); ``success_status`` (list, default 200/201/202); ``success_field`` +
    ``success_value`` (e.g. "status" == "ok"); ``message_id_path`` (e.g. ``messages.0.id``). secret:
    ``{"authorization": "Bearer …"}`` or ``{"username", "password"}`` (basic auth)."""

    kind = "http"

    def __init__(self, config: dict[str, Any], secret: dict[str, Any]):
        if not config.get("url"):
            raise PermanentError("the SMS provider has no url")
        self.config = config
        self.secret = secret

    async def send(self, message: Message) -> SendResult:
        if not message.recipient:
            raise PermanentError("no phone number (the contact was purged)")
        cfg = self.config
        template = cfg.get("body_template") or '{"to": {{ to | json }}, "text": {{ text | json }}}'
        body = _ENV.from_string(template).render(
            to=message.recipient, text=message.text, idempotency_key=message.idempotency_key
        )
        headers = {
            "Content-Type": str(cfg.get("content_type", "application/json")),
            "Idempotency-Key": message.idempotency_key,
        }
        if self.secret.get("authorization"):
            headers["Authorization"] = str(self.secret["authorization"])
        elif self.secret.get("username"):
            pair = f"{self.secret['username']}:{self.secret.get('password', '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        resp = await _post(
            str(cfg["url"]), headers=headers, content=body.encode(), timeout_s=cfg.get("timeout_seconds")
        )
        if resp.status_code not in cfg.get("success_status", [200, 201, 202]):
            raise _classify(resp.status_code, resp.text)
        data: Any = None
        if cfg.get("success_field") or cfg.get("message_id_path"):
            try:
                data = resp.json()
            except ValueError as exc:
                raise TransientError("the SMS provider answered no JSON") from exc
        if cfg.get("success_field") and _dig(data, str(cfg["success_field"])) != cfg.get("success_value"):
            raise PermanentError(f"the SMS provider did not accept the message: {resp.text[:200]}")
        msg_id = _dig(data, str(cfg["message_id_path"])) if cfg.get("message_id_path") else None
        return SendResult(provider_message_id=str(msg_id) if msg_id is not None else None)


class WhatsAppProvider:
    """WhatsApp template messages, Cloud API shape: POST ``{base_url}/{phone_number_id}/messages`` with a
    bearer token (secret ``{"token": …}``). Only templates approved by WhatsApp may start a conversation:
    config ``approved_templates`` maps an event to the approved template name; an event without one raises
    :class:`NotApproved` and the sender falls back to the tenant's ``fallback`` channel provider (SMS)."""

    kind = "whatsapp"

    def __init__(self, config: dict[str, Any], secret: dict[str, Any]):
        self.config = config
        self.secret = secret

    async def send(self, message: Message) -> SendResult:
        name = (self.config.get("approved_templates") or {}).get(message.event_type)
        if not name:
            raise NotApproved(f"no approved WhatsApp template for {message.event_type}")
        if not message.recipient:
            raise PermanentError("no phone number (the contact was purged)")
        params = [str(message.variables.get(v, "")) for v in self.config.get("parameters", ["ticket_number"])]
        body = {
            "messaging_product": "whatsapp",
            "to": "".join(ch for ch in message.recipient if ch.isdigit()),
            "type": "template",
            "biz_opaque_callback_data": message.idempotency_key,
            "template": {
                "name": name,
                "language": {"code": message.language},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}],
            },
        }
        base = str(self.config.get("base_url", "https://graph.facebook.com/v19.0")).rstrip("/")
        url = f"{base}/{self.config.get('phone_number_id', '')}/messages"
        headers = {
            "Authorization": f"Bearer {self.secret.get('token', '')}",
            "Idempotency-Key": message.idempotency_key,
        }
        resp = await _post(url, headers=headers, json_body=body)
        if resp.status_code >= 300:
            raise _classify(resp.status_code, resp.text)
        msg_id = _dig(resp.json(), "messages.0.id")
        return SendResult(provider_message_id=str(msg_id) if msg_id else None)


class NotApproved(PermanentError):
    """The event has no approved WhatsApp template: send through the fallback channel instead."""


def vapid_key(private_key: str) -> Any:
    """A ``py_vapid.Vapid`` from a stored private key: base64url of the raw 32-byte scalar (what
    ``generate_vapid_keys`` and common tools print) or of its DER. Never a file path (pywebpush would read one
    from disk). Raises PermanentError when the text is no P-256 private key."""
    from py_vapid import Vapid

    if not private_key or "/" in private_key or "-----" in private_key:
        raise PermanentError("vapid_private_key must be the base64url private key")
    try:
        return Vapid.from_string(private_key=private_key)
    except Exception as exc:  # py_vapid raises several kinds (binascii, ValueError, its own)
        raise PermanentError(f"vapid_private_key is not a P-256 private key: {type(exc).__name__}") from exc


def vapid_public_key(private_key: str) -> str:
    """The application server key of a VAPID private key: base64url (no padding) of the 65-byte
    uncompressed public point, the form ``PushManager.subscribe`` takes."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = vapid_key(private_key).public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).decode().rstrip("=")


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (private key, public key), both base64url without padding."""
    from cryptography.hazmat.primitives.asymmetric import ec

    scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
    private = base64.urlsafe_b64encode(scalar).decode().rstrip("=")
    return private, vapid_public_key(private)


class WebPushProvider:
    """Web Push with VAPID (pywebpush) to every subscription of the ticket's public page. secret:
    ``{"vapid_private_key": …}`` (base64url); config ``subject`` (``mailto:…``) and ``vapid_public_key``
    (what the status page subscribes with). The payload is JSON ``{title, body, tag, ticket_id,
    event_type}`` for the page's service worker. 404/410 — and Apple's 403 — mean the subscription is gone:
    it is reported for removal, not retried; other 4xx are permanent, 429/5xx and network errors transient."""

    kind = "webpush"

    def __init__(self, config: dict[str, Any], secret: dict[str, Any]):
        self.config = config
        self.vapid = vapid_key(str(secret.get("vapid_private_key", "")))

    async def send(self, message: Message) -> SendResult:
        from pywebpush import WebPushException, webpush
        from requests import RequestException

        if not message.push_subscriptions:
            raise PermanentError("the ticket has no push subscription")
        payload = json.dumps(
            {
                "title": message.subject or message.variables.get("ticket_number", ""),
                "body": message.text,
                "tag": message.idempotency_key,
                "ticket_id": message.ticket_id,
                "event_type": message.event_type,
            }
        )
        gone: list[str] = []
        sent = 0
        for sub in message.push_subscriptions:
            info = {"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}
            try:
                await asyncio.to_thread(
                    webpush,
                    info,
                    payload,
                    vapid_private_key=self.vapid,
                    vapid_claims={"sub": str(self.config.get("subject", "mailto:admin@localhost"))},
                    timeout=15,
                    headers={"Topic": message.idempotency_key[:32]},
                )
                sent += 1
            except WebPushException as exc:
                status = exc.response.status_code if exc.response is not None else 0
                apple = (urlsplit(sub["endpoint"]).hostname or "").endswith(".push.apple.com")
                if status in (404, 410) or (status == 403 and apple):
                    gone.append(sub["endpoint"])
                    continue
                raise _classify(status or 503, str(exc)) from exc
            except RequestException as exc:  # no answer from the push service: it may answer later
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        if not sent:
            raise PermanentError("every push subscription of the ticket is gone")
        return SendResult(provider_message_id=None, gone_subscriptions=gone)
