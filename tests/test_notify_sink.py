"""Out of the box: `qms up` runs the sender and, without QMS_SMTP_URL, a local mail sink whose messages an
admin reads with api.list_sink_messages; the demo tenant has e-mail notifications on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg

from qms import up
from tests.engine_fixtures import connect_as
from tests.notify_kit import issue, scalar, seed_notifying, start_worker, stop_worker, wait_until


def test_up_starts_a_mail_sink_unless_an_smtp_server_is_configured() -> None:
    specs = up.notify_children("postgresql://db/qms", {"PATH": "/bin"})
    assert [s.name for s in specs] == ["mailsink", "notify"]
    port = specs[0].argv[specs[0].argv.index("--port") + 1]
    assert specs[1].env["QMS_SMTP_URL"] == f"smtp://127.0.0.1:{port}?starttls=off"
    own = up.notify_children("postgresql://db/qms", {"QMS_SMTP_URL": "smtp://mail.example.org:587"})
    assert [s.name for s in own] == ["notify"] and own[0].env["QMS_SMTP_URL"] == "smtp://mail.example.org:587"


def test_the_sink_keeps_each_tenants_messages_for_its_admin(db_url: str) -> None:
    seed = seed_notifying(db_url)
    port = up.notify_children(db_url, {})[0].argv[-1]
    sink = subprocess.Popen(
        [sys.executable, "-m", "workers.mailsink", "--database-url", db_url, "--port", port],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    worker = start_worker(db_url, f"smtp://127.0.0.1:{port}?starttls=off")
    admin = {"role": "qms_admin", "tenant_id": str(seed.tenant_id), "sub": "admin"}
    try:
        time.sleep(0.5)
        issue(db_url, seed, [{"email": "hana@example.com", "language": "id", "consent": True}])
        with connect_as(db_url, "qms_admin", admin) as conn:
            wait_until(lambda: scalar(conn, "select api.list_sink_messages()") != [], 30, "the sink to store the mail")
            (message,) = scalar(conn, "select api.list_sink_messages()")
    finally:
        stop_worker(worker)
        sink.send_signal(signal.SIGTERM)
        out, _ = sink.communicate(timeout=15)
    assert message["subject"] == "Nomor antrean Anda A-001 di Main branch"
    assert "Nomor antrean Anda A-001" in message["body_text"] and message["rcpt_to"] == ["h***@e******.com"]
    assert sink.returncode == 0 and '"mailsink.stopped"' in out
    other = {"role": "qms_admin", "tenant_id": str(seed_notifying(db_url).tenant_id), "sub": "admin-2"}
    with connect_as(db_url, "qms_admin", other) as conn:
        assert scalar(conn, "select api.list_sink_messages()") == [], "another tenant's admin sees none of it"


def test_the_demo_tenant_has_email_notifications_on(db_url: str, tmp_path: object) -> None:
    from pathlib import Path

    from qms import demo

    info = demo.seed(db_url, Path(str(tmp_path)))
    assert info is not None
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "select enabled, channels from qms.notification_settings where tenant_id = %s", (info.tenant_id,)
        ).fetchone()
    assert row == (True, ["email"])
