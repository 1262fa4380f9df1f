"""Delivery guarantees of the sender: retries with backoff for transient failures (HTTP 503, a hanging
provider), dead letters for permanent ones, exactly once when a sender is killed mid-send, each of 1,000
(1,000 in the slow run) deliveries sent once by two senders, and the no-show sweep producing one notification."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import psycopg
import pytest

from tests.engine_fixtures import connect_as, owner_rows
from tests.notify_kit import (
    SmtpSink,
    StubState,
    deliveries,
    issue,
    seed_notifying,
    start_http_stub,
    start_smtp,
    start_worker,
    stop_worker,
    wait_until,
)
from workers import notify_secrets

FAST = ("--retry-base-seconds", "0.05")


def _sms_provider(url: str, tenant_id: uuid.UUID, stub_url: str) -> None:
    config = {"url": f"{stub_url}/send", "message_id_path": "messages.0.id", "timeout_seconds": 1}
    secret = notify_secrets.encrypt({"authorization": "Bearer s3cret"}, key="test-secret")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into qms.notification_providers (tenant_id, channel, kind, config, secret) values (%s, 'sms', 'http', %s, %s)",
            (tenant_id, json.dumps(config), secret),
        )


def test_http_sms_retries_transient_failures_and_a_hang_then_sends(db_url: str) -> None:
    state = StubState()
    state.modes = ["transient", "hang"]
    server, stub_url = start_http_stub(state)
    seed = seed_notifying(db_url, channels=["sms"])
    _sms_provider(db_url, seed.tenant_id, stub_url)
    issue(db_url, seed, [{"phone": "+62 812 3456 789", "consent": True}])
    worker = start_worker(db_url, None, *FAST)
    try:
        wait_until(lambda: deliveries(db_url)[0]["status"] == "sent", 30, "sent after retries")
    finally:
        _, lines = stop_worker(worker)
        server.shutdown()
    (row,) = deliveries(db_url)
    assert row["attempts"] == 3 and row["provider_message_id"] == "msg-3" and row["provider"] == "http"
    attempts = owner_rows(db_url, "select outcome, error from qms.notification_attempts order by attempt")
    assert [a["outcome"] for a in attempts] == ["temporary_failure", "temporary_failure", "sent"]
    assert "HTTP 503" in attempts[0]["error"] and "Timeout" in attempts[1]["error"]
    request = state.requests[-1]
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["Idempotency-Key"] == row["idempotency_key"]
    assert json.loads(request["body"]) == {"to": "+62 812 3456 789", "text": json.loads(request["body"])["text"]}
    assert "A-001" in json.loads(request["body"])["text"]
    assert "s3cret" not in json.dumps(lines) and "3456" not in json.dumps(lines), "no secret, no phone in logs"


def test_permanent_failure_and_exhausted_retries_are_dead_letters(db_url: str) -> None:
    state = StubState()
    state.modes = ["permanent"]
    state.default = "transient"
    server, stub_url = start_http_stub(state)
    seed = seed_notifying(db_url, channels=["sms"], max_attempts=3)
    _sms_provider(db_url, seed.tenant_id, stub_url)
    issue(db_url, seed, [{"phone": "+62 811 1", "consent": True}, {"phone": "+62 811 2", "consent": True}])
    worker = start_worker(db_url, None, *FAST, "--concurrency", "1", "--batch", "1")
    try:
        wait_until(lambda: all(d["status"] == "dead" for d in deliveries(db_url)), 30, "both dead")
    finally:
        stop_worker(worker)
        server.shutdown()
    first, second = deliveries(db_url)
    assert (first["attempts"], first["last_error"][:8]) == (1, "HTTP 400")  # permanent: no retry
    assert (second["attempts"], second["last_error"][:8]) == (3, "HTTP 503")  # transient: max_attempts, then dead
    admin = {"role": "qms_admin", "tenant_id": str(seed.tenant_id), "sub": "admin"}
    with connect_as(db_url, "qms_admin", admin) as conn:
        dead = conn.execute("select api.list_notification_deliveries(status => 'dead') d").fetchone()
        assert dead is not None and len(dead["d"]) == 2
        assert dead["d"][0]["recipient"].startswith("+6") and "811" not in dead["d"][0]["recipient"]


def test_a_sender_killed_mid_send_loses_nothing_and_sends_once(db_url: str) -> None:
    sink = SmtpSink(hold_rcpt=threading.Event())
    controller, smtp_url = start_smtp(sink)
    seed = seed_notifying(db_url)
    issue(db_url, seed, [{"email": "fajar@example.com", "consent": True}])
    first = start_worker(db_url, smtp_url, "--lease-seconds", "5")
    try:
        assert sink.rcpt_seen.wait(20), "the first sender reached the SMTP server"
        first.kill()  # kill -9 mid-send: the message was not accepted yet
        first.wait(10)
        sink.hold_rcpt.set()
        assert deliveries(db_url)[0]["status"] == "sending"
        second = start_worker(db_url, smtp_url, "--lease-seconds", "5")
        try:
            sink.wait_for(1, timeout=30)
            wait_until(lambda: deliveries(db_url)[0]["status"] == "sent", 15, "sent by the second sender")
            time.sleep(1.0)
        finally:
            stop_worker(second)
    finally:
        if first.poll() is None:
            first.kill()
        controller.stop()  # type: ignore[attr-defined]
    assert len(sink.messages) == 1, "exactly one message"
    (row,) = deliveries(db_url)
    assert row["attempts"] == 2
    outcomes = owner_rows(db_url, "select outcome from qms.notification_attempts order by attempt")
    assert [o["outcome"] for o in outcomes] == ["lease_expired", "sent"]


@pytest.mark.parametrize("n", [200, pytest.param(1000, marks=pytest.mark.slow)])
def test_two_senders_send_each_delivery_once(db_url: str, n: int) -> None:
    sink = SmtpSink()
    controller, smtp_url = start_smtp(sink)
    seed = seed_notifying(db_url)
    with connect_as(db_url, "qms_agent", seed.claims()) as conn:
        conn.execute(
            "select api.create_ticket(service_id => %s, contact => jsonb_build_object('email', 'c' || g || '@example.com',"
            " 'consent', true)) from generate_series(1, %s) g",
            (seed.service_ids[0], n),
        )
    assert len(deliveries(db_url)) == n
    workers = [start_worker(db_url, smtp_url, "--batch", "50", "--concurrency", "8") for _ in range(2)]
    try:
        try:
            sink.wait_for(n, timeout=n * 0.6)
        except AssertionError:
            states = owner_rows(
                db_url, "select status, count(*) n, max(last_error) e from qms.notification_deliveries group by 1"
            )
            raise AssertionError(f"{len(sink.messages)} received; {states}") from None
        wait_until(
            lambda: (
                owner_rows(db_url, "select count(*) n from qms.notification_deliveries where status = 'sent'")[0]["n"]
                == n
            ),
            30,
            "all sent",
        )
        time.sleep(0.5)
    finally:
        results = [stop_worker(w) for w in workers]
        controller.stop()
    ids = Counter(str(m.mail["X-QMS-Idempotency-Key"]) for m in sink.messages)
    assert len(sink.messages) == n and len(ids) == n, "each delivery sent exactly once"
    senders = Counter(a["worker"] for a in owner_rows(db_url, "select worker from qms.notification_attempts"))
    assert len(senders) == 2 and sum(senders.values()) == n, "both senders worked, one attempt each"
    assert all(code == 0 for code, _ in results)


def test_no_show_sweep_end_to_end_sends_one_notification(db_url: str) -> None:
    sink = SmtpSink()
    controller, smtp_url = start_smtp(sink)
    seed = seed_notifying(db_url, events=["ticket.no_show"])
    (ticket,) = issue(db_url, seed, [{"email": "gita@example.com", "language": "id", "consent": True}])
    with connect_as(db_url, "qms_agent", seed.claims()) as conn:
        conn.execute("select api.call_next(%s)", (seed.counter_ids[0],))
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("update qms.tickets set called_at = now() - interval '1 hour' where ticket_id = %s", (ticket,))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    sweeper = subprocess.Popen(
        [sys.executable, "-m", "workers", "--database-url", db_url, "--sweep-interval", "0.2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    sender = start_worker(db_url, smtp_url)
    try:
        (mail,) = sink.wait_for(1, timeout=60)
        time.sleep(1.0)  # a second sweep or send would show up now
    finally:
        sweeper.send_signal(signal.SIGTERM)
        sweeper.wait(15)
        stop_worker(sender)
        controller.stop()
    assert len(sink.messages) == 1
    assert mail.subject == "A-001: Anda tidak hadir saat dipanggil"
    events = owner_rows(
        db_url, "select type from qms.ticket_events where ticket_id = %s order by ticket_seq", (ticket,)
    )
    assert [e["type"] for e in events] == ["ticket.created", "ticket.called", "ticket.no_show"]
    assert [(d["event_type"], d["status"]) for d in deliveries(db_url)] == [("ticket.no_show", "sent")]
