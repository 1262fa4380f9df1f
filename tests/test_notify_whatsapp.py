"""WhatsApp template messages (Cloud API shape) through the sender worker against the HTTP stub of
tests/notify_kit.py: an approved template is sent with its parameters; an event whose template the tenant has
not had approved falls back to the tenant's SMS provider, or to e-mail (to the contact's e-mail address)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

from tests.notify_kit import (
    SmtpSink,
    StubState,
    deliveries,
    issue,
    seed_notifying,
    start_http_stub,
    start_smtp,
    start_worker,
    stop_worker,
    wait_until,
)
from workers import notify_secrets

PHONE = "+62 812 3456 789"


def _provider(url: str, tenant_id: uuid.UUID, channel: str, kind: str, config: dict[str, Any], secret: Any) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into qms.notification_providers (tenant_id, channel, kind, config, secret) values (%s, %s, %s, %s, %s)",
            (tenant_id, channel, kind, json.dumps(config), notify_secrets.encrypt(secret, key="test-secret")),
        )


def _whatsapp(url: str, tenant_id: uuid.UUID, stub_url: str, approved: dict[str, str], fallback: str | None) -> None:
    config: dict[str, Any] = {
        "base_url": stub_url,
        "phone_number_id": "1055",
        "approved_templates": approved,
        "parameters": ["ticket_number", "service_name"],
    }
    if fallback:
        config["fallback"] = fallback
    _provider(url, tenant_id, "whatsapp", "whatsapp", config, {"token": "wa-s3cret"})


def _run_until_sent(url: str, n: int, smtp_url: str | None = None) -> list[dict[str, Any]]:
    worker = start_worker(url, smtp_url)
    try:
        wait_until(lambda: [d["status"] for d in deliveries(url)] == ["sent"] * n, 30, f"{n} sent")
    finally:
        _, lines = stop_worker(worker)
    assert "s3cret" not in json.dumps(lines) and "3456" not in json.dumps(lines), "no secret, no phone in logs"
    return deliveries(url)


def test_an_approved_template_is_sent_with_its_parameters(db_url: str) -> None:
    state = StubState()
    server, stub_url = start_http_stub(state)
    seed = seed_notifying(db_url, channels=["whatsapp"])
    _whatsapp(db_url, seed.tenant_id, stub_url, {"ticket.created": "qms_ticket_issued"}, "sms")
    issue(db_url, seed, [{"phone": PHONE, "language": "id", "consent": True}])
    try:
        (row,) = _run_until_sent(db_url, 1)
    finally:
        server.shutdown()
    assert (row["channel"], row["provider"], row["provider_message_id"]) == ("whatsapp", "whatsapp", "msg-1")
    (request,) = state.requests
    assert request["path"] == "/1055/messages"
    assert request["headers"]["Authorization"] == "Bearer wa-s3cret"
    assert request["headers"]["Idempotency-Key"] == row["idempotency_key"]
    body = json.loads(request["body"])
    service = body["template"]["components"][0]["parameters"][1]["text"]
    assert body == {
        "messaging_product": "whatsapp",
        "to": "628123456789",
        "type": "template",
        "biz_opaque_callback_data": row["idempotency_key"],
        "template": {
            "name": "qms_ticket_issued",
            "language": {"code": "id"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "A-001"}, {"type": "text", "text": service}]}
            ],
        },
    }
    assert service, "the service name is the second parameter"


def test_an_unapproved_template_falls_back_to_sms(db_url: str) -> None:
    state = StubState()
    server, stub_url = start_http_stub(state)
    seed = seed_notifying(db_url, channels=["whatsapp"])
    _whatsapp(db_url, seed.tenant_id, stub_url, {"ticket.called": "qms_ticket_called"}, "sms")
    _provider(db_url, seed.tenant_id, "sms", "http", {"url": f"{stub_url}/send"}, {"authorization": "Bearer sms"})
    issue(db_url, seed, [{"phone": PHONE, "consent": True}])
    try:
        (row,) = _run_until_sent(db_url, 1)
    finally:
        server.shutdown()
    assert (row["channel"], row["event_type"], row["provider"]) == ("whatsapp", "ticket.created", "http(fallback)")
    (request,) = state.requests
    assert request["path"] == "/send" and request["headers"]["Authorization"] == "Bearer sms"
    sms = json.loads(request["body"])
    assert sms["to"] == PHONE and "A-001" in sms["text"], "the text goes to the phone by SMS instead"


def test_an_unapproved_template_falls_back_to_email(db_url: str) -> None:
    state = StubState()
    server, stub_url = start_http_stub(state)
    sink = SmtpSink()
    controller, smtp_url = start_smtp(sink)
    seed = seed_notifying(db_url, channels=["whatsapp"])
    _whatsapp(db_url, seed.tenant_id, stub_url, {}, "email")
    _provider(db_url, seed.tenant_id, "email", "smtp", {"url": smtp_url}, {})
    issue(db_url, seed, [{"phone": PHONE, "email": "ana@example.com", "consent": True}])
    try:
        (row,) = _run_until_sent(db_url, 1, smtp_url)
        (mail,) = sink.wait_for(1)
    finally:
        server.shutdown()
        controller.stop()
    assert (row["channel"], row["provider"]) == ("whatsapp", "smtp(fallback)"), "e-mail is off: one delivery only"
    assert state.requests == [], "nothing reached WhatsApp"
    assert mail.to == ["ana@example.com"], "the e-mail goes to the contact's e-mail address, not the phone"
    assert "A-001" in mail.body()
