"""The demo tenant (slug ``demo``), seeded on the first ``qms up``.

Everything is created through the ``api`` functions as ``qms_admin`` with the demo tenant's claims (the same
path as the admin app and the CLI), in one transaction: a failure leaves no half-made tenant and the next
start tries again. Passwords are random, hashed with argon2 here, and kept in ``<data-dir>/demo.json``
(mode 0600) so that every start can print the logins again.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from qms.apicall import call_api
from qms.passwords import set_password

SLUG = "demo"
TENANT_NAME = "Demo Bank"
BRANCH_NAME = "Demo Bank — Main Branch"
BRANCH_CODE = "MAIN"  # the join link is /apps/public/#b=<SLUG>.<BRANCH_CODE>
TIMEZONE = "Asia/Jakarta"
LOGINS_FILE = "demo.json"

SERVICES = (("Teller", "A", 10), ("Customer Service", "B", 15), ("Loans", "C", 30))
# counter name -> services it calls (by prefix)
COUNTERS = (("Counter 1", ("A",)), ("Counter 2", ("A", "B")), ("Counter 3", ("B",)), ("Counter 4", ("C", "B")))
USERS = (
    ("admin@demo.local", "Dina Admin", "admin", False),
    ("supervisor@demo.local", "Sari Supervisor", "supervisor", True),
    ("agent1@demo.local", "Budi Agent", "agent", True),
    ("agent2@demo.local", "Ayu Agent", "agent", True),
    ("analyst@demo.local", "Rudi Analyst", "analyst", True),
)


@dataclass
class DemoInfo:
    tenant_id: str
    branch_id: str
    area_id: str | None
    services: dict[str, str] = field(default_factory=dict)  # name -> id
    counters: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)  # kind -> id
    logins: list[dict[str, str]] = field(default_factory=list)  # email, role, password, user_id

    def save(self, data_dir: Path) -> Path:
        path = data_dir / LOGINS_FILE
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(self), fh, indent=2)
        return path

    @classmethod
    def load(cls, data_dir: Path) -> DemoInfo | None:
        try:
            raw: dict[str, Any] = json.loads((data_dir / LOGINS_FILE).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return cls(**raw)


def exists(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("select 1 from qms.tenants where slug = %s", (SLUG,)).fetchone() is not None


def _id(obj: Any, key: str) -> str:
    return str(obj[key])


def seed(url: str, data_dir: Path) -> DemoInfo | None:
    """Create the demo tenant unless it exists; None when it was already there."""
    with psycopg.connect(url) as conn:
        if conn.execute("select 1 from qms.tenants where slug = %s", (SLUG,)).fetchone() is not None:
            return None
        row = conn.execute("select qms.create_tenant(name => %s, slug => %s)", (TENANT_NAME, SLUG)).fetchone()
        assert row is not None
        tenant_id = str(row[0])
        admin = {"role": "qms_admin", "tenant_id": tenant_id, "sub": "qms-up:demo"}

        def call(fn: str, **args: Any) -> Any:
            return call_api(conn, fn, admin, **args)

        branch_id = _id(call("create_branch", name=BRANCH_NAME, timezone=TIMEZONE, code=BRANCH_CODE), "branch_id")
        area = call("create_area", branch_id=branch_id, name="Main hall")
        info = DemoInfo(tenant_id=tenant_id, branch_id=branch_id, area_id=_id(area, "area_id"))
        by_prefix: dict[str, str] = {}
        for name, prefix, sla in SERVICES:
            service = call("create_service", branch_id=branch_id, name=name, prefix=prefix, sla_minutes=sla)
            info.services[name] = by_prefix[prefix] = _id(service, "service_id")
        for name, prefixes in COUNTERS:
            ids = [by_prefix[p] for p in prefixes]
            counter = call("create_counter", branch_id=branch_id, name=name, service_ids=ids, area_id=info.area_id)
            info.counters[name] = _id(counter, "counter_id")
            call("set_counter_status", counter_id=info.counters[name], status="available")
        for email, display_name, role, scoped in USERS:
            branch_ids = [branch_id] if scoped else None
            user = call("create_user", email=email, display_name=display_name, role=role, branch_ids=branch_ids)
            password = f"demo-{secrets.token_urlsafe(9)}"
            set_password(conn, tenant_id, _id(user, "user_id"), password)
            info.logins.append({"email": email, "role": role, "password": password, "user_id": _id(user, "user_id")})
        for kind, name in (("kiosk", "Kiosk 1"), ("display", "Display 1")):
            device = call("create_device", branch_id=branch_id, kind=kind, name=name, area_id=info.area_id)
            info.devices[kind] = _id(device, "device_id")
        # E-mail notifications on, and customers may leave an e-mail or a phone (kept 30 days): a ticket issued
        # with an e-mail address shows up in the local mail sink.
        call("update_tenant", pii_policy={"contacts": True, "retention_days": 30})
        call("set_notification_settings", enabled=True)
        info.save(data_dir)  # before commit: a tenant whose passwords are lost is worse than a retry
    return info
