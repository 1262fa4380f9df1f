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


# As the kiosk does it: POST the reference, put the page into an iframe (srcdoc) of a page of the gateway.
PRINT_INTO_FRAME = """async (body) => {
    const res = await fetch('/apps/print/ticket', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                   body: JSON.stringify(body)});
    const frame = document.createElement('iframe');
    frame.name = 'ticket';
    frame.style.cssText = 'width: 80mm; height: 160mm; border: 0';
    frame.srcdoc = await res.text();
    document.body.appendChild(frame);
}"""


def test_print_page_renders_the_ticket_with_a_qr_code_of_its_status_page(page: Page, floor: Floor) -> None:
    kiosk_ticket(floor)
    ticket = kiosk_ticket(floor)
    ref = ticket["status_url"].split("#t=")[1]
    page.goto(floor.gw.url + "/apps/kiosk/")
    page.evaluate("document.body.innerHTML = ''")
    page.evaluate(PRINT_INTO_FRAME, {"t": ref, "lang": "en", "paper": "58"})
    frame = page.frame_locator("iframe[name=ticket]")
    expect(frame.locator("body")).to_have_attribute("data-ready", "1")
    expect(frame.locator("body")).to_have_class("paper-58")
    expect(frame.locator(".ticket-number")).to_have_text("A-002")
    expect(frame.locator(".ticket-service")).to_have_text("Teller")
    expect(frame.locator(".ticket-branch")).to_have_text("Main")
    expect(frame.locator(".ticket-position")).to_have_text("2")
    expect(frame.locator(".ticket-label")).to_have_text("Queue number")
    expect(frame.locator(".ticket-eta")).to_have_text(re.compile(r"^~\d+ min$"))
    inner = page.frame(name="ticket")
    assert inner is not None
    assert decode_qr(inner, ".ticket-qr svg") == [floor.gw.url + ticket["status_url"]]
    width = inner.evaluate("document.querySelector('.ticket').getBoundingClientRect().width")
    assert abs(width - 48 * 96 / 25.4) < 2  # 48 mm printable on 58 mm paper
    screenshots(page, "print-ticket-58")


def test_print_page_refuses_a_wrong_secret_a_malformed_reference_and_bad_options(floor: Floor) -> None:
    ticket = kiosk_ticket(floor)
    ref = ticket["status_url"].split("#t=")[1]
    url = f"{floor.gw.url}/apps/print/ticket"
    for bad in (ref.split(".")[0] + ".wrong", "nonsense", ref.split(".")[0] + ".", ""):
        r = httpx.post(url, json={"t": bad}, timeout=10)
        assert r.status_code == 404 and r.json()["code"] == "TICKET_NOT_FOUND", r.text
    for options in ({"paper": "100"}, {"lang": "fr"}, {"t": None}):
        r = httpx.post(url, json={"t": ref, **options}, timeout=10)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST", r.text
    assert httpx.get(url, params={"t": ref}, timeout=10).status_code in (404, 405)  # only a POST renders
    r = httpx.post(url, json={"t": ref}, timeout=10)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "<svg" in r.text and ticket["ticket_number"] in r.text and 'lang="id"' in r.text
    assert 'class="paper-80"' in r.text
    assert f'data-status-url="{floor.gw.url}{ticket["status_url"]}"' in r.text
    # The QR code points at the origin of the page that posted (the kiosk's address, e.g. behind a TLS proxy).
    r = httpx.post(url, json={"t": ref}, headers={"Origin": "https://branch.example"}, timeout=10)
    assert f'data-status-url="https://branch.example{ticket["status_url"]}"' in r.text
    r = httpx.post(url, json={"t": ref}, headers={"Origin": "null"}, timeout=10)
    assert f'data-status-url="{floor.gw.url}{ticket["status_url"]}"' in r.text
