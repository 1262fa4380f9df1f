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


POST_FORM = """(fields) => {
    const form = document.createElement('form');
    form.method = 'post';
    form.action = '/apps/print/ticket';
    for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement('input');
        input.name = name; input.value = value; form.appendChild(input);
    }
    document.body.appendChild(form);
    form.submit();
}"""


def test_print_page_renders_the_ticket_with_a_qr_code_of_its_status_page(page: Page, floor: Floor) -> None:
    kiosk_ticket(floor)
    ticket = kiosk_ticket(floor)
    ref = ticket["status_url"].split("#t=")[1]
    page.goto(floor.gw.url + "/apps/kiosk/print.css")
    with page.expect_navigation():
        page.evaluate(POST_FORM, {"t": ref, "lang": "en", "paper": "58"})
    assert page.url == floor.gw.url + "/apps/print/ticket"  # the secret is in no URL
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


def test_print_page_refuses_a_wrong_secret_a_malformed_reference_and_bad_options(floor: Floor) -> None:
    ticket = kiosk_ticket(floor)
    ref = ticket["status_url"].split("#t=")[1]
    url = f"{floor.gw.url}/apps/print/ticket"
    for bad in (ref.split(".")[0] + ".wrong", "nonsense", ref.split(".")[0] + ".", ""):
        r = httpx.post(url, data={"t": bad}, timeout=10)
        assert r.status_code == 404 and r.json()["code"] == "TICKET_NOT_FOUND", r.text
    for options in ({"paper": "100"}, {"lang": "fr"}):
        r = httpx.post(url, data={"t": ref, **options}, timeout=10)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST", r.text
    assert httpx.get(url, params={"t": ref}, timeout=10).status_code in (404, 405)  # only a form post renders
    r = httpx.post(url, data={"t": ref}, timeout=10)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "<svg" in r.text and ticket["ticket_number"] in r.text and 'lang="id"' in r.text
    assert 'class="paper-80"' in r.text
