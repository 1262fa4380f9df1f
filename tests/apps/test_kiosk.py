"""The kiosk in headless Chromium against the real gateway and database: issuing, printing, language, contact
capture, idle timeout, accessibility basics and screenshots."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.apps.floorkit import Floor, decode_qr, screenshots

pytestmark = pytest.mark.browser

# Counts print() calls in every frame (the hidden print iframe and the kiosk page) instead of printing.
PRINT_SPY = "window.print = function () { (window.top.__prints = window.top.__prints || []).push(location.href); };"


def open_kiosk(page: Page, floor: Floor) -> None:
    page.add_init_script(PRINT_SPY)
    page.goto(floor.device_url("kiosk"))
    expect(page.locator("#screen-home")).to_be_visible()
    expect(page.locator("#health")).to_have_attribute("data-state", "live")


def test_kiosk_issues_a_ticket_shown_on_screen_and_printed_with_its_qr(page: Page, floor: Floor) -> None:
    open_kiosk(page, floor)
    assert "token=" not in page.url
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.locator("#service-title")).to_have_text("Pilih layanan")
    page.get_by_role("button", name=re.compile("Teller")).click()
    expect(page.locator("#ticket-number")).to_have_text("A-001")
    expect(page.locator("#ticket-service")).to_have_text("Teller")
    expect(page.locator("#ticket-position")).to_have_text("Anda berikutnya!")
    expect(page.locator("#ticket-qr svg")).to_be_visible()
    page.wait_for_function("(window.__prints || []).length === 1")

    frame = page.frame_locator("#print-frame")
    expect(frame.locator(".ticket-number")).to_have_text("A-001")
    expect(frame.locator(".ticket-service")).to_have_text("Teller")
    expect(frame.locator(".ticket-branch")).to_have_text("Main")
    expect(frame.locator(".ticket-position")).to_have_text("1")
    expect(frame.locator(".ticket-label")).to_have_text("Nomor antrean")
    expect(frame.locator(".ticket-time")).to_have_text(re.compile(r"^\d\d-\d\d-\d{4} \d\d:\d\d$"))
    status_url = page.evaluate("window.kiosk.lastTicket.statusUrl")
    assert re.fullmatch(r"/apps/public/#t=[0-9a-f-]{36}\.\S+", status_url)
    assert decode_qr(page, "#ticket-qr svg") == [floor.gw.url + status_url]

    rows = floor.tenant.sql(
        "select ticket_number, channel, status from qms.tickets where tenant_id = %s", (floor.tenant.tenant_id,)
    )
    assert rows == [("A-001", "kiosk", "waiting")]
    screenshots(page, "kiosk-ticket")
    page.get_by_role("button", name="Selesai").click()
    expect(page.locator("#screen-home")).to_be_visible()


def test_kiosk_language_switch(page: Page, floor: Floor) -> None:
    open_kiosk(page, floor)
    screenshots(page, "kiosk-home")
    page.get_by_role("button", name="English").click()
    expect(page.locator("#service-title")).to_have_text("Choose a service")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshots(page, "kiosk-services")
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.locator("#service-title")).to_have_text("Pilih layanan")
    page.get_by_role("button", name=re.compile("Customer Service")).click()
    expect(page.locator("#ticket-number")).to_have_text("B-001")
    expect(page.locator("#ticket-eta")).to_contain_text("Perkiraan tunggu")


def test_kiosk_contact_capture_is_validated_with_consent_and_shown_masked(page: Page, floor: Floor) -> None:
    floor.rpc("update_tenant", pii_policy={"contacts": True, "retention_days": 30})  # the tenant keeps contacts
    floor.set_device_config("kiosk", {"contact": "required"})
    open_kiosk(page, floor)
    page.get_by_role("button", name="English").click()
    page.get_by_role("button", name=re.compile("Teller")).click()
    expect(page.locator("#contact-title")).to_have_text("Phone number or email")
    expect(page.locator("#contact-skip")).to_be_hidden()
    screenshots(page, "kiosk-contact")
    submit = page.get_by_role("button", name="Continue")
    submit.click()
    expect(page.locator("#phone-error")).to_have_text("Enter a phone number or an email.")
    expect(page.locator("#consent-error")).to_have_text("Tick the consent box to continue.")
    page.get_by_label("Phone number", exact=True).fill("12ab")
    page.get_by_label("Email", exact=True).fill("not-an-email")
    submit.click()
    expect(page.locator("#phone-error")).to_have_text("Not a valid phone number (6\u201320 digits).")
    expect(page.locator("#email-error")).to_have_text("Not a valid email address.")
    expect(page.get_by_label("Phone number", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Email", exact=True).fill("")
    page.get_by_label("Phone number", exact=True).fill("+62 812 3456 7890")
    submit.click()
    expect(page.locator("#consent-error")).to_have_text("Tick the consent box to continue.")
    page.get_by_label(re.compile("I agree")).check()
    submit.click()
    expect(page.locator("#ticket-number")).to_have_text("A-001")
    expect(page.locator("#ticket-contact")).to_have_text("Updates go to 6281*******90")
    assert "3456" not in page.locator("#screen-ticket").inner_text()
    rows = floor.tenant.sql(
        "select c.phone, c.email, c.language, c.consent from qms.ticket_contacts c where c.tenant_id = %s",
        (floor.tenant.tenant_id,),
    )
    assert rows == [("+62 812 3456 7890", None, "en", True)]


def test_kiosk_optional_contact_can_be_skipped_and_idle_returns_home(page: Page, floor: Floor) -> None:
    floor.rpc("update_tenant", pii_policy={"contacts": True, "retention_days": 30})
    floor.set_device_config("kiosk", {"contact": "optional", "idle_seconds": 2})
    open_kiosk(page, floor)
    page.get_by_role("button", name="Bahasa Indonesia").click()
    page.get_by_role("button", name=re.compile("Teller")).click()
    expect(page.locator("#contact-title")).to_have_text("Kabari saya (opsional)")
    page.get_by_role("button", name="Lewati").click()
    expect(page.locator("#ticket-number")).to_have_text("A-001")
    expect(page.locator("#ticket-contact")).to_have_text("")
    page.get_by_role("button", name="Selesai").click()
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.locator("#screen-service")).to_be_visible()
    expect(page.locator("#screen-home")).to_be_visible(timeout=5000)


def test_kiosk_accessibility_keyboard_labels_and_modes(page: Page, floor: Floor) -> None:
    open_kiosk(page, floor)
    for button in page.locator("button:visible").all():
        assert (button.get_attribute("aria-label") or button.inner_text()).strip()
    contrast = page.get_by_role("button", name="Kontras tinggi")
    contrast.click()
    expect(page.locator("html")).to_have_class(re.compile("high-contrast"))
    expect(contrast).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Huruf besar").click()
    expect(page.locator("html")).to_have_class(re.compile("large-font"))
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(0, 0, 0)"
    screenshots(page, "kiosk-home-contrast")
    page.reload()
    expect(page.locator("html")).to_have_class(re.compile("high-contrast"))
    # Keyboard only: focus the first language button, Enter, then a service with Tab/Enter.
    page.locator("#lang-choice button").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#screen-service")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".service-btn").first).to_be_focused()  # services by name: Customer Service first
    page.keyboard.press("Enter")
    expect(page.locator("#ticket-number")).to_have_text("B-001")
    page.get_by_role("button", name="Kontras tinggi").click()
    page.get_by_role("button", name="Huruf besar").click()
    expect(page.locator("html")).not_to_have_class(re.compile("high-contrast|large-font"))
