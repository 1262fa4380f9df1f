"""The kiosk's offline buffer: with the API unreachable it issues and prints local L- numbers, keeps the requests
across a reload, and on reconnect each becomes exactly one server ticket (even when an answer is lost)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect

from tests.apps.floorkit import Floor, screenshots
from tests.apps.test_kiosk import open_kiosk

pytestmark = pytest.mark.browser

OUTBOX = "JSON.parse(localStorage.getItem('qms.kiosk.outbox') || '[]')"


def take(page: Page, service: str) -> str:
    page.get_by_role("button", name="Bahasa Indonesia").click()
    page.get_by_role("button", name=re.compile(service)).click()
    expect(page.locator("#screen-ticket")).to_be_visible()
    number = page.locator("#ticket-number").inner_text()
    page.get_by_role("button", name="Selesai").click()
    return number


def test_offline_tickets_sync_exactly_once_across_a_reload_and_a_lost_answer(page: Page, floor: Floor) -> None:
    open_kiosk(page, floor)
    page.route("**/rpc/**", lambda route: route.abort())
    page.get_by_role("button", name="Bahasa Indonesia").click()
    page.get_by_role("button", name=re.compile("Teller")).click()
    expect(page.locator("#ticket-number")).to_have_text("L-001")
    expect(page.locator("#ticket-offline")).to_be_visible()
    expect(page.locator("#print-area .ticket-number")).to_have_text("L-001")
    page.wait_for_function("(window.__prints || []).length === 1")
    screenshots(page, "kiosk-offline-ticket")
    page.get_by_role("button", name="Selesai").click()
    assert take(page, "Customer Service") == "L-002"
    expect(page.locator("#health")).to_have_attribute("data-state", "offline")
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator("#pending")).to_have_text("2 tiket menunggu sinkron")
    outbox = page.evaluate(OUTBOX)
    assert [e["local_number"] for e in outbox] == ["L-001", "L-002"]

    page.reload()  # the buffer survives; the API is still unreachable
    expect(page.locator("#pending")).to_have_text("2 tiket menunggu sinkron")
    expect(page.locator("#health")).to_have_attribute("data-state", "offline")
    assert page.evaluate(OUTBOX) == outbox
    count = "select count(*) from qms.tickets where tenant_id = %s"
    assert floor.tenant.sql(count, (floor.tenant.tenant_id,)) == [(0,)]

    # Back online, but the answer to the first create_ticket is lost on the way back: the server has the
    # ticket, the kiosk does not know it and sends the same request_id again.
    lost: list[int] = []

    def lose_first_answer(route: Route) -> None:
        if not lost and route.request.url.endswith("/rpc/create_ticket"):
            lost.append(route.fetch().status)
            route.abort()
        else:
            route.continue_()

    page.unroute("**/rpc/**")
    page.route("**/rpc/**", lose_first_answer)
    page.wait_for_function(f"{OUTBOX}.length === 0", timeout=20000)
    assert lost == [200]
    expect(page.locator("#pending")).to_be_hidden()
    expect(page.locator("#health")).to_have_attribute("data-state", "live")
    rows = floor.tenant.sql(
        "select ticket_number, channel from qms.tickets where tenant_id = %s order by created_at",
        (floor.tenant.tenant_id,),
    )
    assert rows == [("L-001", "kiosk"), ("L-002", "kiosk")]
    synced = page.evaluate("JSON.parse(localStorage.getItem('qms.kiosk.synced'))")
    assert [(s["local_number"], s["ticket_number"], s["error"]) for s in synced] == [
        ("L-001", "L-001", None),
        ("L-002", "L-002", None),
    ]
    assert [s["request_id"] for s in synced] == [e["request"]["request_id"] for e in outbox]
    # Online again: the next ticket is a server ticket, and nothing is sent twice.
    assert take(page, "Teller") == "A-002"
    assert floor.tenant.sql(count, (floor.tenant.tenant_id,)) == [(3,)]
