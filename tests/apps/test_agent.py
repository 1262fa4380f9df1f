"""The counter console in headless Chromium against a real gateway: login and role gating, counter choice,
presence, the active ticket's actions, the live queue, errors in words, session expiry."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.apps.floorkit import Floor, screenshots

pytestmark = pytest.mark.browser


def login(page: Page, floor: Floor, role: str = "agent", password: str | None = None) -> None:
    page.goto(floor.app_url("agent"))
    page.get_by_label("Kode organisasi").fill(floor.tenant.slug)
    page.get_by_label("E-mail").fill(floor.email(role))
    page.get_by_label("Kata sandi").fill(password or floor.password)
    page.get_by_role("button", name="Masuk").click()


def pick(page: Page, counter: str) -> None:
    page.get_by_role("button", name=counter).click()
    expect(page.locator("#screen-console")).to_be_visible()


def issue(floor: Floor, service: str = "Teller") -> dict[str, Any]:
    ticket: dict[str, Any] = floor.rpc("create_ticket", service_id=floor.services[service], role="agent")
    return ticket


def ticket(floor: Floor, ticket_id: str) -> dict[str, Any]:
    rows = floor.tenant.sql("select status::text, counter_id::text, service_id::text from qms.tickets where ticket_id = %s", (ticket_id,))
    status, counter_id, service_id = rows[0]
    return {"status": status, "counter_id": counter_id, "service_id": service_id}


def test_serve_a_ticket_from_login_to_complete(page: Page, floor: Floor) -> None:
    first = issue(floor)
    login(page, floor)
    pick(page, "Loket 1")
    expect(page.locator("#queue")).to_contain_text(first["ticket_number"])
    call = page.get_by_role("button", name="Panggil berikutnya")
    expect(call).to_be_disabled()
    page.get_by_role("button", name="Tersedia").click()
    expect(page.get_by_role("button", name="Tersedia")).to_have_attribute("aria-pressed", "true")
    expect(call).to_be_enabled()
    screenshots(page, "agent-console")
    call.dblclick()
    expect(page.locator("#active-number")).to_have_text(first["ticket_number"])
    assert sorted(b.get_attribute("data-action") or "" for b in page.locator("#actions button").all()) == [
        "mark_no_show", "recall", "start", "transfer"]
    page.get_by_role("button", name="Mulai layani").click()
    expect(page.locator("#actions button")).to_have_count(2)
    screenshots(page, "agent-serving")
    page.get_by_role("button", name="Selesai").click()
    expect(page.locator("#no-active")).to_be_visible()
    assert ticket(floor, first["ticket_id"])["status"] == "done"
