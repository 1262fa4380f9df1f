"""Notification routes of the gateway: signed provider callbacks and inbound STOP, the unsubscribe link,
template preview, provider credentials encrypted and never returned, the webpush provider's derived public key
and the status page's push subscription over /rpc."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.engine_fixtures import connect_as
from tests.gateway.gwkit import Gateway, Tenant, login, make_tenant, start_gateway, stop_gateway
from tests.push_kit import Subscriber
from workers import notify_http, notify_secrets

SECRET = "hook-secret"
KEY = "fernet-test-key"


@pytest.fixture(scope="module")
def gw(gw_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(
        gw_db, Path(tmp_path_factory.mktemp("gw-notify")), QMS_WEBHOOK_SECRET=SECRET, QMS_SECRET_KEY=KEY
    )
    try:
        yield gateway
    finally:
        stop_gateway(gateway)


def _ticket_with_delivery(t: Tenant) -> tuple[str, str]:
    """A ticket with an e-mail contact whose created-delivery is marked sent as message <id>; (ticket, msg id)."""
    service = str(uuid.uuid4())
    t.sql(
        "insert into qms.services (tenant_id, service_id, branch_id, name, prefix) values (%s, %s, %s, 'S', 'S')",
        (t.tenant_id, service, t.branch_id),
    )
    t.sql(
        "insert into qms.notification_settings (tenant_id, enabled, channels) values (%s, true, '{email,sms}')",
        (t.tenant_id,),
    )
    t.sql("update qms.tenants set pii_policy = '{\"contacts\": true}' where tenant_id = %s", (t.tenant_id,))
    claims = {"role": "qms_agent", "tenant_id": t.tenant_id, "branch_ids": [t.branch_id], "sub": "agent"}
    with connect_as(t.db_url, "qms_agent", claims) as conn:
        row = conn.execute(
            "select api.create_ticket(service_id => %s, contact => %s) t",
            (service, json.dumps({"email": "ida@example.com", "phone": "+62 811 222", "consent": True})),
        ).fetchone()
    assert row is not None
    ticket = str(row["t"]["ticket_id"])
    msg = f"<{uuid.uuid4()}@qms.local>"
    t.sql(
        "update qms.notification_deliveries set status = 'sent', provider_message_id = %s where ticket_id = %s and channel = 'email'",
        (msg, ticket),
    )
    return ticket, msg


def _signed(body: dict[str, object], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    sig = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-QMS-Signature": f"sha256={sig}", "Content-Type": "application/json"}


def test_delivery_report_needs_a_valid_signature(gw: Gateway) -> None:
    t = make_tenant(gw.db_url)
    ticket, msg = _ticket_with_delivery(t)
    raw, headers = _signed({"message_id": msg, "status": "delivered"}, secret="wrong")
    r = httpx.post(f"{gw.url}/webhooks/notifications/report", content=raw, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_SIGNATURE"
    raw, headers = _signed({"message_id": msg, "status": "delivered"})
    r = httpx.post(f"{gw.url}/webhooks/notifications/report", content=raw, headers=headers)
    assert r.status_code == 200 and r.json() == {"updated": 1}
    assert t.sql("select status from qms.notification_deliveries where provider_message_id = %s", (msg,)) == [
        ("delivered",)
    ]
    raw, headers = _signed({"message_id": msg, "status": "read"})
    r = httpx.post(f"{gw.url}/webhooks/notifications/report", content=raw, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REPORT_STATUS"
    assert ticket


def test_inbound_stop_suppresses_the_phone(gw: Gateway) -> None:
    t = make_tenant(gw.db_url)
    ticket, _ = _ticket_with_delivery(t)
    raw, headers = _signed({"from": "+62811222", "text": " stop please"})
    r = httpx.post(f"{gw.url}/webhooks/notifications/inbound/{t.tenant_id}", content=raw, headers=headers)
    assert r.status_code == 200 and r.json() == {"stopped": True}
    assert t.sql("select notify from qms.ticket_contacts where ticket_id = %s", (ticket,)) == [(False,)]
    assert t.sql("select channel, reason from qms.notification_suppressions where tenant_id = %s", (t.tenant_id,)) == [
        ("sms", "STOP")
    ]


def test_unsubscribe_link_works_without_a_token(gw: Gateway) -> None:
    t = make_tenant(gw.db_url)
    ticket, _ = _ticket_with_delivery(t)
    ((token,),) = t.sql("select unsubscribe_token from qms.ticket_contacts where ticket_id = %s", (ticket,))
    r = httpx.get(f"{gw.url}/notifications/unsubscribe", params={"token": str(token)})
    assert r.status_code == 200 and "no more messages" in r.text
    assert t.sql("select notify from qms.ticket_contacts where ticket_id = %s", (ticket,)) == [(False,)]
    r = httpx.get(f"{gw.url}/notifications/unsubscribe", params={"token": str(uuid.uuid4())})
    assert r.status_code == 404 and r.json()["code"] == "UNSUBSCRIBE_TOKEN_NOT_FOUND"


def test_preview_renders_with_sample_data_and_reports_missing_variables(gw: Gateway) -> None:
    t = make_tenant(gw.db_url)
    admin = gw.client(login(gw, t)["access_token"])
    r = admin.post(
        "/api/notification-templates/preview",
        json={"event_type": "ticket.called", "channel": "email", "language": "id"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["subject"] == "A-012: silakan menuju Counter 3"
    created = admin.post(
        "/rpc/create_notification_template",
        json={
            "event_type": "ticket.called",
            "channel": "sms",
            "language": "en",
            "body_text": "{{ ticket_number }} {{ nope }}",
        },
    )
    assert created.status_code == 200, created.text
    r = admin.post("/api/notification-templates/preview", json={"template_id": created.json()["template_id"]})
    assert r.json()["text"] == "A-012 " and r.json()["missing"] == ["nope"]
    bad = admin.post(
        "/rpc/create_notification_template",
        json={"event_type": "ticket.called", "channel": "sms", "language": "en", "body_text": "{{ broken"},
    )
    r = admin.post("/api/notification-templates/preview", json={"template_id": bad.json()["template_id"]})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_TEMPLATE"
    agent = gw.client(login(gw, t, "agent")["access_token"])
    r = agent.post("/api/notification-templates/preview", json={"event_type": "ticket.called", "channel": "sms"})
    assert r.status_code == 403
    draft = {"event_type": "ticket.called", "channel": "email", "language": "en", "subject": "{{ ticket_number }}!"}
    r = admin.post(
        "/api/notification-templates/preview",
        json={**draft, "body_text": "Hi {{ who }} <b>", "body_html": "<p>{{ '<' }}</p>"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"subject": "A-012!", "text": "Hi  <b>", "html": "<p>&lt;</p>", "missing": ["who"]}
    r = admin.post(
        "/api/notification-templates/preview", json={**draft, "event_type": "ticket.served", "body_text": "x"}
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_TEMPLATE", "a draft still names a real slot"
    r = agent.post("/api/notification-templates/preview", json={**draft, "body_text": "x"})
    assert r.status_code == 403, "a draft is rendered for admins only"


def test_provider_credentials_are_encrypted_and_never_returned(gw: Gateway) -> None:
    t = make_tenant(gw.db_url)
    admin = gw.client(login(gw, t)["access_token"])
    r = admin.put(
        "/api/notification-providers/sms",
        json={
            "kind": "http",
            "config": {"url": "https://sms.example/send"},
            "credentials": {"authorization": "Bearer top-secret"},
        },
    )
    assert r.status_code == 200, r.text
    assert "top-secret" not in r.text and "secret" not in r.json()
    ((stored,),) = t.sql("select secret from qms.notification_providers where tenant_id = %s", (t.tenant_id,))
    assert "top-secret" not in stored
    assert notify_secrets.decrypt(stored, key=KEY) == {"authorization": "Bearer top-secret"}
    settings = admin.post("/rpc/get_notification_settings", json={})
    assert "top-secret" not in settings.text and settings.json()["providers"][0]["kind"] == "http"
    assert settings.json()["providers"][0]["secret_set"] is True
    r = admin.put("/api/notification-providers/sms", json={"kind": "smtp"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_NOTIFICATION_PROVIDER"


def test_webpush_provider_key_is_derived_and_the_status_page_subscribes_over_rpc(gw: Gateway) -> None:
    t = make_tenant(gw.db_url)
    admin = gw.client(login(gw, t)["access_token"])
    r = admin.put(
        "/api/notification-providers/push",
        json={
            "kind": "webpush",
            "config": {"subject": "mailto:ops@example.com"},
            "credentials": {"vapid_private_key": "bad"},
        },
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_NOTIFICATION_PROVIDER", r.text
    r = admin.put(
        "/api/notification-providers/push",
        json={
            "kind": "webpush",
            "config": {"subject": "mailto:ops@example.com"},
            "credentials": {"vapid_private_key": "generate"},
        },
    )
    assert r.status_code == 200, r.text
    public = r.json()["config"]["vapid_public_key"]
    ((stored,),) = t.sql("select secret from qms.notification_providers where tenant_id = %s", (t.tenant_id,))
    private = notify_secrets.decrypt(stored, key=KEY)["vapid_private_key"]
    assert notify_http.vapid_public_key(private) == public and private not in r.text, "the pair matches; private stays"
    assert admin.post("/rpc/set_notification_settings", json={"enabled": True, "channels": ["push"]}).status_code == 200
    service = admin.post("/rpc/create_service", json={"branch_id": t.branch_id, "name": "Teller", "prefix": "A"}).json()
    ticket = admin.post("/rpc/create_ticket", json={"service_id": service["service_id"]}).json()
    ref = {"ticket_id": ticket["ticket_id"], "secret": ticket["status_url"].split("#t=")[1].split(".")[1]}
    anon = gw.client()
    r = anon.get("/rpc/get_public_push_config", params=ref)
    assert r.status_code == 200 and r.json() == {"available": True, "application_server_key": public}, r.text
    sub = Subscriber("https://fcm.googleapis.com/fcm/send/gw").subscription()
    r = anon.post("/rpc/subscribe_public_push", json={**ref, "subscription": sub, "language": "en"})
    assert r.status_code == 200 and r.json() == {"subscribed": True, "subscriptions": 1}, r.text
    r = anon.post("/rpc/subscribe_public_push", json={**ref, "subscription": {**sub, "endpoint": "http://x.example/"}})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_PUSH_SUBSCRIPTION", r.text
    r = anon.post("/rpc/subscribe_public_push", json={**ref, "secret": "wrong", "subscription": sub})
    assert r.status_code == 404 and r.json()["code"] == "TICKET_NOT_FOUND", r.text
    r = anon.post("/rpc/unsubscribe_public_push", json={**ref, "endpoint": sub["endpoint"]})
    assert r.status_code == 200 and r.json() == {"removed": True}, r.text
    agent = gw.client(login(gw, t, "agent")["access_token"])
    r = agent.post("/rpc/subscribe_public_push", json={**ref, "subscription": sub})
    assert r.status_code == 403, "staff tokens do not subscribe: the function is the anonymous customer's"
