"""The customer's status page in headless Chromium: live position, the call with its counter, cancel, offline
with the last known state (also after a reload), unknown tickets, accessibility and screenshots."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.apps.floorkit import Floor, screenshots
from tests.apps.test_kiosk_print import kiosk_ticket

pytestmark = pytest.mark.browser


def open_status(page: Page, floor: Floor, status_url: str) -> None:
    page.goto(floor.gw.url + status_url)


def test_status_page_follows_a_ticket_from_waiting_to_called(page: Page, floor: Floor) -> None:
    first = kiosk_ticket(floor)
    mine = kiosk_ticket(floor)
    open_status(page, floor, mine["status_url"])
    expect(page.locator("#number")).to_have_text("A-002")
    expect(page.locator("#status")).to_have_text("Menunggu")
    expect(page.locator("#position")).to_have_text("1 orang di depan Anda")
    expect(page.locator("#service")).to_have_text("Teller")
    expect(page.locator("#branch")).to_have_text("Main")
    expect(page.locator("#eta")).to_have_text(re.compile(r"± \d+ menit"))
    screenshots(page, "public-waiting")
    for name in ("Loket 1", "Loket 3"):
        floor.rpc("set_counter_status", role="agent", counter_id=floor.counters[name], status="available")
    called = floor.rpc("call_next", role="agent", counter_id=floor.counters["Loket 1"])
    assert called["ticket"]["ticket_id"] == first["ticket_id"], called
    expect(page.locator("#position")).to_have_text("Anda berikutnya!", timeout=8000)
    called = floor.rpc("call_next", role="agent", counter_id=floor.counters["Loket 3"])
    assert called["ticket"]["ticket_id"] == mine["ticket_id"], called
    expect(page.locator("#called")).to_have_text("Giliran Anda! Silakan ke Loket 3", timeout=8000)
    expect(page.locator("#status")).to_have_text("Dipanggil")
    expect(page.locator("#row-position")).to_be_hidden()
    expect(page.locator("#cancel")).to_be_hidden()
    page.get_by_role("button", name="English").click()
    expect(page.locator("#called")).to_have_text("Your turn! Please go to Loket 3")
    screenshots(page, "public-called")
    body = page.locator("body").inner_text()
    assert floor.tenant.tenant_id not in body and floor.services["Teller"] not in body


def test_customer_cancels_their_ticket(page: Page, floor: Floor) -> None:
    mine = kiosk_ticket(floor)
    open_status(page, floor, mine["status_url"])
    page.get_by_role("button", name="Batalkan nomor saya").click()
    expect(page.locator("#confirm-text")).to_have_text(re.compile("A-001"))
    page.get_by_role("button", name="Tidak").click()
    expect(page.locator("#confirm")).to_be_hidden()
    page.get_by_role("button", name="Batalkan nomor saya").click()
    page.get_by_role("button", name="Ya, batalkan").click()
    expect(page.locator("#status")).to_have_text("Nomor Anda sudah dibatalkan.")
    expect(page.locator("#cancel-box")).to_be_hidden()
    rows = floor.tenant.sql("select status from qms.tickets where ticket_id = %s", (mine["ticket_id"],))
    assert rows == [("cancelled",)]
    page.reload()
    expect(page.locator("#status")).to_have_text("Dibatalkan")


def test_offline_shows_the_last_known_state_also_after_a_reload(page: Page, floor: Floor) -> None:
    mine = kiosk_ticket(floor)
    open_status(page, floor, mine["status_url"])
    expect(page.locator("#number")).to_have_text("A-001")
    page.route("**/rpc/**", lambda route: route.abort())
    expect(page.locator("#offline")).to_be_visible(timeout=8000)
    expect(page.locator("#offline")).to_contain_text("Tidak terhubung")
    expect(page.locator("#number")).to_have_text("A-001")
    page.reload()
    expect(page.locator("#number")).to_have_text("A-001")
    expect(page.locator("#offline")).to_be_visible()
    screenshots(page, "public-offline")
    page.unroute("**/rpc/**")
    expect(page.locator("#offline")).to_be_hidden(timeout=8000)


def test_unknown_ticket_or_wrong_secret_and_no_reference(page: Page, floor: Floor) -> None:
    mine = kiosk_ticket(floor)
    open_status(page, floor, mine["status_url"][:-4] + "0000")
    expect(page.locator("#message")).to_have_text("Tiket tidak ditemukan. Periksa tautan dari tiket Anda.")
    expect(page.locator("#ticket")).to_be_hidden()
    page.goto(floor.gw.url + "/apps/public/")
    expect(page.locator("#message")).to_have_text("Buka halaman ini dari kode QR pada tiket Anda.")


def test_status_page_accessibility_basics(page: Page, floor: Floor) -> None:
    mine = kiosk_ticket(floor)
    open_status(page, floor, mine["status_url"])
    expect(page.locator("#number")).to_have_text("A-001")
    expect(page.get_by_role("group", name="Bahasa")).to_be_visible()
    expect(page.get_by_role("status").first).to_be_attached()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Batalkan nomor saya")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Tidak")).to_be_focused()
    page.keyboard.press("Escape")
