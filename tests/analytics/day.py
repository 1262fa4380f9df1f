"""A realistic generated day for the analytics tests.

Tenant A has two branches in different time zones (Jakarta, New York), tenant B one (UTC). Tickets come two
ways:

* **live**: through the ``api`` functions under staff claims, with the real clock (so their times are
  seconds apart): several channels and priority classes, calls, recalls, starts, completions, no-shows, a
  return to the queue, transfers, holds and cancellations, and some tickets left waiting;
* **timed**: with controlled timestamps three days ago (waits from seconds to 40 minutes, so SLAs are met
  and missed, some issued just before local midnight), written through the engine's one writer
  ``qms.advance_ticket`` as the owner, event by event, as the engine would.

:func:`expected_kpis` computes the KPIs again in Python from the raw tables (``qms.tickets``,
``qms.ticket_events``, ``qms.services``, ``qms.branches``), independently of the SQL under test.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from tests.engine_fixtures import connect_as, make_claims, owner_rows

CHANNELS = ["kiosk", "web", "mobile", "staff", "api"]
PRIORITIES = ["regular", "regular", "regular", "priority", "vip"]


@dataclass
class Branch:
    branch_id: uuid.UUID
    timezone: str
    services: list[uuid.UUID]
    counters: dict[uuid.UUID, list[uuid.UUID]]  # counter -> services


@dataclass
class World:
    tenant_a: uuid.UUID
    tenant_b: uuid.UUID
    branches: dict[str, Branch] = field(default_factory=dict)
    timed_day: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())

    def claims(self, role: str, branch: str | None = None, tenant: str = "a") -> dict[str, Any]:
        tenant_id = self.tenant_a if tenant == "a" else self.tenant_b
        branch_ids = None if branch is None else [self.branches[branch].branch_id]
        return make_claims(role, tenant_id, branch_ids)


def _setup(conn: psycopg.Connection[Any]) -> World:
    """Tenants, branches, services (SLA 1-15 min), counters and skills, as the owner."""
    ta = conn.execute("select qms.create_tenant('Analytics A', %s)", (f"an-a-{uuid.uuid4().hex[:8]}",)).fetchone()
    tb = conn.execute("select qms.create_tenant('Analytics B', %s)", (f"an-b-{uuid.uuid4().hex[:8]}",)).fetchone()
    assert ta is not None and tb is not None
    world = World(ta[0], tb[0])
    layout = {
        "jakarta": (world.tenant_a, "Asia/Jakarta", [("Teller", "A", 2), ("Loans", "B", 15)], [[0, 1], [0], [1]]),
        "newyork": (world.tenant_a, "America/New_York", [("Desk", "N", 5), ("Claims", "C", 10)], [[0, 1], [0]]),
        "berlin": (world.tenant_b, "UTC", [("Front", "F", 15)], [[0]]),
    }
    for key, (tenant, tz, services, counters) in layout.items():
        branch_id = uuid.uuid4()
        conn.execute(
            "insert into qms.branches (tenant_id, branch_id, name, timezone) values (%s, %s, %s, %s)",
            (tenant, branch_id, key.title(), tz),
        )
        service_ids = []
        for name, prefix, sla in services:
            sid = uuid.uuid4()
            conn.execute(
                "insert into qms.services (tenant_id, service_id, branch_id, name, prefix, sla_minutes)"
                " values (%s, %s, %s, %s, %s, %s)",
                (tenant, sid, branch_id, name, prefix, sla),
            )
            service_ids.append(sid)
        counter_map: dict[uuid.UUID, list[uuid.UUID]] = {}
        for i, skills in enumerate(counters):
            cid = uuid.uuid4()
            conn.execute(
                "insert into qms.counters (tenant_id, counter_id, branch_id, name, status)"
                " values (%s, %s, %s, %s, 'available')",
                (tenant, cid, branch_id, f"Counter {i + 1}"),
            )
            counter_map[cid] = [service_ids[s] for s in skills]
            for s in skills:
                conn.execute(
                    "insert into qms.counter_services (tenant_id, branch_id, counter_id, service_id)"
                    " values (%s, %s, %s, %s)",
                    (tenant, branch_id, cid, service_ids[s]),
                )
        world.branches[key] = Branch(branch_id, tz, service_ids, counter_map)
    # New York's Claims desk sends no-shows back to the queue once.
    ny = world.branches["newyork"]
    conn.execute(
        "insert into qms.policies (tenant_id, branch_id, service_id, policy) values (%s, %s, %s, %s)",
        (world.tenant_a, ny.branch_id, ny.services[1], '{"return_to_queue": true}'),
    )
    return world


TIMED_TICKET_SQL = """
create function pg_temp.timed_ticket(p_tenant uuid, p_branch uuid, p_service uuid, p_counter uuid, p_n integer,
    p_created timestamptz, p_channel text, p_priority text, p_wait interval, p_service_time interval,
    p_outcome text) returns uuid language plpgsql as $$
declare
    v qms.tickets;
    o qms.tickets;
begin
    v.tenant_id := p_tenant; v.ticket_id := gen_random_uuid(); v.branch_id := p_branch; v.service_id := p_service;
    v.ticket_number := 'T-' || p_n; v.number_seq := p_n; v.business_date := p_created::date;
    v.status := 'waiting'; v.channel := p_channel; v.priority_class := p_priority; v.returned := false;
    v.queued_at := p_created; v.created_at := p_created;
    o := qms.advance_ticket(null, v, 'ticket.created');
    if p_outcome = 'cancelled' then
        v := o; v.status := 'cancelled'; v.ended_at := p_created + p_wait;
        o := qms.advance_ticket(o, v, 'ticket.cancelled');
        return o.ticket_id;
    end if;
    if p_outcome = 'waiting' then
        return o.ticket_id;
    end if;
    v := o; v.status := 'called'; v.counter_id := p_counter; v.called_at := p_created + p_wait;
    o := qms.advance_ticket(o, v, 'ticket.called');
    if p_outcome = 'no_show' then
        v := o; v.status := 'no_show'; v.ended_at := o.called_at + interval '2 minutes';
        o := qms.advance_ticket(o, v, 'ticket.no_show');
        return o.ticket_id;
    end if;
    v := o; v.status := 'serving'; v.served_at := o.called_at + interval '20 seconds';
    o := qms.advance_ticket(o, v, 'ticket.serving');
    v := o; v.status := 'done'; v.completed_at := o.served_at + p_service_time; v.ended_at := v.completed_at;
    o := qms.advance_ticket(o, v, 'ticket.done');
    return o.ticket_id;
end $$;
"""


def _timed(conn: psycopg.Connection[Any], world: World, rng: random.Random) -> None:
    """Tickets with controlled timestamps on ``world.timed_day`` (local), across the branches' hours."""
    conn.execute(TIMED_TICKET_SQL)
    n = 1000
    for key in ("jakarta", "newyork", "berlin"):
        branch = world.branches[key]
        tenant = world.tenant_b if key == "berlin" else world.tenant_a
        zone = ZoneInfo(branch.timezone)
        for hour in (8, 9, 9, 10, 13, 16, 23):
            for _ in range(4):
                n += 1
                minute = rng.randrange(0, 60 if hour < 23 else 25)
                created = dt.datetime.combine(world.timed_day, dt.time(hour, minute, rng.randrange(60)), zone)
                service = rng.choice(branch.services)
                counter = next(c for c, s in branch.counters.items() if service in s)
                outcome = rng.choices(["done", "no_show", "cancelled", "waiting"], [75, 10, 10, 5])[0]
                wait = dt.timedelta(seconds=rng.choice([20, 45, 90, 200, 400, 700, 1000, 2400]) + rng.random())
                service_time = dt.timedelta(seconds=rng.randrange(30, 900))
                conn.execute(
                    "select pg_temp.timed_ticket(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        tenant,
                        branch.branch_id,
                        service,
                        counter,
                        n,
                        created,
                        rng.choice(CHANNELS),
                        rng.choice(PRIORITIES),
                        wait,
                        service_time,
                        outcome,
                    ),
                )


def _live(url: str, world: World, rng: random.Random) -> None:
    """Today's tickets through the api as agents, supervisors and admins of each branch."""
    for key, branch in world.branches.items():
        tenant = "b" if key == "berlin" else "a"
        with connect_as(url, "qms_supervisor", world.claims("qms_supervisor", key, tenant)) as sup:
            tickets = []
            for _ in range(18):
                t = sup.execute(
                    "select api.create_ticket(service_id => %s, channel => %s, priority_class => %s) as t",
                    (rng.choice(branch.services), rng.choice(CHANNELS), rng.choice(PRIORITIES)),
                ).fetchone()
                assert t is not None
                tickets.append(t["t"]["ticket_id"])
            act = "select api.ticket_action(ticket_id => %s, action => %s, counter_id => %s, target_service_id => %s)"
            sup.execute(act, (tickets[0], "cancel", None, None))
            sup.execute(act, (tickets[1], "hold", None, None))
            sup.execute(act, (tickets[1], "unhold", None, None))
            sup.execute(act, (tickets[2], "hold", None, None))
            for _round in range(5):
                for counter, _skills in branch.counters.items():
                    got = sup.execute("select api.call_next(counter_id => %s) as r", (counter,)).fetchone()
                    assert got is not None
                    ticket = got["r"]["ticket"]
                    if ticket is None:
                        continue
                    tid = ticket["ticket_id"]
                    roll = rng.random()
                    if roll < 0.12:
                        sup.execute(act, (tid, "mark_no_show", counter, None))
                        continue
                    if roll < 0.24 and len(branch.services) > 1:
                        other = next(s for s in branch.services if s != ticket["service_id"])
                        sup.execute(act, (tid, "transfer", None, other))
                        continue
                    if roll < 0.34:
                        sup.execute(act, (tid, "recall", counter, None))
                    sup.execute(act, (tid, "start", counter, None))
                    if roll < 0.9:
                        sup.execute(act, (tid, "complete", counter, None))
                    else:
                        sup.execute(act, (tid, "transfer", None, branch.services[0]))


def build(url: str, seed: int = 15) -> World:
    rng = random.Random(seed)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        world = _setup(conn)
        world.timed_day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)
        _timed(conn, world, rng)
    _live(url, world, rng)
    return world


# -- the independent computation --------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (what percentile_cont does)."""
    if not values:
        return None
    xs = sorted(values)
    pos = p * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def ticket_facts(url: str, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """Per ticket: local hour of issue, first call, latest service interval, outcome, SLA, from raw tables."""
    tickets = owner_rows(
        url,
        "select t.*, b.timezone from qms.tickets t join qms.branches b using (tenant_id, branch_id)"
        " where t.tenant_id = %s",
        (tenant_id,),
    )
    events = owner_rows(
        url,
        "select ticket_id, ticket_seq, type, service_id, counter_id, payload from qms.ticket_events"
        " where tenant_id = %s order by ticket_id, ticket_seq",
        (tenant_id,),
    )
    sla = {r["service_id"]: r["sla_minutes"] * 60 for r in owner_rows(url, "select * from qms.services")}
    by_ticket: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_ticket[e["ticket_id"]].append(e)
    out = []
    for t in tickets:
        evs = by_ticket[t["ticket_id"]]
        calls = [e for e in evs if e["payload"]["changes"].get("called_at")]
        first_call = dt.datetime.fromisoformat(calls[0]["payload"]["changes"]["called_at"]) if calls else None
        wait = (first_call - t["created_at"]).total_seconds() if first_call else None
        service = (t["completed_at"] - t["served_at"]).total_seconds() if t["completed_at"] and t["served_at"] else None
        local = t["created_at"].astimezone(ZoneInfo(t["timezone"]))
        counters = [e["counter_id"] for e in evs if e["counter_id"] is not None]
        out.append(
            {
                "ticket_id": t["ticket_id"],
                "branch_id": t["branch_id"],
                "service_id": t["service_id"],
                "counter_id": counters[-1] if counters else None,
                "priority_class": t["priority_class"],
                "channel": t["channel"],
                "hour": local.replace(minute=0, second=0, microsecond=0, tzinfo=None),
                "status": t["status"],
                "transferred": any(e["type"] == "ticket.transferred" for e in evs),
                "wait": wait,
                "service": service,
                "sla_met": None if wait is None else wait <= sla[calls[0]["service_id"]],
                "created_at": t["created_at"],
                "timezone": t["timezone"],
            }
        )
    return out


def expected_kpis(
    facts: list[dict[str, Any]], granularity: str = "day", **filters: Any
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """KPI rows keyed by (bucket, branch_id, service_id), as api.kpi defines them."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in facts:
        if any(v is not None and f[k] != v for k, v in filters.items()):
            continue
        h: dt.datetime = f["hour"]
        bucket = h.strftime("%Y-%m-%dT%H:00") if granularity == "hour" else h.strftime("%Y-%m-%d")
        groups[(bucket, str(f["branch_id"]), str(f["service_id"]))].append(f)
    out = {}
    for key, rows in groups.items():
        waits = [r["wait"] for r in rows if r["wait"] is not None]
        services = [r["service"] for r in rows if r["service"] is not None]
        met = [r for r in rows if r["sla_met"]]
        out[key] = {
            "tickets": len(rows),
            "served": sum(r["status"] == "done" for r in rows),
            "no_shows": sum(r["status"] == "no_show" for r in rows),
            "cancelled": sum(r["status"] == "cancelled" for r in rows),
            "transferred": sum(r["transferred"] for r in rows),
            "avg_wait_seconds": sum(waits) / len(waits) if waits else None,
            "median_wait_seconds": percentile(waits, 0.5),
            "p90_wait_seconds": percentile(waits, 0.9),
            "avg_service_seconds": sum(services) / len(services) if services else None,
            "sla_met_ratio": len(met) / len(waits) if waits else None,
        }
    return out
