"""Web Push end to end against a push service stub (tests/push_kit.py): a customer's page subscribes through
api.subscribe_public_push, the ticket is called, and the sender — its claim, render, pywebpush with real VAPID
signing and aes128gcm encryption, and finish, run in this process against the real database — delivers to
every subscription. The stub checks each VAPID signature and decrypts each payload. 404 and 410 (and 403 from
Apple's push service) remove the subscription; a 503 is retried."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.engine_fixtures import connect_as, owner_rows
from tests.notify_kit import deliveries, issue, scalar, seed_notifying
from tests.push_kit import PushService, Subscriber, resolve_to_loopback, start_push_service
from workers import notify, notify_http, notify_secrets

HOSTS = ["fcm.googleapis.com", "updates.push.services.mozilla.com", "web.push.apple.com"]
SUBJECT = "mailto:ops@example.com"


def _setup(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[PushService, str, Any]:
    """A tenant with push on and a webpush provider (a fresh VAPID pair), the stub serving the push hosts."""
    service = PushService()
    server, ca_file = start_push_service(service, tmp_path, HOSTS)
    resolve_to_loopback(monkeypatch, HOSTS, server.server_address[1])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    monkeypatch.setenv("QMS_SECRET_KEY", "test-secret")
    seed = seed_notifying(db_url, channels=["push"], events=["ticket.created", "ticket.called"])
    private, public = notify_http.generate_vapid_keys()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "insert into qms.notification_providers (tenant_id, channel, kind, config, secret)"
            " values (%s, 'push', 'webpush', %s, %s)",
            (
                seed.tenant_id,
                json.dumps({"subject": SUBJECT, "vapid_public_key": public}),
                notify_secrets.encrypt({"vapid_private_key": private}, key="test-secret"),
            ),
        )
    return service, public, (seed, server)


def _subscribe(db_url: str, ticket_id: str, secret: str, subscribers: list[Subscriber]) -> None:
    """What the status page does: read the key, then register each browser."""
    with connect_as(db_url, "qms_anon", {"role": "qms_anon"}) as conn:
        config = scalar(conn, "select api.get_public_push_config(%s, %s)", (ticket_id, secret))
        assert config["available"] is True
        for sub in subscribers:
            scalar(
                conn,
                "select api.subscribe_public_push(%s, %s, %s, 'id')",
                (ticket_id, secret, json.dumps(sub.subscription())),
            )


def _issue_and_subscribe(db_url: str, seed: Any, subscribers: list[Subscriber]) -> str:
    with connect_as(db_url, "qms_agent", seed.claims()) as conn:
        ticket = scalar(conn, "select api.create_ticket(service_id => %s)", (seed.service_ids[0],))
    ticket_id, secret = str(ticket["ticket_id"]), ticket["status_url"].split("#t=")[1].split(".")[1]
    _subscribe(db_url, ticket_id, secret, subscribers)
    with connect_as(db_url, "qms_agent", seed.claims()) as conn:
        scalar(conn, "select api.call_next(%s)", (seed.counter_ids[0],))
    return ticket_id


async def _send_due(db_url: str) -> int:
    """One claim of the sender and the processing of what it claimed; the number of deliveries."""
    opts = notify.Options(database_url=db_url, worker_id="push-test", retry_base_seconds=0.05)
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        db = notify.Db(conn)
        rows = await notify.claim(db, opts)
        await asyncio.gather(*(notify.process(db, r, opts, asyncio.Semaphore(4)) for r in rows))
    return len(rows)


def test_push_is_signed_encrypted_and_gone_subscriptions_are_removed(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, public, (seed, server) = _setup(db_url, tmp_path, monkeypatch)
    ok = Subscriber("https://fcm.googleapis.com/fcm/send/ok")
    gone = {
        "/wpush/v2/gone": (Subscriber("https://updates.push.services.mozilla.com/wpush/v2/gone"), 404),
        "/fcm/send/expired": (Subscriber("https://fcm.googleapis.com/fcm/send/expired"), 410),
        "/apple/gone": (Subscriber("https://web.push.apple.com/apple/gone"), 403),
    }
    service.subscribers["/fcm/send/ok"] = ok
    for path, (sub, status) in gone.items():
        service.subscribers[path] = sub
        service.status[path] = [status]
    try:
        ticket_id = _issue_and_subscribe(db_url, seed, [ok, *(s for s, _ in gone.values())])
        assert asyncio.run(_send_due(db_url)) == 1
    finally:
        server.shutdown()
    (row,) = deliveries(db_url, "channel = 'push'")
    assert (row["event_type"], row["status"], row["language"], row["provider"]) == (
        "ticket.called",
        "sent",
        "id",
        "webpush",
    )
    assert sorted(r["path"] for r in service.received) == sorted(["/fcm/send/ok", *gone])
    for request in service.received:
        assert request["vapid_valid"], "every request carries a valid VAPID signature"
        assert request["vapid_key"] == public
        assert request["claims"]["sub"] == SUBJECT and request["claims"]["exp"] > time.time()
        assert request["claims"]["aud"] in {f"https://{h}" for h in HOSTS}
        assert request["headers"]["content-encoding"] == "aes128gcm" and int(request["headers"]["ttl"]) >= 0
    delivered = next(r for r in service.received if r["path"] == "/fcm/send/ok")["payload"]
    number = owner_rows(db_url, "select ticket_number from qms.tickets where ticket_id = %s", (ticket_id,))[0]
    assert delivered["ticket_id"] == ticket_id and delivered["event_type"] == "ticket.called"
    assert number["ticket_number"] in delivered["title"] + delivered["body"], "the decrypted text names the ticket"
    left = owner_rows(db_url, "select endpoint from qms.push_subscriptions where ticket_id = %s", (ticket_id,))
    assert [r["endpoint"] for r in left] == [ok.endpoint], "404, 410 and Apple's 403 removed their subscriptions"


def test_a_push_service_503_is_retried_and_a_403_from_another_service_is_permanent(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _public, (seed, server) = _setup(db_url, tmp_path, monkeypatch)
    flaky = Subscriber("https://fcm.googleapis.com/fcm/send/flaky")
    service.subscribers["/fcm/send/flaky"] = flaky
    service.status["/fcm/send/flaky"] = [503]
    try:
        ticket_id = _issue_and_subscribe(db_url, seed, [flaky])
        assert asyncio.run(_send_due(db_url)) == 1
        (row,) = deliveries(db_url, "channel = 'push'")
        assert row["status"] == "temporary_failure" and "HTTP 503" in row["last_error"]
        deadline = time.monotonic() + 10
        while deliveries(db_url, "channel = 'push'")[0]["status"] != "sent" and time.monotonic() < deadline:
            asyncio.run(_send_due(db_url))
            time.sleep(0.05)
        (row,) = deliveries(db_url, "channel = 'push'")
        assert row["status"] == "sent" and row["attempts"] == 2
        assert [r["status"] for r in service.received] == [503, 201]
        assert owner_rows(db_url, "select 1 from qms.push_subscriptions where ticket_id = %s", (ticket_id,)), (
            "a transient failure keeps the subscription"
        )

        # A 403 from a push service that is not Apple's is an error of ours (a VAPID key it refuses): permanent.
        with connect_as(db_url, "qms_agent", seed.claims()) as conn:
            for action in ("start", "complete"):
                conn.execute(
                    "select api.ticket_action(%s, %s, counter_id => %s)", (ticket_id, action, seed.counter_ids[0])
                )
        other = Subscriber("https://updates.push.services.mozilla.com/wpush/v2/forbidden")
        service.subscribers["/wpush/v2/forbidden"] = other
        service.status["/wpush/v2/forbidden"] = [403]
        second = _issue_and_subscribe(db_url, seed, [other])
        asyncio.run(_send_due(db_url))
    finally:
        server.shutdown()
    (row,) = deliveries(db_url, "channel = 'push' and ticket_id = %s", (uuid.UUID(second),))
    assert row["status"] == "dead" and "HTTP 403" in row["last_error"]
    assert owner_rows(db_url, "select 1 from qms.push_subscriptions where ticket_id = %s", (second,)), (
        "only Apple's 403 means the subscription is gone"
    )


def test_the_provider_route_derives_the_public_key() -> None:
    private, public = notify_http.generate_vapid_keys()
    assert notify_http.vapid_public_key(private) == public and len(public) == 87
    for bad in ("", "/etc/passwd", "not-a-key", "-----BEGIN PRIVATE KEY-----"):
        with pytest.raises(notify_http.PermanentError):
            notify_http.vapid_public_key(bad)


def test_issue_without_subscription_makes_no_push(db_url: str) -> None:
    seed = seed_notifying(db_url, channels=["push"])
    (ticket_id,) = issue(db_url, seed, [None])
    assert deliveries(db_url) == []
    skips = owner_rows(db_url, "select reason from qms.notification_skips where ticket_id = %s", (ticket_id,))
    assert [s["reason"] for s in skips] == ["NO_CONTACT"]
