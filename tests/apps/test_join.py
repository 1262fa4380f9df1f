"""The public join page in headless Chromium (phone size): a customer opens the branch's join link, sees the
services with waiting counts, leaves a contact with consent (checked in the page), joins, lands on the ticket's
status page, watches the position fall as the agent calls, and cancels. Plus the PWA shell (manifest, service
worker that never answers API calls) and the page weight."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.apps.floorkit import Floor, screenshots
from tests.apps.test_kiosk_print import kiosk_ticket

pytestmark = pytest.mark.browser


def join_code(floor: Floor, contacts: bool = True) -> str:
    floor.rpc("update_branch", branch_id=floor.branch_id, code="main")
    floor.rpc("update_tenant", pii_policy={"contacts": contacts}, branding={"accent_color": "#7a1f5c"})
    return f"{floor.tenant.slug}.main"


def test_customer_joins_from_the_link_follows_the_queue_and_cancels(page: Page, floor: Floor) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    code = join_code(floor)
    first = kiosk_ticket(floor)
    page.goto(floor.app_url("public", f"b={code}"))
    expect(page.locator("#join-branch")).to_have_text("Main")
    expect(page.locator("#join-state")).to_have_text("Buka sekarang")
    teller = page.locator("#join-services li", has_text="Teller")
    expect(teller).to_contain_text("1 menunggu")
    expect(page.locator("#join-services li", has_text="Customer Service")).to_contain_text("Tidak ada antrean")
    screenshots(page, "join-services")
    teller.get_by_role("button").click()
    expect(page.locator("#join-contact")).to_be_visible()
    page.fill("#join-phone", "12ab")
    page.get_by_role("button", name="Ambil nomor", exact=True).click()
    expect(page.locator("#join-phone-error")).to_have_text(re.compile("nomor telepon"))
    expect(page.locator("#join-consent-error")).to_be_visible()
    page.fill("#join-phone", "+62 812 3456 7890")
    page.check("#join-consent")
    screenshots(page, "join-contact")
    page.get_by_role("button", name="Ambil nomor", exact=True).click()
    expect(page.locator("#number")).to_have_text("A-002")
    assert "#t=" in page.url
    expect(page.locator("#position")).to_have_text("1 orang di depan Anda")
    rows = floor.tenant.sql(
        "select channel from qms.tickets where tenant_id = %s and ticket_number = 'A-002'", (floor.tenant.tenant_id,)
    )
    assert rows == [("web",)]
    floor.rpc("set_counter_status", role="agent", counter_id=floor.counters["Loket 1"], status="available")
    called = floor.rpc("call_next", role="agent", counter_id=floor.counters["Loket 1"])
    assert called["ticket"]["ticket_id"] == first["ticket_id"]
    expect(page.locator("#position")).to_have_text("Anda berikutnya!", timeout=8000)
    page.get_by_role("button", name="Batalkan nomor saya").click()
    page.get_by_role("button", name="Ya, batalkan").click()
    expect(page.locator("#status")).to_have_text("Nomor Anda sudah dibatalkan.")
    screenshots(page, "join-cancelled")
    # Back on the join link, the ticket taken from this phone is offered.
    page.goto("about:blank")
    page.goto(floor.app_url("public", f"b={code}"))
    expect(page.locator("#join-mine-link")).to_have_text(re.compile("A-002"))


def test_join_without_contacts_a_closed_service_and_an_unknown_link(page: Page, floor: Floor) -> None:
    code = join_code(floor, contacts=False)
    floor.rpc("update_service", service_id=floor.services["Customer Service"], hours={"sun": [["00:00", "00:01"]]})
    page.goto(floor.app_url("public", f"b={code}"))
    closed = page.locator("#join-services li", has_text="Customer Service")
    expect(closed).to_contain_text("Sedang tutup")
    expect(closed.get_by_role("button")).to_be_disabled()
    page.locator("#join-services li", has_text="Teller").get_by_role("button").click()
    expect(page.locator("#join-contact")).to_be_hidden()
    page.get_by_role("button", name="Ambil nomor", exact=True).click()
    expect(page.locator("#number")).to_have_text("A-001")
    page.goto("about:blank")
    page.goto(floor.app_url("public", "b=nobody.nowhere"))
    expect(page.locator("#message")).to_have_text(re.compile("Tautan antre ini tidak berlaku"))


def test_the_public_shell_is_installable_and_the_service_worker_never_serves_api_answers(
    context: BrowserContext, page: Page, floor: Floor
) -> None:
    code = join_code(floor)
    page.goto(floor.app_url("public", f"b={code}"))
    expect(page.locator("#join-branch")).to_have_text("Main")
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["icons"]
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now controlled by the service worker
    assert page.evaluate("!!navigator.serviceWorker.controller")
    cached = page.evaluate(
        "caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys())))).then(l => l.flat().map(r => r.url))"
    )
    assert any(u.endswith("/apps/public/join.js") for u in cached), cached
    assert not any("/rpc/" in u or "/api/" in u for u in cached), cached
    # Offline: the shell comes from the cache and the page shows the last branch state, marked as old.
    context.set_offline(True)
    page.reload()
    expect(page.locator("#join-branch")).to_have_text("Main")
    expect(page.locator("#offline")).to_be_visible()
    expect(page.locator("#join-services button").first).to_be_disabled()
    context.set_offline(False)


def test_public_join_page_weight(page: Page, floor: Floor) -> None:
    code = join_code(floor)
    sizes: dict[str, int] = {}
    page.on(
        "response",
        lambda r: (
            sizes.__setitem__(r.url, len(r.body())) if r.request.resource_type in ("script", "stylesheet") else None
        ),
    )
    page.goto(floor.app_url("public", f"b={code}"))
    expect(page.locator("#join-services li").first).to_be_visible()
    assert sum(sizes.values()) <= 60 * 1024, sizes
