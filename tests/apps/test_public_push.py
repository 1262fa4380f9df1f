"""The status page's Web Push opt-in in headless Chromium: "Notify me on this device" is offered when the tenant
offers push, subscribes with the tenant's VAPID key and stores the subscription through
api.subscribe_public_push; the service worker shows a push message as a notification; "Turn off" removes the
subscription. Headless Chromium has no push service to talk to offline (PushManager.subscribe fails), so the
browser's PushManager is replaced at its API boundary by an init script that records the options it is given
and answers a subscription of a well-formed key pair; everything after it is the page's real code path."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.apps.floorkit import Floor, screenshots
from tests.apps.test_kiosk_print import kiosk_ticket
from tests.push_kit import Subscriber, b64u_decode
from workers import notify_http, notify_secrets

pytestmark = pytest.mark.browser

ENDPOINT = "https://fcm.googleapis.com/fcm/send/browser-test"

FAKE_PUSH_MANAGER = """(sub) => {
  let current = null;
  PushManager.prototype.subscribe = function (options) {
    window.pushOptions = {userVisibleOnly: options.userVisibleOnly,
                          key: Array.from(new Uint8Array(options.applicationServerKey))};
    current = {endpoint: sub.endpoint, options: {applicationServerKey: new Uint8Array(window.pushOptions.key).buffer},
               toJSON: () => sub, unsubscribe: () => Promise.resolve(true)};
    return Promise.resolve(current);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
}"""


def _offer_push(floor: Floor) -> str:
    """Push on for the floor's tenant with a webpush provider; its VAPID public key."""
    private, public = notify_http.generate_vapid_keys()
    floor.tenant.api("set_notification_settings", enabled=True, channels=["push"])
    floor.tenant.api(
        "set_notification_provider",
        channel="push",
        kind="webpush",
        config={"subject": "mailto:ops@example.com", "vapid_public_key": public},
        secret=notify_secrets.encrypt({"vapid_private_key": private}, key="browser-test"),
    )
    return public


def _notifications(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate(
        "navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag})))"
    )
    return result


def test_status_page_opt_in_stores_a_subscription_and_the_worker_shows_pushes(
    context: BrowserContext, page: Page, floor: Floor
) -> None:
    public = _offer_push(floor)
    subscriber = Subscriber(ENDPOINT)
    context.grant_permissions(["notifications"], origin=floor.gw.url)
    page.add_init_script(f"({FAKE_PUSH_MANAGER})({json.dumps(subscriber.subscription())})")
    mine = kiosk_ticket(floor)
    page.goto(floor.gw.url + mine["status_url"])
    expect(page.locator("#push")).to_have_text("Kabari saya di perangkat ini")
    screenshots(page, "public-push-offer")
    page.locator("#push").click()
    expect(page.locator("#push-state")).to_have_text("Pemberitahuan aktif di perangkat ini.")
    expect(page.locator("#push")).to_be_hidden()
    page.get_by_role("button", name="English").click()
    expect(page.locator("#push-state")).to_have_text("Notifications are on for this device.")
    expect(page.locator("#push-off")).to_have_text("Turn off")
    options = page.evaluate("window.pushOptions")
    assert options == {"userVisibleOnly": True, "key": list(b64u_decode(public))}, "subscribed with the tenant's key"
    rows = floor.tenant.sql(
        "select endpoint, p256dh, auth, language from qms.push_subscriptions where ticket_id = %s",
        (mine["ticket_id"],),
    )
    keys = subscriber.subscription()["keys"]
    assert rows == [(ENDPOINT, keys["p256dh"], keys["auth"], "id")]

    # The service worker shows a push message, one notification per ticket.
    cdp = context.new_cdp_session(page)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda ev: registrations.extend(r["registrationId"] for r in ev["registrations"] if not r["isDeleted"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 5
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    message = {"title": "A-001", "body": "Giliran Anda", "ticket_id": mine["ticket_id"], "tag": "x"}
    for body in ("Giliran Anda", "Giliran Anda: Loket 1"):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": floor.gw.url, "registrationId": registrations[0], "data": json.dumps({**message, "body": body})},
        )
        page.wait_for_timeout(300)
    shown = _notifications(page)
    assert shown == [{"title": "A-001", "body": "Giliran Anda: Loket 1", "tag": f"qms-{mine['ticket_id']}"}], shown

    # Turn off: this ticket's subscription goes; the offer is back.
    page.reload()
    expect(page.locator("#push-off")).to_be_visible()
    page.locator("#push-off").click()
    expect(page.locator("#push")).to_be_visible()
    assert floor.tenant.sql("select 1 from qms.push_subscriptions where ticket_id = %s", (mine["ticket_id"],)) == []


def test_no_offer_when_the_tenant_does_not_push(page: Page, floor: Floor) -> None:
    mine = kiosk_ticket(floor)
    page.goto(floor.gw.url + mine["status_url"])
    expect(page.locator("#number")).to_have_text("A-001")
    page.wait_for_timeout(500)
    expect(page.locator("#push-box")).to_be_hidden()
