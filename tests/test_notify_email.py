"""The sender worker against a real SMTP server (aiosmtpd, in-process): issue and call e-mails in
Indonesian and English, fallback text for a missing variable, no send without contact or after opt-out,
clean stop on SIGTERM."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator

import psycopg
import pytest

from tests.engine_fixtures import connect_as, owner_rows
from tests.notify_kit import (
    SmtpSink,
    deliveries,
    issue,
    scalar,
    seed_notifying,
    start_smtp,
    start_worker,
    stop_worker,
    wait_until,
)
from workers.notify_render import render


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, str]]:
    sink = SmtpSink()
    controller, url = start_smtp(sink)
    try:
        yield sink, url
    finally:
        controller.stop()


def test_issue_and_call_mails_in_indonesian_and_english(db_url: str, smtp: tuple[SmtpSink, str]) -> None:
    sink, smtp_url = smtp
    seed = seed_notifying(db_url)
    ana, budi = issue(
        db_url,
        seed,
        [
            {"email": "ana@example.com", "language": "id", "consent": True},
            {"email": "budi@example.com", "language": "en", "consent": True},
        ],
    )
    worker = start_worker(db_url, smtp_url)
    try:
        received = sink.wait_for(2)
        by_to = {m.to[0]: m for m in received}
        assert by_to["ana@example.com"].subject == "Nomor antrean Anda A-001 di Main branch"
        assert "Nomor antrean Anda A-001 untuk Service 0 di Main branch. Posisi 1" in by_to["ana@example.com"].body()
        assert by_to["budi@example.com"].subject == "Your ticket A-002 at Main branch"
        assert "Your ticket is A-002 for Service 0 at Main branch. Position 2" in by_to["budi@example.com"].body()
        assert "<p>Your ticket is A-002" in by_to["budi@example.com"].body("html")
        # the issue mail links the customer's status page, with the ticket's own secret
        link = re.search(
            rf"Pantau langsung: (https?://\S+/apps/public/#t={ana}\.([0-9a-f]{{32}}))", by_to["ana@example.com"].body()
        )
        assert link is not None, by_to["ana@example.com"].body()
        with psycopg.connect(db_url) as conn:
            stored = conn.execute("select access_secret_hash from qms.tickets where ticket_id = %s", (ana,)).fetchone()
        assert stored is not None and stored[0] == hashlib.sha256(link.group(2).encode()).digest()
        # the unsubscribe link and the idempotency key travel with the mail
        assert "/notifications/unsubscribe?token=" in by_to["budi@example.com"].body()
        assert str(by_to["budi@example.com"].mail["X-QMS-Idempotency-Key"]).startswith("qms-")

        with connect_as(db_url, "qms_agent", seed.claims()) as conn:
            conn.execute("select api.call_next(%s)", (seed.counter_ids[0],))
        called = sink.wait_for(3)[2]
        assert called.to == ["ana@example.com"]
        assert called.subject == "A-001: silakan menuju Counter 1"
        assert "Nomor A-001: giliran Anda. Silakan menuju Counter 1 di Main branch." in called.body()
        wait_until(lambda: all(d["status"] == "sent" for d in deliveries(db_url)), 10, "all sent")
    finally:
        code, lines = stop_worker(worker)
    rows = deliveries(db_url)
    assert [(r["event_type"], r["status"], r["attempts"], r["provider"]) for r in rows] == [
        ("ticket.created", "sent", 1, "smtp"),
        ("ticket.created", "sent", 1, "smtp"),
        ("ticket.called", "sent", 1, "smtp"),
    ]
    assert all(r["template_version"] == 0 for r in rows)  # the shipped default
    assert code == 0 and lines[-1]["event"] == "notify.stopped"
    sent_logs = [line for line in lines if line["event"] == "notify.sent"]
    assert len(sent_logs) == 3
    assert all("example.com" not in str(line) for line in lines), "contact data is masked in logs"
    assert ana != budi


def test_no_contact_and_opted_out_send_nothing_and_say_why(db_url: str, smtp: tuple[SmtpSink, str]) -> None:
    sink, smtp_url = smtp
    seed = seed_notifying(db_url)
    issue(db_url, seed, [None])
    (opted,) = issue(db_url, seed, [{"email": "cici@example.com", "consent": True}])
    token = owner_rows(db_url, "select unsubscribe_token from qms.ticket_contacts where ticket_id = %s", (opted,))[0]
    with connect_as(db_url, "qms_anon", {"role": "qms_anon"}) as conn:
        conn.execute("select api.unsubscribe_notifications(%s)", (token["unsubscribe_token"],))
    # the created mail of the opted-out ticket was queued before the opt-out: let it go, then call it
    worker = start_worker(db_url, smtp_url)
    try:
        sink.wait_for(1)
        counter = seed.counter_ids[0]
        with connect_as(db_url, "qms_agent", seed.claims()) as conn:
            first = scalar(conn, "select api.call_next(%s)", (counter,))["ticket"]
            conn.execute("select api.ticket_action(%s, 'start', counter_id => %s)", (first["ticket_id"], counter))
            conn.execute("select api.ticket_action(%s, 'complete', counter_id => %s)", (first["ticket_id"], counter))
            conn.execute("select api.call_next(%s)", (counter,))  # the opted-out ticket
        wait_until(
            lambda: len(owner_rows(db_url, "select 1 from qms.notification_skips where reason = 'OPTED_OUT'")) == 1,
            10,
            "the opt-out skip",
        )
    finally:
        stop_worker(worker)
    assert len(sink.messages) == 1, "only the mail queued before the opt-out was sent"
    reasons = owner_rows(db_url, "select event_type, reason from qms.notification_skips order by skip_id")
    assert [(r["event_type"], r["reason"]) for r in reasons] == [
        ("ticket.created", "NO_CONTACT"),
        ("ticket.called", "NO_CONTACT"),
        ("ticket.called", "OPTED_OUT"),
    ]


def test_missing_variable_renders_a_fallback_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    template = {
        "subject": "{{ ticket_number }} at {{ counter_name }}",
        "body_text": "Hi {{ nickname }}, go to {{ counter_name }}.",
    }
    with caplog.at_level(logging.WARNING, logger="qms.notify"):
        en = render(template, {"ticket_number": "A-001"}, "en")
        id_ = render(template, {"ticket_number": "A-001"}, "id")
    assert en.subject == "A-001 at the counter"
    assert en.text == "Hi , go to the counter."
    assert id_.text == "Hi , go to loket."
    assert sorted(en.missing) == ["counter_name", "nickname"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "notify.template_variable_missing" in warnings[0]


def test_a_tenant_template_with_a_missing_variable_still_sends(db_url: str, smtp: tuple[SmtpSink, str]) -> None:
    sink, smtp_url = smtp
    seed = seed_notifying(db_url)
    admin = {"role": "qms_admin", "tenant_id": str(seed.tenant_id), "sub": "admin"}
    with connect_as(db_url, "qms_admin", admin) as conn:
        tpl = scalar(
            conn,
            "select api.create_notification_template('ticket.created', 'email', 'en',"
            " body_text => 'Ticket {{ ticket_number }} for {{ customer_name }}', subject => 'Hello {{ ticket_number }}')",
        )
        conn.execute("select api.activate_notification_template(%s)", (tpl["template_id"],))
    issue(db_url, seed, [{"email": "dedi@example.com", "consent": True}])
    worker = start_worker(db_url, smtp_url)
    try:
        (mail,) = sink.wait_for(1)
        wait_until(lambda: deliveries(db_url)[0]["status"] == "sent", 10, "sent")
    finally:
        _, lines = stop_worker(worker)
    assert mail.subject == "Hello A-001"
    assert mail.body().strip() == "Ticket A-001 for"
    assert deliveries(db_url)[0]["template_version"] == 1
    assert any(
        line["event"] == "notify.template_variable_missing" and line["variables"] == ["customer_name"] for line in lines
    )


def test_template_syntax_error_is_a_permanent_failure_not_a_crash(db_url: str, smtp: tuple[SmtpSink, str]) -> None:
    sink, smtp_url = smtp
    seed = seed_notifying(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "insert into qms.notification_templates (tenant_id, event_type, channel, language, version, subject,"
            " body_text, is_active) values (%s, 'ticket.created', 'email', 'en', 1, 'x', '{{ broken', true)",
            (seed.tenant_id,),
        )
    issue(db_url, seed, [{"email": "eka@example.com", "consent": True}])
    worker = start_worker(db_url, smtp_url)
    try:
        wait_until(lambda: deliveries(db_url)[0]["status"] == "dead", 10, "dead")
    finally:
        code, _ = stop_worker(worker)
    assert code == 0 and not sink.messages
    assert "template error" in deliveries(db_url)[0]["last_error"]
