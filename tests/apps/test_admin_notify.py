"""The Notifications screens of the admin console in headless Chromium: the switchboard with in-page validation,
a provider's credentials written and never read back (page and API bodies), a template version written with the
server's live preview and activated, a dead letter re-driven, a message of the local mail sink viewed; a
supervisor gets the read-only part the database allows."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from playwright.sync_api import Page, expect

from qms.pg import free_port
from tests.apps.conftest import SECRET_KEY
from tests.apps.floorkit import Floor, screenshots
from tests.apps.test_admin import admin_login
from tests.notify_kit import wait_until
from workers import notify_secrets

pytestmark = pytest.mark.browser

PASSWORD = "hunter2-smtp-pass"


def notifying_floor(floor: Floor) -> dict[str, str]:
    """Notifications on (e-mail), a ticket with a contact whose created-delivery is a dead letter; the delivery."""
    floor.rpc("set_notification_settings", enabled=True, channels=["email"], max_attempts=3)
    floor.rpc("update_tenant", pii_policy={"contacts": True, "retention_days": 30})
    ticket = floor.rpc(
        "create_ticket",
        role="agent",
        service_id=floor.services["Teller"],
        contact={"email": "rina@example.com", "consent": True},
    )
    # The sender is not running here: its failing attempts are played by the owner (as tests/gateway does).
    floor.tenant.sql(
        "update qms.notification_deliveries set status = 'dead', attempts = 3, max_attempts = 3,"
        " last_error = '550 5.1.1 mailbox unavailable' where tenant_id = %s and ticket_id = %s",
        (floor.tenant.tenant_id, ticket["ticket_id"]),
    )
    (delivery,) = floor.rpc("list_notification_deliveries", status="dead")
    return {"delivery_id": delivery["delivery_id"], "ticket_number": ticket["ticket_number"]}


@pytest.fixture
def mail_sink(floor: Floor) -> Iterator[int]:
    """The local mail sink of `qms up` (workers.mailsink) on the test database; its SMTP port."""
    port = free_port(27000 + os.getpid() % 2000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.mailsink", "--database-url", floor.gw.db_url, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_until(lambda: _accepts(port) or proc.poll() is not None, 30, "the mail sink to listen")
        assert proc.poll() is None, proc.communicate()[0]
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)


def _accepts(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2):
            return True
    except OSError:
        return False


def send_to_sink(port: int, tenant_id: str) -> None:
    mail = EmailMessage()
    mail["From"] = "QMS <noreply@localhost>"
    mail["To"] = "rina@example.com"
    mail["Subject"] = "Your number A-001 at Main"
    mail["X-QMS-Tenant"] = tenant_id
    mail.set_content("Your number is A-001.\nPlease wait to be called.")
    mail.add_alternative("<p>Your number is <b>A-001</b>.</p>", subtype="html")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(mail)


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute("aria-selected", "true")


def test_admin_runs_the_notification_screens(page: Page, floor: Floor, mail_sink: int) -> None:
    dead = notifying_floor(floor)
    send_to_sink(mail_sink, floor.tenant.tenant_id)
    admin_login(page, floor)
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Notifications").click()

    # Switchboard: what is sent per event and channel; in-page validation, then a save.
    expect(page.locator("table.grid").first).to_contain_text("Called to a counter")
    matrix = page.locator("#notify-matrix")
    expect(matrix.get_by_label("Called to a counter / E-mail")).to_be_checked()
    expect(matrix.get_by_label("Called to a counter / SMS")).to_have_count(0)  # SMS is off: no box to tick
    settings = page.locator("#notify-settings")
    page.fill("#notify-settings-max_attempts", "25")
    settings.get_by_role("button", name="Save").click()
    expect(page.locator("#notify-settings-max_attempts-error")).to_contain_text("1")
    page.fill("#notify-settings-max_attempts", "4")
    page.locator("#notify-settings-channels").get_by_label("SMS").check()
    settings.get_by_role("button", name="Save").click()
    expect(matrix.get_by_label("Called to a counter / SMS")).to_be_checked()
    assert floor.rpc("get_notification_settings")["max_attempts"] == 4
    # Per channel and event: SMS stops carrying the issue notice; saved as channel_events.
    matrix.get_by_label("Ticket taken / SMS").uncheck()
    page.locator("#notify-matrix-save").click()
    expect(page.locator("#notify-pane [role=status]").first).to_have_text("Saved.")
    assert floor.rpc("get_notification_settings")["channel_events"] == {
        "sms": ["ticket.called", "ticket.recalled", "ticket.ahead", "ticket.no_show", "ticket.cancelled"]
    }
    screenshots(page, "admin-notify-settings")

    # Provider credentials: written, encrypted, never sent back.
    open_tab(page, "Providers")
    expect(page.locator("#provider-email-secret")).to_have_text("not set")
    page.fill("#provider-email-form-url", "smtp://mail.example.org:587?starttls=on")
    page.fill("#provider-email-form-secret_username", "mailer")
    page.fill("#provider-email-form-secret_password", PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/api/notification-providers/email")) as put:
        page.locator("#provider-email-form").get_by_role("button", name="Save").click()
    assert put.value.status == 200 and PASSWORD not in put.value.text() and "mailer" not in put.value.text()
    expect(page.locator("#provider-email-secret")).to_have_text("set")
    expect(page.locator("#provider-email-form-secret_password")).to_have_value("")
    ((stored,),) = floor.tenant.sql(
        "select secret from qms.notification_providers where tenant_id = %s and channel = 'email'",
        (floor.tenant.tenant_id,),
    )
    assert notify_secrets.decrypt(stored, key=SECRET_KEY) == {"username": "mailer", "password": PASSWORD}
    # A reload: the form is empty, the page and every API answer only say "set".
    page.reload()
    with page.expect_response(lambda r: r.url.endswith("/rpc/get_notification_settings")) as got:
        open_tab(page, "Providers")
    body = got.value.text()
    assert PASSWORD not in body and stored not in body
    assert next(p for p in json.loads(body)["providers"] if p["channel"] == "email")["secret_set"] is True
    expect(page.locator("#provider-email-secret")).to_have_text("set")
    expect(page.locator("#provider-email-form-secret_password")).to_have_value("")
    assert PASSWORD not in page.content()
    # Saving with the credential fields left empty keeps the stored credentials.
    page.fill("#provider-email-form-from", "Bank <queue@example.org>")
    page.locator("#provider-email-form").get_by_role("button", name="Save").click()
    expect(page.locator("#provider-email-form .form-ok")).to_be_visible()
    ((kept, config),) = floor.tenant.sql(
        "select secret, config from qms.notification_providers where tenant_id = %s and channel = 'email'",
        (floor.tenant.tenant_id,),
    )
    assert kept == stored and config["from"] == "Bank <queue@example.org>"
    # The server's structured error, next to the field it names (a bad JSON is caught in the page first).
    page.select_option("#provider-whatsapp-form-kind", "whatsapp")
    page.fill("#provider-whatsapp-form-phone_number_id", "1234")
    page.fill("#provider-whatsapp-form-approved_templates", "{not json")
    page.locator("#provider-whatsapp-form").get_by_role("button", name="Save").click()
    expect(page.locator("#provider-whatsapp-form-approved_templates-error")).to_have_text("Not valid JSON.")
    screenshots(page, "admin-notify-providers")

    # Templates: a new version with the live preview, then activated.
    open_tab(page, "Templates")
    page.select_option("#tpl-event", "ticket.called")
    page.select_option("#tpl-channel", "email")
    page.select_option("#tpl-language", "en")
    expect(page.locator("#tpl-slot")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#tpl-in-use")).to_contain_text("built-in")
    expect(page.locator("#tpl-preview-text")).to_contain_text("A-012")
    page.fill("#tpl-form-subject", "Now: {{ ticket_number }}")
    page.fill("#tpl-form-body_text", "Please go to {{ counter_name }}, {{ nickname }}.")
    expect(page.locator("#tpl-preview-text")).to_have_text("Please go to Counter 3, .")
    expect(page.locator("#tpl-preview-subject")).to_contain_text("Now: A-012")
    expect(page.locator("#tpl-missing")).to_contain_text("nickname")
    page.fill("#tpl-form-body_text", "Please go to {{ counter_name")
    expect(page.locator("#tpl-form-body_text-error")).to_contain_text("INVALID_TEMPLATE")
    page.fill("#tpl-form-body_text", "Please go to {{ counter_name }} now.")
    expect(page.locator("#tpl-preview-text")).to_have_text("Please go to Counter 3 now.")
    expect(page.locator("#tpl-missing")).to_have_count(0)
    page.get_by_role("button", name="Save as new version").click()
    expect(page.locator("#tpl-saved")).to_contain_text("Version 1 saved")
    row = page.locator("#tpl-slot tr", has_text="v1")
    expect(row).to_contain_text("Inactive")
    screenshots(page, "admin-notify-templates")
    row.get_by_role("button", name="Activate").click()
    expect(page.locator("#tpl-in-use")).to_have_text("In use: version 1.")
    active = floor.rpc("get_notification_template", event_type="ticket.called", channel="email", language="en")
    assert active["version"] == 1 and active["body_text"] == "Please go to {{ counter_name }} now."

    # The delivery log and the dead letter, re-driven.
    open_tab(page, "Delivery log")
    row = page.locator("#delivery-rows tr", has_text=dead["ticket_number"])
    expect(row).to_contain_text("Dead letter")
    expect(row).to_contain_text("r***@e******.com")
    expect(row).to_contain_text("550 5.1.1 mailbox unavailable")
    expect(row).to_contain_text("3 / 3")
    page.select_option("#delivery-filter-channel", "sms")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#delivery-rows")).to_contain_text("Nothing here yet.")
    open_tab(page, "Dead letters")
    page.get_by_label(f"Select {dead['ticket_number']}").check()
    screenshots(page, "admin-notify-dead")
    page.get_by_role("button", name="Re-drive selected").click()
    expect(page.locator("#redrive-result")).to_have_text("1 re-driven: queued again.")
    expect(page.locator("#dead-rows")).not_to_contain_text(dead["ticket_number"])
    (after,) = floor.rpc("list_notification_deliveries", ticket_id=None, channel="email")
    assert after["delivery_id"] == dead["delivery_id"] and after["status"] == "queued"

    # The demo's mail sink.
    open_tab(page, "Mail sink")
    page.locator("tr", has_text="Your number A-001 at Main").get_by_role("button", name="View").click()
    expect(page.locator("#sink-subject")).to_have_text("Your number A-001 at Main")
    expect(page.locator("#sink-text")).to_contain_text("Please wait to be called.")
    expect(page.locator("#sink-view")).to_contain_text("r***@e******.com")
    expect(page.frame_locator("#sink-html").locator("b")).to_have_text("A-001")
    screenshots(page, "admin-notify-sink")


def test_a_supervisor_reads_the_delivery_log_but_changes_nothing(page: Page, floor: Floor) -> None:
    dead = notifying_floor(floor)
    admin_login(page, floor, "supervisor")
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("tab")).to_have_text(["Channels and events", "Delivery log", "Dead letters"])
    expect(page.locator("#notify-settings")).to_have_count(0)
    expect(page.locator("#notify-pane .note")).to_contain_text("Read only")
    open_tab(page, "Dead letters")
    expect(page.locator("#dead-rows")).to_contain_text(dead["ticket_number"])
    expect(page.get_by_role("button", name="Re-drive")).to_have_count(0)
    screenshots(page, "admin-notify-supervisor")
    # The database decides: what the console hides is refused to the supervisor's token.
    with floor.api("supervisor") as c:
        for fn, args in (
            ("redrive_notification", {"delivery_id": dead["delivery_id"]}),
            ("list_notification_templates", {}),
            ("list_sink_messages", {}),
        ):
            r = c.post(f"/rpc/{fn}", json=args)
            assert r.status_code == 403 and r.json()["code"] == "PERMISSION_DENIED", (fn, r.text)
        r = c.put("/api/notification-providers/email", json={"kind": "log"})
        assert r.status_code == 403, r.text
        settings = c.post("/rpc/get_notification_settings", json={}).json()
    assert "providers" not in settings
