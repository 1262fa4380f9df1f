"""The admin console in headless Chromium: an admin sets up a branch (service, counter, a user with a password)
and registers a display whose token and QR code are shown once; the new agent calls at the new counter; an
agent's token gets no data and the API answers 403; forms show the server's error next to the field."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, Response, expect

from tests.apps.floorkit import Floor, decode_qr, screenshots

pytestmark = pytest.mark.browser


def admin_login(page: Page, floor: Floor, role: str = "admin") -> None:
    page.goto(floor.app_url("admin"))
    page.fill("#tenant", floor.tenant.slug)
    page.fill("#email", floor.email(role))
    page.fill("#password", floor.password)
    page.get_by_role("button", name="Masuk").click()


def test_admin_sets_up_a_branch_and_a_display_and_the_agent_calls_there(page: Page, floor: Floor) -> None:
    admin_login(page, floor)
    expect(page.locator("#section-title")).to_have_text("Cabang dan area")
    page.get_by_role("button", name="English").click()
    page.get_by_role("button", name="New branch").click()
    page.fill("#branch-form-name", "North")
    page.fill("#branch-form-code", "north wing")
    page.fill("#branch-form-timezone", "Asia/Jakarta")
    page.fill("#branch-form-hours-mon", "08:00-12:00, 13:00-25:00")
    page.get_by_role("button", name="Save").click()
    # In-page validation: the code's pattern and the hours are checked before anything is sent.
    expect(page.locator("#branch-form-code-error")).to_contain_text("Letters, digits")
    expect(page.locator("#branch-form-hours-error")).to_contain_text("13:00-25:00")
    page.fill("#branch-form-code", "north")
    page.fill("#branch-form-hours-mon", "")
    page.fill("#branch-form-timezone", "Mars/Olympus")
    page.get_by_role("button", name="Save").click()
    # The server's structured error, next to the field it names.
    expect(page.locator("#branch-form-timezone-error")).to_contain_text("Unknown time zone")
    screenshots(page, "admin-branch-form-error")
    page.fill("#branch-form-timezone", "Asia/Jakarta")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name=f"{floor.tenant.slug}.north")).to_be_visible()
    branch = next(b for b in floor.rpc("list_branches") if b["name"] == "North")
    assert branch["code"] == "north" and branch["timezone"] == "Asia/Jakarta"

    page.get_by_role("link", name="Services").click()
    page.select_option("#branch", branch["branch_id"])
    page.get_by_role("button", name="New service").click()
    page.fill("#service-form-name", "Loans")
    page.fill("#service-form-prefix", "L")
    page.fill("#service-form-sla_minutes", "10")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("table.grid")).to_contain_text("Loans")

    page.get_by_role("link", name="Counters").click()
    page.get_by_role("button", name="New counter").click()
    page.fill("#counter-form-name", "Desk 9")
    page.get_by_label("Loans").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("table.grid")).to_contain_text("Desk 9")
    counter = next(c for c in floor.rpc("list_counters", branch_id=branch["branch_id"]) if c["name"] == "Desk 9")

    page.get_by_role("link", name="Users").click()
    page.get_by_role("button", name="New user").click()
    page.fill("#user-form-email", "nina@example.org")
    page.fill("#user-form-display_name", "Nina")
    page.locator("#user-form-branch_ids").get_by_label("North").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("table.grid")).to_contain_text("nina@example.org")
    page.locator("tr", has_text="nina@example.org").get_by_role("button", name="Edit").click()
    page.fill("#password-form-password", "short")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#password-form-password-error")).to_have_text("At least 8 characters.")
    page.fill("#password-form-password", "nina-secret-1")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#password-form .form-ok")).to_contain_text("Password set")

    page.get_by_role("link", name="Devices").click()
    page.fill("#device-form-name", "Board N")
    page.select_option("#device-form-kind", "display")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#pairing")).to_be_visible()
    expect(page.locator("#pairing")).to_contain_text("Shown once")
    url = page.input_value("#pair-url")
    assert re.match(rf"^{re.escape(floor.gw.url)}/apps/display/#token=[\w.-]+$", url), url
    assert decode_qr(page, "#pair-qr svg") == [url]
    screenshots(page, "admin-device-pairing")
    token = url.split("#token=")[1]
    with floor.gw.client(token) as c:
        r = c.post("/rpc/display_snapshot", json={"branch_id": branch["branch_id"]})
    assert r.status_code == 200, r.text
    page.get_by_role("button", name="Done", exact=True).click()
    expect(page.locator("#pairing")).to_have_count(0)
    expect(page.locator("table.grid")).to_contain_text("Board N")
    assert token not in page.content()

    # The new agent signs in with the password the admin set and calls at the new counter.
    r = httpx.post(
        floor.gw.url + "/auth/login",
        json={"tenant": floor.tenant.slug, "email": "nina@example.org", "password": "nina-secret-1"},
    )
    assert r.status_code == 200, r.text
    with floor.gw.client(r.json()["access_token"]) as c:
        svc = next(s for s in c.post("/rpc/list_services", json={"branch_id": branch["branch_id"]}).json())
        issued = c.post("/rpc/create_ticket", json={"service_id": svc["service_id"]}).json()
        opened = c.post("/rpc/set_counter_status", json={"counter_id": counter["counter_id"], "status": "available"})
        assert opened.status_code == 200, opened.text
        called = c.post("/rpc/call_next", json={"counter_id": counter["counter_id"]}).json()
    assert issued["ticket_number"] == "L-001"
    assert called["ticket"]["ticket_id"] == issued["ticket_id"]

    page.get_by_role("link", name="Audit log").click()
    page.fill("#audit-filter-target", "device")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#audit-rows")).to_contain_text("device.create")
    screenshots(page, "admin-audit")


def test_an_agent_token_gets_nothing_from_the_console_and_403_from_the_api(page: Page, floor: Floor) -> None:
    admin_login(page, floor, "agent")
    expect(page.locator("#login-note")).to_contain_text("untuk admin dan supervisor")
    expect(page.locator("#screen-main")).to_be_hidden()
    assert floor.tenant.slug.upper() not in page.locator("body").inner_text()
    for fn, args in (("list_users", {}), ("create_branch", {"name": "X"}), ("list_audit_logs", {})):
        with floor.api("agent") as c:
            r = c.post(f"/rpc/{fn}", json=args)
        assert r.status_code == 403 and r.json()["code"] == "PERMISSION_DENIED", (fn, r.text)
    with floor.api("agent") as c:
        r = c.post(f"/api/users/{floor.tenant.users['agent']}/password", json={"password": "long-enough-1"})
    assert r.status_code == 403 and r.json()["code"] == "PERMISSION_DENIED", r.text


def test_a_supervisor_sees_the_console_without_its_controls(page: Page, floor: Floor) -> None:
    admin_login(page, floor, "supervisor")
    expect(page.locator("#who")).to_have_text("Supervisor (hanya baca)")
    expect(page.locator("table.grid")).to_contain_text("Main")
    expect(page.get_by_role("button", name="Cabang baru")).to_have_count(0)
    expect(page.get_by_role("button", name="Ubah")).to_have_count(0)
    page.get_by_role("link", name="Kebijakan antrean").click()
    expect(page.locator("table.grid")).to_contain_text("Bawaan")
    expect(page.locator("#policy-form")).to_have_count(0)
    screenshots(page, "admin-supervisor-policies")


def js_css_weight(page: Page, load: Callable[[], None], ready: str) -> int:
    """Bytes of JS and CSS loaded (uncompressed) while load() runs, until ready is visible."""
    sizes: dict[str, int] = {}

    def count(response: Response) -> None:
        if response.request.resource_type in ("script", "stylesheet"):
            sizes[response.url] = len(response.body())

    page.on("response", count)
    load()
    expect(page.locator(ready).first).to_be_visible()
    page.remove_listener("response", count)
    return sum(sizes.values())


def test_admin_console_weight(page: Page, floor: Floor) -> None:
    weight = js_css_weight(page, lambda: admin_login(page, floor, "supervisor"), "table.grid")
    assert 0 < weight <= 150 * 1024, weight
