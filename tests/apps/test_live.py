"""The supervisor's live floor in headless Chromium: a new ticket shows in the waiting count within 5 s (from
the realtime event, not a reload), a force-transfer with a reason and a counter put on break are applied, and
the transfer appears in the admin console's audit viewer with the supervisor as actor."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.apps.floorkit import Floor, screenshots
from tests.apps.test_admin import admin_login, js_css_weight

pytestmark = pytest.mark.browser


def live_login(page: Page, floor: Floor) -> None:
    page.goto(floor.app_url("live"))
    page.fill("#tenant", floor.tenant.slug)
    page.fill("#email", floor.email("supervisor"))
    page.fill("#password", floor.password)
    page.get_by_role("button", name="Masuk").click()


def waiting(page: Page, floor: Floor, service: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-waiting="{floor.services[service]}"]')


def test_live_floor_counts_intervenes_and_the_audit_shows_it(page: Page, floor: Floor) -> None:
    live_login(page, floor)
    expect(waiting(page, floor, "Teller")).to_have_text("0")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    loads = page.evaluate("window.qmsLive.applied")
    with floor.api("agent") as c:
        for _ in range(2):
            r = c.post("/rpc/create_ticket", json={"service_id": floor.services["Teller"]})
            assert r.status_code == 200, r.text
    expect(waiting(page, floor, "Teller")).to_have_text("2", timeout=5000)
    assert page.evaluate("window.qmsLive.applied") >= loads + 2  # applied from events, not from a snapshot
    expect(page.locator("#waiting")).to_contain_text("A-001")

    page.locator("#waiting tr", has_text="A-001").get_by_role("button", name="Alihkan").click()
    page.select_option("#act-target", label="Layanan: Customer Service")
    page.locator("#act").get_by_role("button", name="Alihkan").click()
    expect(page.locator("#act .form-error")).to_have_text(re.compile("Isi alasan"))
    page.fill("#act-reason", "needs an account officer")
    page.locator("#act").get_by_role("button", name="Alihkan").click()
    expect(page.locator("#act")).to_be_hidden()
    expect(waiting(page, floor, "Teller")).to_have_text("1")
    expect(waiting(page, floor, "Customer Service")).to_have_text("1")

    page.locator("#counters tr", has_text="Loket 1").get_by_role("button", name="Istirahatkan").click()
    expect(page.locator("#counters tr", has_text="Loket 1")).to_contain_text("Istirahat")
    screenshots(page, "live-floor")
    status = floor.tenant.sql("select status from qms.counters where counter_id = %s", (floor.counters["Loket 1"],))
    assert status == [("break",)]

    admin_login(page, floor, "supervisor")
    page.get_by_role("link", name="Log audit").click()
    page.fill("#audit-filter-target", "ticket")
    page.get_by_role("button", name="Terapkan").click()
    row = page.locator("#audit-rows tr", has_text="ticket.transfer")
    expect(row).to_contain_text("(supervisor)")
    expect(row).to_contain_text("service_id")
    page.fill("#audit-filter-target", "counter")
    page.get_by_role("button", name="Terapkan").click()
    expect(page.locator("#audit-rows")).to_contain_text("break")
    screenshots(page, "admin-audit-transfer")


def test_a_supervisor_reassigns_a_called_and_a_serving_ticket(page: Page, floor: Floor) -> None:
    """ticket_action transfer takes called and serving tickets too: the live floor offers it on the counter row."""
    with floor.api("agent") as c:
        for counter in ("Loket 1", "Loket 2"):
            service = "Teller" if counter == "Loket 1" else "Customer Service"
            assert c.post("/rpc/create_ticket", json={"service_id": floor.services[service]}).status_code == 200
            cid = floor.counters[counter]
            assert c.post("/rpc/set_counter_status", json={"counter_id": cid, "status": "available"}).status_code == 200
            called = c.post("/rpc/call_next", json={"counter_id": cid}).json()["ticket"]
        r = c.post("/rpc/ticket_action", json={"ticket_id": called["ticket_id"], "action": "start", "counter_id": cid})
        assert r.status_code == 200 and r.json()["status"] == "serving", r.text
    live_login(page, floor)
    row = page.locator("#counters tr", has_text="Loket 1")
    expect(row).to_contain_text("A-001 · dipanggil")
    row.get_by_role("button", name="Alihkan tiket").click()
    expect(page.locator("#act-title")).to_contain_text("A-001 (dipanggil)")
    expect(page.locator("#act-target option", has_text="Loket:")).not_to_contain_text(["Loket: Loket 1"])
    page.select_option("#act-target", label="Loket: Loket 3")
    page.fill("#act-reason", "agent called away")
    page.locator("#act").get_by_role("button", name="Alihkan").click()
    expect(page.locator("#act")).to_be_hidden()
    expect(row).not_to_contain_text("A-001")
    expect(waiting(page, floor, "Teller")).to_have_text("1")
    teller = next(
        t
        for t in floor.rpc("queue_snapshot", branch_id=floor.branch_id)["services"]
        if t["service_id"] == floor.services["Teller"]
    )
    assert [w["ticket_number"] for w in teller["waiting"]] == ["A-001"]

    serving = page.locator("#counters tr", has_text="Loket 2")
    expect(serving).to_contain_text("B-001 · dilayani")
    serving.get_by_role("button", name="Alihkan tiket").click()
    page.select_option("#act-target", label="Layanan: Teller")
    page.fill("#act-reason", "wrong queue")
    screenshots(page, "live-floor-reassign")
    page.locator("#act").get_by_role("button", name="Alihkan").click()
    expect(page.locator("#act")).to_be_hidden()
    expect(waiting(page, floor, "Teller")).to_have_text("2")
    audit = floor.rpc("list_audit_logs", action="ticket.transfer")
    assert len(audit) == 2 and {a["before"]["status"] for a in audit} == {"called", "serving"}
    assert {a["actor_role"] for a in audit} == {"qms_supervisor"}


def test_live_floor_weight(page: Page, floor: Floor) -> None:
    weight = js_css_weight(page, lambda: live_login(page, floor), "[data-waiting]")
    assert 0 < weight <= 150 * 1024, weight


def test_live_floor_shows_an_anomaly_alert_when_raised_and_drops_it_when_cleared(page: Page, floor: Floor) -> None:
    """The anomaly worker's raise and clear reach the open live floor over realtime, without a reload."""
    with floor.api("supervisor") as c:
        r = c.post(
            "/rpc/create_anomaly_rule",
            json={"service_id": floor.services["Teller"], "rule_kind": "waiting_over", "threshold": 1},
        )
        assert r.status_code == 200, r.text
    live_login(page, floor)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#alerts-section")).to_be_hidden()
    with floor.api("agent") as c:
        tickets = [c.post("/rpc/create_ticket", json={"service_id": floor.services["Teller"]}).json() for _ in range(2)]
    evaluate = "set role qms_worker; select worker.evaluate_anomalies()"
    floor.tenant.sql(evaluate)
    expect(page.locator("#alerts .alert")).to_have_text(re.compile("Teller: 2 menunggu"), timeout=5000)
    screenshots(page, "live-floor-alert")
    with floor.api("supervisor") as c:
        r = c.post("/rpc/ticket_action", json={"ticket_id": tickets[0]["ticket_id"], "action": "cancel"})
        assert r.status_code == 200, r.text
    floor.tenant.sql(evaluate)
    expect(page.locator("#alerts-section")).to_be_hidden(timeout=5000)
