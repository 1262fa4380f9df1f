"""The branch floor end to end in one Chromium: a customer takes a number at the kiosk, the agent calls it in the
counter console, the display shows it within a second of the click (both clocks are the browser's) and announces
it; the agent's recall announces it again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.apps.floorkit import Floor, screenshots

pytestmark = pytest.mark.browser


def test_kiosk_to_agent_to_display(context: BrowserContext, floor: Floor) -> None:
    errors: list[str] = []
    kiosk, agent, display = context.new_page(), context.new_page(), context.new_page()
    for p in (kiosk, agent, display):
        p.on("pageerror", lambda exc: errors.append(str(exc)))
    kiosk.add_init_script("window.print = function () {};")
    kiosk.goto(floor.device_url("kiosk"))
    kiosk.get_by_role("button", name="Bahasa Indonesia").click()
    kiosk.get_by_role("button", name=re.compile("Teller")).click()
    expect(kiosk.locator("#ticket-number")).to_have_text("A-001")

    display.goto(floor.device_url("display"))
    display.wait_for_function("window.qmsDisplay && window.qmsDisplay.transport === 'ws'")

    agent.goto(floor.app_url("agent"))
    agent.get_by_label("Kode organisasi").fill(floor.tenant.slug)
    agent.get_by_label("E-mail").fill(floor.email("agent"))
    agent.get_by_label("Kata sandi").fill(floor.password)
    agent.get_by_role("button", name="Masuk").click()
    agent.get_by_role("button", name="Loket 1").click()
    expect(agent.locator("#queue")).to_contain_text("A-001")
    agent.get_by_role("button", name="Tersedia").click()
    call = agent.get_by_role("button", name="Panggil berikutnya")
    expect(call).to_be_enabled()
    call.click()

    expect(display.locator("#now-number")).to_have_text("A-001")
    expect(display.locator("#now-counter")).to_have_text("Loket 1")
    display.wait_for_function("window.qmsDisplay.paints.length === 1 && window.qmsDisplay.paints[0].painted_at")
    paint = display.evaluate("window.qmsDisplay.paints[0]")
    [command] = [c for c in agent.evaluate("window.qmsConsole.commands") if c["action"] == "call_next"]
    # The engine's answer to the click, then the board: within a second (on a machine shared with other test
    # suites the click-to-answer part alone can take longer; docs/benchmarks.md has click-to-pixel figures).
    assert paint["painted_at"] - command["answered_at"] < 1000, (command, paint)
    assert paint["paint_ms"] < 1000
    first = display.evaluate("window.qmsDisplay.announcements[0]")
    assert (first["ticket_number"], first["kind"], first["text"]) == (
        "A-001",
        "call",
        "Nomor antrian A-001, silakan ke loket 1",
    )

    expect(agent.locator("#active-number")).to_have_text("A-001")
    agent.get_by_role("button", name="Panggil ulang").click()
    display.wait_for_function(
        "window.qmsDisplay.announcements.length === 2 &&"
        " window.qmsDisplay.announcements.every(a => a.status === 'done')",
        timeout=30_000,
    )
    first, again = display.evaluate("window.qmsDisplay.announcements")
    assert again["kind"] == "recall" and again["ticket_number"] == "A-001"
    assert again["started_at"] >= first["ended_at"]

    agent.get_by_role("button", name="Mulai layani").click()
    agent.get_by_role("button", name="Selesai").click()
    expect(agent.locator("#no-active")).to_be_visible()
    expect(display.locator("#recent .num")).to_have_text(["A-001"])
    expect(display.locator("#empty")).to_have_text("Menunggu panggilan berikutnya")
    screenshots(display, "display-after-service")
    assert not errors, errors
