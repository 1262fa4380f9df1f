"""Tenant isolation, driven by the catalog so that new tables and functions are covered without listing them
(the proof DESIGN.md §2 promises).

Tenants A and B are seeded alike through the api (tests.add_* fixtures, then staff and kiosk calls). Then:
- every table shows none of A's rows to any role of B, and UPDATE/DELETE aimed at A's rows touch nothing;
- every function in schema ``api`` (read from pg_proc) is probed with A's ids for every uuid argument and a
  sensible value for the others. A control run first proves the probe arguments reach A's data: with A's own
  claims, at least one role gets an answer (or a conflict about A's rows) from every function. The same
  arguments under each role of tenant B must then return nothing of A (none of the uuids in A's rows, none of
  A's names) and leave A's rows unchanged (row count and checksum of every tenant table).
Each call runs in a savepoint that is rolled back, so the probes do not disturb each other.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from qms.apicall import call_api

# The roles a tenant's token may carry over HTTP. qms_worker is a platform role: its functions live in
# schema `worker`, not in `api`.
ROLES = ["qms_anon", "qms_device", "qms_agent", "qms_supervisor", "qms_admin", "qms_analyst"]
# Table-level checks also cover the worker, which holds table privileges of its own.
TABLE_ROLES = [*ROLES, "qms_worker"]
# SQLSTATEs by which a role of B may be refused: a business error (PTnnn) or no privilege.
REFUSED = re.compile(r"^(PT\d{3}|42501)$")
BRANCH_CODE = "MAIN"


@dataclass
class Tenant:
    slug: str
    tenant_id: str
    ids: dict[str, str]
    kiosk_ticket: dict[str, Any] = field(default_factory=dict)

    def secret(self) -> str:
        """The customer secret of the kiosk ticket: create_ticket's status_url ends in #t=<ticket_id>.<secret>."""
        status_url: str = self.kiosk_ticket["status_url"]
        return status_url.rsplit(".", 1)[1]

    def join_code(self) -> str:
        """The public join code of the branch: <tenant slug>.<branch code>."""
        return f"{self.slug}.{BRANCH_CODE}"


def _set_identity(conn: psycopg.Connection[Any], role: str, claims: dict[str, Any]) -> None:
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))


def _reset(conn: psycopg.Connection[Any]) -> None:
    conn.execute("reset role")
    conn.execute("select set_config('request.jwt.claims', '', true)")


def _api(conn: psycopg.Connection[Any], fn: str, **kwargs: Any) -> Any:
    """The probe's call of api.<fn> with named arguments, under the role and claims already set: the text of
    every row it returns, whatever its return type (scalar, set-returning), so any function can be probed.
    Seeding uses qms.apicall.call_api like all Python outside the gateway."""
    args = sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder()) for k in kwargs)
    query = sql.SQL("select string_agg(x::text, E'\\n') from api.{}({}) as x").format(sql.Identifier(fn), args)
    values = [Jsonb(v) if isinstance(v, dict) else v for v in kwargs.values()]
    row = conn.execute(query, values).fetchone()
    return row[0] if row else None


def _fixture(conn: psycopg.Connection[Any], fn: str, *args: Any) -> str:
    placeholders = sql.SQL(", ").join(sql.Placeholder() for _ in args)
    row = conn.execute(sql.SQL("select tests.{}({})").format(sql.Identifier(fn), placeholders), args).fetchone()
    assert row is not None
    return str(row[0])


def _seed(conn: psycopg.Connection[Any], slug: str) -> Tenant:
    """A tenant with rows in (nearly) every table, made through the api: branch, area, services, counters,
    a user, a kiosk, a policy, a serving ticket, a waiting kiosk ticket with contact data, idempotency keys,
    events and audit rows."""
    row = conn.execute("select qms.create_tenant(%s, %s)", (f"{slug} bank", slug)).fetchone()
    assert row is not None
    t = Tenant(slug, str(row[0]), {})
    ids = t.ids
    ids["branch_id"] = _fixture(conn, "add_branch", t.tenant_id, f"{slug} main", "UTC", BRANCH_CODE)
    ids["area_id"] = _fixture(conn, "add_area", t.tenant_id, ids["branch_id"], f"{slug} hall")
    ids["service_id"] = _fixture(conn, "add_service", t.tenant_id, ids["branch_id"], f"{slug} teller", "A")
    ids["other_service_id"] = _fixture(conn, "add_service", t.tenant_id, ids["branch_id"], f"{slug} loans", "L")
    ids["counter_id"] = _fixture(conn, "add_counter", t.tenant_id, ids["branch_id"], f"{slug} c1", [ids["service_id"]])
    ids["busy_counter_id"] = _fixture(
        conn, "add_counter", t.tenant_id, ids["branch_id"], f"{slug} c2", [ids["service_id"]]
    )
    ids["user_id"] = _fixture(conn, "add_user", t.tenant_id, f"agent@{slug}.test", "agent", [ids["branch_id"]])
    ids["device_id"] = _fixture(conn, "add_device", t.tenant_id, ids["branch_id"], "kiosk", f"{slug} k1")
    conn.execute(
        "select tests.set_policy(%s, %s, null, %s)", (t.tenant_id, ids["branch_id"], Jsonb({"priority_ratio": 2}))
    )
    agent, kiosk = _claims("qms_agent", t), _claims("qms_device", t)
    # Notifications on, so the tickets below make deliveries (and skips) as they commit.
    admin = _claims("qms_admin", t)
    call_api(conn, "set_notification_settings", admin, enabled=True, channels=["email", "sms"])
    call_api(conn, "update_tenant", admin, pii_policy={"contacts": True, "retention_days": 30})
    ids["template_id"] = call_api(
        conn,
        "create_notification_template",
        admin,
        event_type="ticket.called",
        channel="email",
        language="en",
        subject="Ticket {{ ticket_number }}",
        body_text="Ticket {{ ticket_number }}",
    )["template_id"]
    call_api(conn, "set_notification_provider", admin, channel="sms", kind="log")
    first = call_api(conn, "create_ticket", agent, service_id=ids["service_id"], request_id=str(uuid.uuid4()))
    called = call_api(conn, "call_next", agent, counter_id=ids["busy_counter_id"], request_id=str(uuid.uuid4()))
    assert called["ticket"]["ticket_id"] == first["ticket_id"], called
    call_api(
        conn,
        "ticket_action",
        agent,
        ticket_id=first["ticket_id"],
        action="start",
        counter_id=ids["busy_counter_id"],
        request_id=str(uuid.uuid4()),
    )
    call_api(
        conn,
        "set_counter_status",
        agent,
        counter_id=ids["counter_id"],
        status="available",
        request_id=str(uuid.uuid4()),
    )
    ids["serving_ticket_id"] = first["ticket_id"]
    t.kiosk_ticket = call_api(
        conn,
        "create_ticket",
        kiosk,
        service_id=ids["service_id"],
        channel="kiosk",
        contact={"phone": "+62 811 000 111", "consent": True},
    )
    ids["ticket_id"] = t.kiosk_ticket["ticket_id"]
    admin = _claims("qms_admin", t)
    ids["schedule_id"] = call_api(
        conn, "create_report_schedule", admin, branch_id=ids["branch_id"], name=f"{slug} daily", frequency="daily",
        local_time="07:00", recipients=[f"ops@{slug}.test"],
    )["schedule_id"]  # fmt: skip
    ids["token_id"] = call_api(conn, "create_bi_token", admin, name=f"{slug} bi")["token_id"]
    ids["rule_id"] = call_api(
        conn, "create_anomaly_rule", admin, service_id=ids["service_id"], rule_kind="waiting_over", threshold="0.5"
    )["rule_id"]
    # The platform's analytics jobs, as the workers run them: rollups folded, the anomaly rule evaluated.
    conn.execute("set role qms_worker")
    conn.execute("select worker.analytics_fold(), worker.evaluate_anomalies()")
    conn.execute("reset role")
    row = conn.execute(
        "select d.delivery_id::text, c.unsubscribe_token::text from qms.notification_deliveries d"
        " join qms.ticket_contacts c using (tenant_id, ticket_id) where d.tenant_id = %s limit 1",
        (t.tenant_id,),
    ).fetchone()
    assert row is not None, "the contact ticket made a delivery"
    ids["delivery_id"], ids["token"] = row
    # The notification tables no command fills here (sends, STOP lists, push subscriptions, the mail sink).
    conn.execute(
        "insert into qms.notification_attempts (tenant_id, delivery_id, attempt, worker, outcome)"
        " select tenant_id, delivery_id, 1, 'seed', 'sent' from qms.notification_deliveries where tenant_id = %s",
        (t.tenant_id,),
    )
    conn.execute(
        "insert into qms.notification_suppressions (tenant_id, channel, address_hash, reason)"
        " values (%s, 'sms', sha256('seed'), 'STOP')",
        (t.tenant_id,),
    )
    conn.execute(
        "insert into qms.push_subscriptions (tenant_id, ticket_id, endpoint, p256dh, auth)"
        " values (%s, %s, 'https://push.example/seed', 'key', 'auth')",
        (t.tenant_id, ids["ticket_id"]),
    )
    conn.execute(
        "insert into qms.mail_sink_messages (tenant_id, mail_from, rcpt_to, subject) values (%s, 'a@b.c', '{x@y.z}', 's')",
        (t.tenant_id,),
    )
    return t


def _claims(role: str, t: Tenant) -> dict[str, Any]:
    """Claims of ``role`` in tenant ``t``: staff and kiosks are scoped to its branch, an agent is its user,
    a kiosk is its device; the anonymous role carries no tenant."""
    if role == "qms_anon":
        return {"role": role}
    claims: dict[str, Any] = {"role": role, "tenant_id": t.tenant_id, "sub": str(uuid.uuid4())}
    if role in ("qms_device", "qms_agent", "qms_supervisor"):
        claims["branch_ids"] = [t.ids["branch_id"]]
    if role == "qms_device":
        claims["sub"] = t.ids["device_id"]
    if role == "qms_agent":
        claims["sub"] = t.ids["user_id"]
    return claims


@pytest.fixture(scope="module")
def two_tenants(test_dbs: Any) -> Iterator[tuple[str, Tenant, Tenant]]:
    """One database for the module: every probe runs in a savepoint that is rolled back."""
    with test_dbs.database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            a = _seed(conn, "alpha")
            b = _seed(conn, "bravo")
        yield url, a, b


# -- catalog ------------------------------------------------------------------------------------------
def _tenant_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        """select format('%I.%I', n.nspname, c.relname)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
            where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'tests')
            order by 1"""
    ).fetchall()
    return [r[0] for r in rows]


def _fingerprint_query(tables: list[str]) -> sql.Composable:
    """One statement: per table, 'count:md5 of the rows' of one tenant (parameter %(t)s)."""
    parts = [
        sql.SQL(
            "select {} as tbl, count(*) || ':' || coalesce(md5(string_agg(r::text, '|' order by r::text)), '') as fp "
            "from {} r where tenant_id = %(t)s"
        ).format(sql.Literal(table), sql.SQL(table))
        for table in tables
    ]
    return sql.SQL(" union all ").join(parts)


def _fingerprint(conn: psycopg.Connection[Any], query: sql.Composable, tenant_id: str) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute(query, {"t": tenant_id}).fetchall()}


def _ids_of(conn: psycopg.Connection[Any], tables: list[str], tenant_id: str) -> set[str]:
    """Every uuid held in the tenant's rows, in any uuid or uuid[] column of any tenant table."""
    columns = conn.execute(
        """select format('%I.%I', n.nspname, c.relname), a.attname, t.typname = '_uuid'
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
             join pg_type t on t.oid = a.atttypid
            where t.typname in ('uuid', '_uuid')"""
    ).fetchall()
    found: set[str] = set()
    for table, column, is_array in columns:
        if table not in tables:
            continue
        value = sql.SQL("unnest({})" if is_array else "{}").format(sql.Identifier(column))
        query = sql.SQL("select distinct {}::text from {} where tenant_id = %s").format(value, sql.SQL(table))
        found |= {r[0] for r in conn.execute(query, (tenant_id,)).fetchall() if r[0]}
    return found


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    has_default: bool


def _api_functions(conn: psycopg.Connection[Any]) -> list[tuple[str, list[Param]]]:
    """Every function of schema api, with its input parameters (from pg_proc)."""
    rows = conn.execute(
        """select p.proname, coalesce(p.proargnames, '{}'), p.proargtypes::regtype[]::text[], p.pronargdefaults,
                  coalesce(p.proargmodes::text[], '{}')
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'api' and p.prokind = 'f'
            order by 1, p.oid"""
    ).fetchall()
    out = []
    for name, argnames, argtypes, ndefaults, modes in rows:
        # proargnames also lists OUT/TABLE columns; keep the names of input arguments only.
        in_names = [n for i, n in enumerate(argnames) if not modes or modes[i] in ("i", "b", "v")]
        nargs = len(argtypes)
        params = [Param(in_names[i], argtypes[i], i >= nargs - ndefaults) for i in range(nargs)]
        out.append((name, params))
    return out


# -- probe arguments ---------------------------------------------------------------------------------
UUID_KEYS = {"target_service_id": "other_service_id", "target_counter_id": "counter_id"}
UUID_ARRAY_KEYS = {"service_ids": "service_id", "branch_ids": "branch_id", "counter_ids": "counter_id"}
TEXT_SAMPLES = {
    "action": "cancel",
    "status": "break",
    "name": "Probe",
    "prefix": "Z",
    "role": "agent",
    "kind": "kiosk",
    "email": "probe@example.test",
    "display_name": "Probe",
    "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
    "frequency": "daily",
    "local_time": "07:00",
    "rule_kind": "waiting_over",
}
# Bearer handles that are uuids (the unsubscribe link's token): like a secret, a caller uses its own.
OWN_UUIDS = frozenset({"token"})
# Per-function samples where the name alone is ambiguous (a notification channel is not a ticket channel) or
# the type's sample is no valid call (a push subscription has a shape).
FN_TEXT_SAMPLES: dict[tuple[str, str], Any] = {
    ("subscribe_public_push", "subscription"): {
        "endpoint": "https://push.example.test/probe",
        "keys": {"p256dh": "BA" + "A" * 85, "auth": "A" * 22},
    },
    ("set_notification_provider", "channel"): "sms",
    ("set_notification_provider", "kind"): "log",
    ("create_notification_template", "channel"): "sms",
    ("create_notification_template", "event_type"): "ticket.called",
    ("create_notification_template", "language"): "en",
}
# Parameters whose default is no valid call: sampled even though they have a default.
DEFAULTED_SAMPLES: dict[str, Any] = {"policy": {"priority_ratio": 3}}
# Handles a caller holds for its own tenant (a ticket's secret, a branch's join code): a caller of B uses B's,
# so a public function must not answer about A's ids with them.
OWN_TEXT: dict[str, Callable[[Tenant], str]] = {"secret": Tenant.secret, "code": Tenant.join_code}
TYPE_SAMPLES: dict[str, Any] = {
    "integer": 1,
    "bigint": 0,
    "boolean": True,
    "jsonb": {},
    "interval": "1 day",
    "timestamp with time zone": "2026-01-01T00:00:00Z",
    "date": dt.datetime.now(dt.UTC).date().isoformat(),
    "numeric": 3,
    "text[]": ["probe@example.test"],
}


def _probe_args(
    conn: psycopg.Connection[Any], fn: str, params: list[Param], target: Tenant, own: Tenant
) -> dict[str, Any]:
    """Arguments aimed at ``target``: its ids for every uuid parameter (with or without default), its stored
    request id of the same command for request_id (a replay across tenants must not answer), and for the rest
    a sensible value, or the caller's (``own``) handle where a secret or join code is asked for."""
    args: dict[str, Any] = {}
    for p in params:
        if p.type == "uuid":
            if p.name in OWN_UUIDS:
                args[p.name] = own.ids[p.name]
            elif p.name == "request_id":
                row = conn.execute(
                    "select request_id::text from qms.idempotency_keys where tenant_id = %s and command = %s limit 1",
                    (target.tenant_id, fn),
                ).fetchone()
                args[p.name] = row[0] if row else str(uuid.uuid4())
            else:
                args[p.name] = target.ids.get(UUID_KEYS.get(p.name, p.name), target.ids["ticket_id"])
        elif p.type == "uuid[]":
            args[p.name] = [target.ids[UUID_ARRAY_KEYS.get(p.name, "branch_id")]]
        elif p.name in DEFAULTED_SAMPLES:
            args[p.name] = DEFAULTED_SAMPLES[p.name]
        elif p.has_default:
            continue
        elif (fn, p.name) in FN_TEXT_SAMPLES:
            args[p.name] = FN_TEXT_SAMPLES[(fn, p.name)]
        elif p.type == "text" and p.name in OWN_TEXT:
            args[p.name] = OWN_TEXT[p.name](own)
        elif p.type == "text":
            args[p.name] = TEXT_SAMPLES.get(p.name, "probe")
        else:
            assert p.type in TYPE_SAMPLES, f"api.{fn}({p.name} {p.type}): teach the probe a value for {p.type}"
            args[p.name] = TYPE_SAMPLES[p.type]
    return args


@dataclass
class Outcome:
    text: str | None = None
    sqlstate: str | None = None
    detail: str | None = None
    changed: bool = False


def _probe(
    conn: psycopg.Connection[Any],
    fn: str,
    args: dict[str, Any],
    role: str,
    claims: dict[str, Any],
    watch: tuple[sql.Composable, str, dict[str, str]] | None = None,
) -> Outcome:
    """One call in a savepoint, rolled back; with ``watch`` (query, tenant, before) it also tells whether the
    watched tenant's rows changed (compared before the rollback)."""
    out = Outcome()
    conn.execute("savepoint probe")
    try:
        _set_identity(conn, role, claims)
        out.text = _api(conn, fn, **args)
        _reset(conn)
        if watch is not None:
            query, tenant_id, before = watch
            out.changed = _fingerprint(conn, query, tenant_id) != before
    except psycopg.Error as exc:
        out.sqlstate, out.detail = exc.sqlstate, exc.diag.message_detail
    conn.execute("rollback to savepoint probe")
    return out


# -- tests -------------------------------------------------------------------------------------------
def test_seed_reaches_every_tenant_table(two_tenants: tuple[str, Tenant, Tenant]) -> None:
    url, a, _ = two_tenants
    with psycopg.connect(url) as conn:
        tables = _tenant_tables(conn)
        prints = _fingerprint(conn, _fingerprint_query(tables), a.tenant_id)
    empty = sorted(t for t, fp in prints.items() if fp.startswith("0:"))
    # Tables that no api function writes yet may be empty; everything else must hold rows of A, or the
    # isolation checks below would prove nothing for it.
    assert len(empty) <= len(prints) // 4, f"tables without tenant A rows: {empty}"


@pytest.mark.parametrize("role", TABLE_ROLES)
def test_tables_hide_and_protect_the_other_tenant(two_tenants: tuple[str, Tenant, Tenant], role: str) -> None:
    url, a, b = two_tenants
    with psycopg.connect(url) as conn:
        tables = _tenant_tables(conn)
        query = _fingerprint_query(tables)
        before = _fingerprint(conn, query, a.tenant_id)
        for table in tables:
            for statement in (
                "select count(*) from {} where tenant_id = %s",
                "with x as (update {} set tenant_id = tenant_id where tenant_id = %s returning 1) select count(*) from x",
                "with x as (delete from {} where tenant_id = %s returning 1) select count(*) from x",
            ):
                conn.execute("savepoint s")
                _set_identity(conn, role, _claims(role, b))
                try:
                    row = conn.execute(sql.SQL(statement).format(sql.SQL(table)), (a.tenant_id,)).fetchone()
                    count = row[0] if row else 0
                except psycopg.Error as exc:  # no privilege, or an append-only trigger refusing the change
                    assert exc.sqlstate and REFUSED.match(exc.sqlstate), f"{table}: {exc.sqlstate} {exc}"
                    count = 0
                assert count == 0, f"{role} of tenant B reached {count} row(s) of tenant A in {table}: {statement}"
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
                    _reset(conn)
                    assert _fingerprint(conn, query, a.tenant_id) == before, f"{role} changed {table}"
                conn.execute("rollback to savepoint s")


def test_the_probe_arguments_reach_the_tenants_own_data(two_tenants: tuple[str, Tenant, Tenant]) -> None:
    """Control: with A's own claims, every api function answers (or refuses with a conflict about A's rows,
    PT409) for at least one role. Otherwise the cross-tenant probe below would prove nothing for it."""
    url, a, _ = two_tenants
    with psycopg.connect(url) as conn:
        functions = _api_functions(conn)
        unreached: list[str] = []
        for fn, params in functions:
            args = _probe_args(conn, fn, params, a, a)
            outcomes = {role: _probe(conn, fn, args, role, _claims(role, a)) for role in ROLES}
            if not any(o.sqlstate in (None, "PT409") for o in outcomes.values()):
                seen = ", ".join(
                    f"{r.removeprefix('qms_')}: {o.sqlstate} {o.detail or ''}" for r, o in outcomes.items()
                )
                unreached.append(f"api.{fn}({', '.join(args)}) -> {seen}")
    assert not unreached, "no tenant role of A reaches A's data with the probe arguments:\n  " + "\n  ".join(unreached)


@pytest.mark.parametrize("role", ROLES)
def test_api_functions_leak_and_change_nothing_across_tenants(
    two_tenants: tuple[str, Tenant, Tenant], role: str
) -> None:
    url, a, b = two_tenants
    with psycopg.connect(url) as conn:
        tables = _tenant_tables(conn)
        query = _fingerprint_query(tables)
        before = _fingerprint(conn, query, a.tenant_id)
        a_ids = _ids_of(conn, tables, a.tenant_id) - _ids_of(conn, tables, b.tenant_id)
        assert {a.tenant_id, a.ids["ticket_id"], a.ids["user_id"]} <= a_ids
        leak = re.compile("|".join([*map(re.escape, sorted(a_ids)), re.escape(a.slug)]), re.IGNORECASE)
        functions = _api_functions(conn)
        leaks: list[str] = []
        changed: list[str] = []
        odd: list[str] = []
        for fn, params in functions:
            args = _probe_args(conn, fn, params, a, b)
            out = _probe(conn, fn, args, role, _claims(role, b), watch=(query, a.tenant_id, before))
            if out.sqlstate is not None:
                # Refused: fine, unless it is an error that only A's rows could cause (a conflict with them)
                # or an error outside the contract.
                if out.sqlstate == "PT409" or not REFUSED.match(out.sqlstate):
                    odd.append(f"api.{fn}: {out.sqlstate} {out.detail}")
                continue
            if out.text is not None and (m := leak.search(out.text)):
                leaks.append(f"api.{fn}: {m.group(0)}")
            if out.changed:
                changed.append(f"api.{fn}")
        assert _fingerprint(conn, query, a.tenant_id) == before
    problems = [
        *(f"saw tenant A's data through {x}" for x in leaks),
        *(f"changed tenant A's rows through {x}" for x in changed),
        *(f"got an error that reveals or breaks on tenant A's rows from {x}" for x in odd),
    ]
    assert not problems, f"{role} of tenant B:\n  " + "\n  ".join(problems)
