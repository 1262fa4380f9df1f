"""The server-rendered print page of a ticket: content, paper sizes, the QR code of the status page, errors."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.apps.floorkit import Floor, decode_qr, screenshots

pytestmark = pytest.mark.browser


def kiosk_ticket(floor: Floor, service: str = "Teller") -> dict[str, str]:
    with floor.gw.client(floor.device_tokens["kiosk"]) as c:
        r = c.post("/rpc/create_ticket", json={"service_id": floor.services[service], "channel": "kiosk"})
    assert r.status_code == 200, r.text
    body: dict[str, str] = r.json()
    return body


def test_print_page_renders_the_ticket_with_a_qr_code_of_its_status_page(page: Page, floor: Floor) -> None:
    kiosk_ticket(floor)
    ticket = kiosk_ticket(floor)
    ref = ticket["status_url"].split("#t=")[1]
    page.goto(f"{floor.gw.url}/apps/print/ticket?t={ref}&lang=en&paper=58")
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    expect(page.locator("body")).to_have_class("paper-58")
    expect(page.locator(".ticket-number")).to_have_text("A-002")
    expect(page.locator(".ticket-service")).to_have_text("Teller")
    expect(page.locator(".ticket-branch")).to_have_text("Main")
    expect(page.locator(".ticket-position")).to_have_text("2")
    expect(page.locator(".ticket-label")).to_have_text("Queue number")
    expect(page.locator(".ticket-eta")).to_have_text(re.compile(r"^~\d+ min$"))
    assert decode_qr(page, ".ticket-qr svg") == [floor.gw.url + ticket["status_url"]]
    width = page.evaluate("document.querySelector('.ticket').getBoundingClientRect().width")
    assert abs(width - 48 * 96 / 25.4) < 2  # 48 mm printable on 58 mm paper
    page.emulate_media(media="print")
    screenshots(page, "print-ticket-58")
    page.emulate_media(media="screen")


def test_print_page_refuses_a_wrong_secret_and_a_malformed_reference(floor: Floor) -> None:
    ticket = kiosk_ticket(floor)
    ticket_id = ticket["status_url"].split("#t=")[1].split(".")[0]
    for ref in (f"{ticket_id}.wrong", "nonsense", f"{ticket_id}."):
        r = httpx.get(f"{floor.gw.url}/apps/print/ticket", params={"t": ref}, timeout=10)
        assert r.status_code == 404 and r.json()["code"] == "TICKET_NOT_FOUND", r.text
    r = httpx.get(f"{floor.gw.url}/apps/print/ticket", params={"t": "x.y", "paper": "100"}, timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST"
    r = httpx.get(f"{floor.gw.url}/apps/print/ticket", params={"t": ticket["status_url"].split("#t=")[1]}, timeout=10)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "<svg" in r.text and ticket["ticket_number"] in r.text
