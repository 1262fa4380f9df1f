"""The display board in headless Chromium against a real gateway: calls appear within a second (timed in the page),
every call and recall is announced once, in order, never overlapping; the board resyncs after a lost connection."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.apps.floorkit import Floor

pytestmark = pytest.mark.browser


def issue(floor: Floor, service: str = "Teller") -> dict[str, Any]:
    ticket: dict[str, Any] = floor.rpc("create_ticket", service_id=floor.services[service], channel="staff", role="agent")
    return ticket


def open_counter(floor: Floor, counter: str) -> None:
    floor.rpc("set_counter_status", role="agent", counter_id=floor.counters[counter], status="available")


def call_next(floor: Floor, counter: str) -> dict[str, Any]:
    res: dict[str, Any] = floor.rpc(
        "call_next", role="agent", counter_id=floor.counters[counter], request_id=str(uuid.uuid4())
    )
    return res


def open_board(page: Page, floor: Floor) -> None:
    page.goto(floor.device_url("display"))
    expect(page.locator("#empty")).to_be_visible()
    page.wait_for_function("window.qmsDisplay && window.qmsDisplay.transport === 'ws'")


def announcements(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate("JSON.parse(JSON.stringify(window.qmsDisplay.announcements))")
    return result


def test_a_call_appears_within_a_second_and_is_announced(page: Page, floor: Floor) -> None:
    open_board(page, floor)
    assert "token=" not in page.url, "the device token is removed from the address bar"
    ticket = issue(floor)
    open_counter(floor, "Loket 1")
    called = call_next(floor, "Loket 1")
    assert called["ticket"]["ticket_id"] == ticket["ticket_id"]
    expect(page.locator("#now-number")).to_have_text(ticket["ticket_number"])
    expect(page.locator("#now-counter")).to_have_text("Loket 1")
    page.wait_for_function("window.qmsDisplay.paints.length > 0 && window.qmsDisplay.paints[0].paint_ms !== null")
    paint = page.evaluate("window.qmsDisplay.paints[0]")
    assert paint["ticket_number"] == ticket["ticket_number"]
    assert paint["paint_ms"] < 1000
    page.wait_for_function("window.qmsDisplay.announcements.length === 1 && window.qmsDisplay.announcements[0].status === 'done'", timeout=15_000)
    [entry] = announcements(page)
    number = ticket["ticket_number"]
    assert entry["text"] == f"Nomor antrian {number}, silakan ke loket 1"
    assert entry["mode"] == "clips"
    assert entry["keys"][:3] == ["chime", "|", "intro"]
    assert entry["ended_at"] > entry["started_at"] >= entry["queued_at"]
