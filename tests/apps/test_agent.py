"""The counter console in headless Chromium against a real gateway: login and role gating, counter choice,
presence, the active ticket's actions, the live queue, errors in words, session expiry."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.apps.floorkit import Floor, screenshots
from tests.apps.test_kiosk_budget import _load as measure_load

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
    rows = floor.tenant.sql(
        "select status::text, counter_id::text, service_id::text from qms.tickets where ticket_id = %s", (ticket_id,)
    )
    status, counter_id, service_id = rows[0]
    return {"status": status, "counter_id": counter_id, "service_id": service_id}


def test_serve_a_ticket_from_login_to_complete(page: Page, floor: Floor) -> None:
    first, second = issue(floor), issue(floor)
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
    assert ticket(floor, second["ticket_id"])["status"] == "waiting", "a double click calls once"
    assert [c["action"] for c in page.evaluate("window.qmsConsole.commands")] == ["presence", "call_next"]
    assert sorted(b.get_attribute("data-action") or "" for b in page.locator("#actions button").all()) == [
        "mark_no_show",
        "recall",
        "start",
        "transfer",
    ]
    page.get_by_role("button", name="Mulai layani").click()
    expect(page.locator("#actions button")).to_have_count(2)
    screenshots(page, "agent-serving")
    page.get_by_role("button", name="Selesai").click()
    expect(page.locator("#no-active")).to_be_visible()
    assert ticket(floor, first["ticket_id"])["status"] == "done"


def test_a_wrong_password_is_refused_in_words(page: Page, floor: Floor) -> None:
    login(page, floor, password="not the password")
    expect(page.get_by_role("alert")).to_have_text("E-mail, kata sandi atau kode organisasi salah.")
    expect(page.locator("#screen-login")).to_be_visible()
    expect(page.get_by_label("Kata sandi")).to_be_focused()
    screenshots(page, "agent-login-error")


def test_an_agent_sees_and_operates_only_the_counters_of_its_branches(page: Page, floor: Floor) -> None:
    foreign = floor.rpc(
        "create_counter", branch_id=floor.tenant.other_branch_id, name="Loket Seberang", service_ids=[]
    )["counter_id"]
    page.goto(floor.app_url("agent"))
    page.evaluate(
        "([b, c]) => localStorage.setItem('qms.agent.counter', JSON.stringify({branch_id: b, counter_id: c}))",
        [floor.tenant.other_branch_id, foreign],
    )
    login(page, floor)
    expect(page.locator("#pick-note")).to_have_text("Loket yang tersimpan tidak bisa Anda pakai. Pilih loket lain.")
    names = [n.split("\n")[0].strip() for n in page.locator("#counters button").all_inner_texts()]
    assert names == ["Loket 1", "Loket 2", "Loket 3"]
    # The server refuses it too, whatever the page sends.
    status = page.evaluate(
        "c => window.qmsAgent.api.command('call_next', {counter_id: c}).then(() => 200, e => e.status)", foreign
    )
    assert status in (403, 404)


def test_transfer_hold_unhold_no_show_and_cancel(page: Page, floor: Floor) -> None:
    page.on("dialog", lambda d: d.accept())
    first, second, third = issue(floor), issue(floor), issue(floor)
    floor.rpc("set_counter_status", role="agent", counter_id=floor.counters["Loket 1"], status="available")
    login(page, floor)
    pick(page, "Loket 1")
    page.get_by_role("button", name=f"Tunda {second['ticket_number']}").click()
    held = page.locator(".tickets.held")
    expect(held).to_contain_text(second["ticket_number"])
    assert ticket(floor, second["ticket_id"])["status"] == "held"
    page.get_by_role("button", name=f"Batalkan {third['ticket_number']}").click()
    expect(page.locator("#queue")).not_to_contain_text(third["ticket_number"])
    assert ticket(floor, third["ticket_id"])["status"] == "cancelled"
    page.get_by_role("button", name=f"Kembalikan ke antrean {second['ticket_number']}").click()
    expect(held).to_have_count(0)
    assert ticket(floor, second["ticket_id"])["status"] == "waiting"

    page.get_by_role("button", name="Panggil berikutnya").click()
    expect(page.locator("#active-number")).to_have_text(first["ticket_number"])
    opener = page.locator("#actions").get_by_role("button", name="Pindahkan")
    opener.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_label("Ke layanan")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Ke layanan")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name="Pindahkan")).to_be_focused()
    dialog.get_by_role("button", name="Pindahkan").click()
    expect(dialog.get_by_role("alert")).to_have_text("Pilih layanan atau loket tujuan.")
    page.get_by_label("Ke layanan").select_option(label="Customer Service")
    page.get_by_label("Alasan").fill("salah layanan")
    dialog.get_by_role("button", name="Pindahkan").click()
    expect(page.locator("#no-active")).to_be_visible()
    moved = ticket(floor, first["ticket_id"])
    assert (moved["status"], moved["service_id"]) == ("waiting", floor.services["Customer Service"])

    page.get_by_role("button", name="Panggil berikutnya").click()
    expect(page.locator("#active-number")).to_have_text(second["ticket_number"])
    page.get_by_role("button", name="Tidak hadir").click()
    expect(page.locator("#no-active")).to_be_visible()
    assert ticket(floor, second["ticket_id"])["status"] == "no_show"
    page.get_by_role("button", name="Panggil berikutnya").click()
    expect(page.locator("#message-text")).to_have_text("Tidak ada tiket untuk dipanggil saat ini.")
    expect(page.locator("#message")).to_have_class("message info")
    expect(page.locator("#queue")).to_contain_text("Tidak ada yang menunggu. Antrean tenang.")


def test_a_conflict_is_explained_and_a_lost_request_is_retried_with_its_request_id(page: Page, floor: Floor) -> None:
    first, second = issue(floor), issue(floor)
    login(page, floor)
    pick(page, "Loket 1")
    expect(page.locator("#queue")).to_contain_text(second["ticket_number"])
    # Freeze the list, then another agent cancels the first ticket: holding it now is a 409.
    page.route("**/rpc/queue_snapshot", lambda route: route.abort())
    floor.rpc("ticket_action", role="agent", ticket_id=first["ticket_id"], action="cancel")
    page.get_by_role("button", name=f"Tunda {first['ticket_number']}").click()
    expect(page.locator("#message")).to_contain_text("Tiket ini sudah berubah")
    page.unroute("**/rpc/queue_snapshot")
    # The first attempt at holding the second ticket never reaches the gateway; the retry sends the same id.
    aborted: list[str] = []

    def drop_once(route: Any) -> None:
        if not aborted:
            aborted.append(route.request.post_data or "")
            route.abort()
        else:
            route.continue_()

    page.route("**/rpc/ticket_action", drop_once)
    page.get_by_role("button", name=f"Tunda {second['ticket_number']}").click()
    expect(page.locator("#message")).to_contain_text("Server tidak terjangkau")
    page.get_by_role("button", name="Coba lagi").click()
    expect(page.locator(".tickets.held")).to_contain_text(second["ticket_number"])
    commands = page.evaluate("window.qmsConsole.commands")
    assert commands[-1]["request_id"] == commands[-2]["request_id"]
    assert commands[-1]["request_id"] in aborted[0]
    assert ticket(floor, second["ticket_id"])["status"] == "held"


def test_the_queue_is_live_and_an_ended_session_returns_to_login_keeping_the_counter(page: Page, floor: Floor) -> None:
    login(page, floor)
    pick(page, "Loket 1")
    expect(page.locator("#queue")).to_contain_text("Tidak ada yang menunggu")
    page.evaluate("window.__still_the_same_page = true")
    new = issue(floor)
    expect(page.locator("#queue")).to_contain_text(new["ticket_number"])
    assert page.evaluate("window.__still_the_same_page") is True
    # The session ends (refresh token revoked, access token no longer valid).
    page.evaluate(
        "localStorage.setItem('qms.agent.auth', JSON.stringify({access_token: 'x.eyJyb2xlIjoicW1zX2FnZW50In0.x'}))"
    )
    page.get_by_role("button", name="Istirahat").click()
    expect(page.locator("#login-note")).to_have_text(
        "Sesi berakhir. Silakan masuk lagi; pilihan loket Anda tetap tersimpan."
    )
    expect(page.get_by_label("E-mail")).to_have_value(floor.email("agent"))
    page.get_by_label("Kata sandi").fill(floor.password)
    page.get_by_label("Kata sandi").press("Enter")
    expect(page.locator("#screen-console")).to_be_visible()
    expect(page.locator("#where")).to_contain_text("Loket 1")


def test_keyboard_labels_and_english(page: Page, floor: Floor) -> None:
    page.goto(floor.app_url("agent"))
    unlabeled = page.evaluate("""() => Array.from(document.querySelectorAll('input, select, textarea')).filter(el =>
        !el.getAttribute('aria-label') && !document.querySelector('label[for="' + el.id + '"]')).map(el => el.id)""")
    assert unlabeled == []
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    page.get_by_label("Organisation code").focus()
    page.keyboard.type(floor.tenant.slug)
    page.keyboard.press("Tab")
    page.keyboard.type(floor.email("agent"))
    page.keyboard.press("Tab")
    page.keyboard.type(floor.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Loket 1")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Active ticket")).to_be_visible()
    nameless = page.evaluate("""() => Array.from(document.querySelectorAll('button')).filter(b =>
        b.offsetParent !== null && !(b.getAttribute('aria-label') || b.textContent.trim())).length""")
    assert nameless == 0


def test_agent_weight_and_first_render(context: BrowserContext, page: Page, floor: Floor) -> None:
    weight, ms = measure_load(context, page, floor.app_url("agent"), "#login-form")
    assert weight <= 150 * 1024, weight
    assert ms <= 1000, f"first render {ms:.0f} ms at 6x CPU throttling"
