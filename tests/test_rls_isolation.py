"""Tenant isolation, driven by the catalog so that new tables and functions are covered without listing them.

Tenant A gets data in every table through a realistic flow of ``api`` calls. Then, under the claims of each
role of tenant B:
- every table shows none of A's rows, and UPDATE/DELETE aimed at A's rows touch nothing;
- every ``api`` function, called with A's ids for its id parameters, either refuses or answers without any of
  A's ids, and A's data (a fingerprint of all its rows) is unchanged afterwards.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

from qms.apicall import call_api

ROLES_OF_B = ["qms_anon", "qms_device", "qms_agent", "qms_supervisor", "qms_admin", "qms_worker", "qms_analyst"]


@dataclass
class Tenant:
    tenant_id: str
    ids: dict[str, str]


def _as(conn: psycopg.Connection, role: str, claims: dict[str, Any]) -> None:
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))


def _reset(conn: psycopg.Connection) -> None:
    conn.execute("reset role")
    conn.execute("select set_config('request.jwt.claims', '', true)")


def _seed(conn: psycopg.Connection, slug: str) -> Tenant:
    """A tenant with a branch, area, services, counters, users, a device, a policy, tickets and events."""
    tenant_id = str(conn.execute("select qms.create_tenant(%s, %s)", (slug.title(), slug)).fetchone()[0])  # type: ignore[index]
    ids: dict[str, str] = {}
    admin = {"role": "qms_admin", "tenant_id": tenant_id, "sub": f"admin-{slug}"}

    def _call(fn: str, **kwargs: Any) -> Any:
        return call_api(conn, fn, admin, **kwargs)

    with conn.transaction():
        branch = _call("create_branch", name=f"{slug} main", timezone="UTC")
        ids["branch_id"] = branch["branch_id"]
        ids["area_id"] = _call("create_area", branch_id=ids["branch_id"], name="Hall")["area_id"]
        ids["service_id"] = _call("create_service", branch_id=ids["branch_id"], name="Teller", prefix="A")["service_id"]
        ids["other_service_id"] = _call("create_service", branch_id=ids["branch_id"], name="Loans", prefix="L")[
            "service_id"
        ]
        ids["counter_id"] = _call(
            "create_counter", branch_id=ids["branch_id"], name="C1", service_ids=[ids["service_id"]]
        )["counter_id"]
        ids["user_id"] = _call(
            "create_user",
            email=f"agent@{slug}.test",
            display_name="Agent",
            role="agent",
            branch_ids=[ids["branch_id"]],
        )["user_id"]
        ids["device_id"] = _call("create_device", branch_id=ids["branch_id"], kind="kiosk", name="K1")["device_id"]
        _call("set_policy", branch_id=ids["branch_id"], policy={"priority_ratio": 2})
        _call("set_counter_status", counter_id=ids["counter_id"], status="available")
        first = _call(
            "create_ticket",
            service_id=ids["service_id"],
            channel="kiosk",
            contact={"phone": "+62 811 000 111", "consent": True},
        )
        ids["ticket_id"] = first["ticket_id"]
        called = _call("call_next", counter_id=ids["counter_id"], request_id=str(uuid.uuid4()))
        assert called["ticket"]["ticket_id"] == ids["ticket_id"]
        ids["waiting_ticket_id"] = _call("create_ticket", service_id=ids["service_id"])["ticket_id"]
        conn.execute(
            "insert into qms.notification_templates (tenant_id, event_type, channel, body) values (%s, %s, %s, %s)",
            (tenant_id, "ticket.called", "email", "Ticket {{ ticket_number }}"),
        )
        conn.execute(
            "insert into qms.notification_deliveries (tenant_id, ticket_id, event_type, channel) values (%s, %s, %s, %s)",
            (tenant_id, ids["ticket_id"], "ticket.called", "email"),
        )
    return Tenant(tenant_id, ids)


def _tenant_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        """select format('%I.%I', n.nspname, c.relname)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
            where c.relkind in ('r', 'p') and n.nspname in ('qms', 'audit', 'analytics')
            order by 1"""
    ).fetchall()
    return [r[0] for r in rows]


def _fingerprint(conn: psycopg.Connection, tables: list[str], tenant_id: str) -> dict[str, str]:
    out = {}
    for table in tables:
        row = conn.execute(
            sql.SQL(
                "select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') "
                "from {} t where tenant_id = %s"
            ).format(sql.SQL(table)),
            (tenant_id,),
        ).fetchone()
        out[table] = row[0] if row else ""
    return out


def _claims_of(role: str, b: Tenant) -> dict[str, Any]:
    claims: dict[str, Any] = {"role": role, "tenant_id": b.tenant_id, "sub": str(uuid.uuid4())}
    if role in ("qms_device", "qms_agent", "qms_supervisor"):
        claims["branch_ids"] = [b.ids["branch_id"]]
    if role == "qms_device":
        claims["sub"] = b.ids["device_id"]
    return claims


@pytest.fixture
def two_tenants(db_url: str) -> tuple[str, Tenant, Tenant]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        a = _seed(conn, "alpha")
        b = _seed(conn, "bravo")
    return db_url, a, b


def test_seed_reaches_every_tenant_table(two_tenants: tuple[str, Tenant, Tenant]) -> None:
    db_url, a, _ = two_tenants
    with psycopg.connect(db_url) as conn:
        prints = _fingerprint(conn, _tenant_tables(conn), a.tenant_id)
    empty = [t for t, fp in prints.items() if fp.startswith("0:")]
    # Tables that only fill later in a ticket's life (or per service state) may be empty; everything else must
    # hold rows, or the isolation checks below would prove nothing for it.
    assert len(empty) <= len(prints) // 4, f"tables without tenant A rows: {empty}"


@pytest.mark.parametrize("role", ROLES_OF_B)
def test_tables_hide_and_protect_the_other_tenant(two_tenants: tuple[str, Tenant, Tenant], role: str) -> None:
    db_url, a, b = two_tenants
    with psycopg.connect(db_url) as conn:
        tables = _tenant_tables(conn)
        before = _fingerprint(conn, tables, a.tenant_id)
        for table in tables:
            for statement in (
                "select count(*) from {} where tenant_id = %s",
                "with x as (update {} set tenant_id = tenant_id where tenant_id = %s returning 1) select count(*) from x",
                "with x as (delete from {} where tenant_id = %s returning 1) select count(*) from x",
            ):
                conn.execute("savepoint s")
                _as(conn, role, _claims_of(role, b))
                try:
                    count = conn.execute(sql.SQL(statement).format(sql.SQL(table)), (a.tenant_id,)).fetchone()[0]  # type: ignore[index]
                except psycopg.errors.InsufficientPrivilege:
                    count = 0  # no privilege at all: sees and changes nothing
                except psycopg.Error as exc:  # e.g. append-only triggers refusing the change
                    assert exc.sqlstate and exc.sqlstate.startswith(("PT", "42")), f"{table}: {exc}"
                    count = 0
                assert count == 0, f"{role} of tenant B reached {count} row(s) of tenant A in {table}: {statement}"
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
                    _reset(conn)
                    assert _fingerprint(conn, tables, a.tenant_id) == before, f"{role} changed {table}"
                conn.execute("rollback to savepoint s")


def _api_functions(conn: psycopg.Connection) -> list[tuple[str, list[tuple[str, str, bool]]]]:
    rows = conn.execute(
        """select p.proname, p.oid::regprocedure::text,
                  coalesce(p.proargnames, '{}'), p.proargtypes::regtype[]::text[], p.pronargdefaults
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'api' and p.prokind = 'f'
            order by 1, 2"""
    ).fetchall()
    out = []
    for name, _sig, argnames, argtypes, ndefaults in rows:
        nargs = len(argtypes)
        params = [
            (argnames[i] if i < len(argnames) else f"${i + 1}", argtypes[i], i >= nargs - ndefaults)
            for i in range(nargs)
        ]
        out.append((name, params))
    return out


def _value_for(name: str, typ: str, has_default: bool, a: Tenant) -> tuple[bool, Any]:
    """An argument aimed at tenant A: A's id for id parameters, a plausible value for the rest."""
    key = {"target_service_id": "other_service_id", "target_counter_id": "counter_id"}.get(name, name)
    if typ == "uuid":
        return True, a.ids.get(key, a.ids["ticket_id"])
    if typ == "uuid[]":
        return True, [a.ids["service_id"]] if "service" in name else [a.ids["branch_id"]]
    if has_default:
        return False, None
    samples: dict[str, Any] = {
        "text": {
            "action": "cancel",
            "status": "break",
            "name": "Probe",
            "prefix": "Z",
            "role": "agent",
            "kind": "kiosk",
            "email": "probe@example.test",
            "display_name": "Probe",
        }.get(name, "probe"),
        "integer": 1,
        "bigint": 0,
        "boolean": True,
        "jsonb": {},
        "json": {},
        "interval": "1 day",
        "timestamp with time zone": "2026-01-01T00:00:00Z",
        "text[]": ["probe"],
    }
    assert typ in samples, f"no sample value for a parameter of type {typ} ({name}): add one"
    return True, samples[typ]


@pytest.mark.parametrize("role", ["qms_admin", "qms_supervisor", "qms_agent", "qms_device", "qms_worker"])
def test_api_functions_refuse_the_other_tenants_ids(two_tenants: tuple[str, Tenant, Tenant], role: str) -> None:
    db_url, a, b = two_tenants
    a_ids = set(a.ids.values()) - {b.tenant_id}
    id_pattern = re.compile("|".join(re.escape(i) for i in a_ids))
    with psycopg.connect(db_url) as conn:
        tables = _tenant_tables(conn)
        before = _fingerprint(conn, tables, a.tenant_id)
        functions = _api_functions(conn)
        assert len(functions) >= 20, "the api schema is expected to hold the admin and ticket functions"
        leaks: list[str] = []
        changed: list[str] = []
        for fn, params in functions:
            kwargs = {}
            for name, typ, has_default in params:
                use, value = _value_for(name, typ, has_default, a)
                if use:
                    kwargs[name] = value
            conn.execute("savepoint s")
            try:
                result = call_api(conn, fn, _claims_of(role, b), **kwargs)
            except psycopg.Error as exc:
                assert exc.sqlstate and (exc.sqlstate.startswith(("PT", "42", "22", "23", "P0"))), (
                    f"api.{fn} under {role} failed with an unexpected error: {exc.sqlstate} {exc}"
                )
                conn.execute("rollback to savepoint s")
                continue
            if result is not None and id_pattern.search(json.dumps(result, default=str)):
                leaks.append(fn)
            # Compare before rolling back (call_api is back to the owner): a change to tenant A would show here.
            if _fingerprint(conn, tables, a.tenant_id) != before:
                changed.append(fn)
            conn.execute("rollback to savepoint s")
        assert not leaks, f"{role} of tenant B saw tenant A's ids through: {leaks}"
        assert not changed, f"{role} of tenant B changed tenant A's data through: {changed}"
