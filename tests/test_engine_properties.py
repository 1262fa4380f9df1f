"""Stateful property test of the queue engine: random sequences of ticket commands, valid and invalid,
against a model kept in Python. After every step the tickets table, the event log (rehydrate + hash
chain), the one-active-ticket-per-counter rule and every waiting ticket's position (ledger and bucket
counts, folded at random moments) must agree with the model."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import psycopg
import pytest
from engine_fixtures import ADMIN, AGENT, WORKER, Seed, connect_as, make_claims, seed_branch
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from psycopg.rows import dict_row

from qms.apicall import call_api

ACTIVE = ("called", "serving")
# action -> states it is valid from (DESIGN.md §3, default policy: cancel from waiting/held, no return-to-queue)
VALID_FROM = {
    "recall": {"called"},
    "start": {"called"},
    "complete": {"serving"},
    "hold": {"waiting"},
    "unhold": {"held"},
    "cancel": {"waiting", "held"},
    "mark_no_show": {"called"},
    "transfer": {"waiting", "called", "serving"},
}
NEXT_STATE = {
    "recall": "called",
    "start": "serving",
    "complete": "done",
    "hold": "held",
    "unhold": "waiting",
    "cancel": "cancelled",
    "mark_no_show": "no_show",
    "transfer": "waiting",
}
REJECTED = {"PT400", "PT403", "PT409"}
# Fields a rehydrated ticket must share with the row (timestamps may come from event times).
STATE_FIELDS = ("status", "service_id", "returned", "priority_class", "ticket_number")

SNAPSHOT_SQL = """
select t.ticket_id::text, t.status::text, t.service_id::text, t.counter_id::text, t.returned,
       t.priority_class, t.ticket_number, t.priority_rank, t.queued_at, t.version, t.event_count,
       (select count(*) from qms.ticket_events e where e.tenant_id = t.tenant_id and e.ticket_id = t.ticket_id)
           as events
from qms.tickets t where t.tenant_id = %s order by t.ticket_id
"""
# Each waiting ticket's position as the api reports it (qms.ticket_json, as in api.get_ticket).
POSITIONS_SQL = """
select t.ticket_id::text, (qms.ticket_json(t) ->> 'position')::integer as position
from qms.tickets t where t.status = 'waiting'
"""
CHECK_SQL = """
select t.ticket_id::text, t.status::text, t.service_id::text, t.counter_id::text, t.returned,
       t.priority_class, t.ticket_number,
       api.rehydrate_ticket(t.ticket_id) as folded, api.verify_ticket_chain(t.ticket_id) as chain
from qms.tickets t order by t.ticket_id
"""


class EngineMachine(RuleBasedStateMachine):
    url: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        # counter 0 serves service 0, counter 1 serves service 1, counter 2 serves both
        self.seed: Seed = seed_branch(
            self.url,
            n_services=2,
            n_counters=3,
            services_per_counter=1,
            policy={"called_grace_seconds": 3600, "return_to_queue": False},
        )
        with psycopg.connect(self.url, autocommit=True) as owner:
            admin = make_claims(ADMIN, self.seed.tenant_id, sub="admin-prop")
            call_api(
                owner, "update_counter", admin, counter_id=self.seed.counter_ids[2], service_ids=self.seed.service_ids
            )
        self.skills = {
            str(self.seed.counter_ids[0]): {str(self.seed.service_ids[0])},
            str(self.seed.counter_ids[1]): {str(self.seed.service_ids[1])},
            str(self.seed.counter_ids[2]): {str(s) for s in self.seed.service_ids},
        }
        self.conn = connect_as(self.url, AGENT, self.seed.claims(sub="agent-prop"))
        self.worker = connect_as(self.url, WORKER, make_claims(WORKER, self.seed.tenant_id, sub="fold-prop"))
        self.owner = psycopg.connect(self.url, autocommit=True, row_factory=dict_row)
        # model: ticket id -> {"status", "service", "counter"}
        self.tickets: dict[str, dict[str, Any]] = {}

    def teardown(self) -> None:
        self.conn.close()
        self.worker.close()
        self.owner.close()

    # -- helpers ----------------------------------------------------------------------------------
    def snapshot(self) -> list[dict[str, Any]]:
        return self.owner.execute(SNAPSHOT_SQL, (self.seed.tenant_id,)).fetchall()

    def expect_rejected(self, sql: str, params: tuple[Any, ...]) -> None:
        """An invalid command raises PT400/PT403/PT409 and changes nothing."""
        before = self.snapshot()
        with pytest.raises(psycopg.Error) as info:
            self.conn.execute(sql, params)
        assert info.value.sqlstate in REJECTED, (info.value.sqlstate, str(info.value))
        assert info.value.diag.message_detail, "an engine error carries its reason key in DETAIL"
        assert self.snapshot() == before, "a rejected command changed state"

    def counter_busy(self, counter: str) -> bool:
        return any(t["counter"] == counter and t["status"] in ACTIVE for t in self.tickets.values())

    def pick(self, i: int) -> tuple[str, dict[str, Any]]:
        tid = list(self.tickets)[i % len(self.tickets)]  # creation order: ids are random
        return tid, self.tickets[tid]

    # -- rules ------------------------------------------------------------------------------------
    @rule(service=st.integers(0, 1), priority=st.sampled_from(["regular", "regular", "priority", "vip"]))
    def create(self, service: int, priority: str) -> None:
        sid = str(self.seed.service_ids[service])
        row = self.conn.execute(
            "select api.create_ticket(service_id => %s, priority_class => %s) as t", (sid, priority)
        ).fetchone()
        assert row is not None
        ticket = row["t"]
        assert ticket["status"] == "waiting" and ticket["service_id"] == sid
        self.tickets[ticket["ticket_id"]] = {"status": "waiting", "service": sid, "counter": None}

    @rule(c=st.integers(0, 2))
    def call_next(self, c: int) -> None:
        counter = str(self.seed.counter_ids[c])
        sql, params = "select api.call_next(counter_id => %s) as r", (counter,)
        if self.counter_busy(counter):
            self.expect_rejected(sql, params)
            return
        rows = self.snapshot()
        waiting = [r for r in rows if r["status"] == "waiting" and r["service_id"] in self.skills[counter]]
        row = self.conn.execute(sql, params).fetchone()
        assert row is not None
        result = row["r"]
        if not waiting:
            assert result["ticket"] is None and result["reason"] in ("queue_empty", "no_compatible_ticket"), result
            return
        ticket = result["ticket"]
        assert ticket is not None, result
        first = min(waiting, key=lambda r: (r["priority_rank"], r["queued_at"]))
        picked = next(r for r in waiting if r["ticket_id"] == ticket["ticket_id"])
        assert (picked["priority_rank"], picked["queued_at"]) == (first["priority_rank"], first["queued_at"])
        assert ticket["status"] == "called" and ticket["counter_id"] == counter
        self.tickets[ticket["ticket_id"]].update(status="called", counter=counter)

    @rule(c=st.integers(0, 2))
    def serve_next(self, c: int) -> None:
        """The usual agent flow, call_next then start, so serving tickets are common in the runs."""
        counter = str(self.seed.counter_ids[c])
        if self.counter_busy(counter):
            return
        self.call_next(c)
        called = [t for t, m in self.tickets.items() if m["counter"] == counter and m["status"] == "called"]
        if called:
            self.apply(called[0], self.tickets[called[0]], "start")

    @precondition(lambda self: self.tickets)
    @rule(i=st.integers(0, 10_000), action=st.sampled_from(sorted(VALID_FROM)))
    def act(self, i: int, action: str) -> None:
        self.apply(*self.pick(i), action)

    @precondition(lambda self: any(t["status"] in ACTIVE for t in self.tickets.values()))
    @rule(i=st.integers(0, 10_000), action=st.sampled_from(sorted(VALID_FROM)))
    def act_on_active(self, i: int, action: str) -> None:
        """Most random picks land on waiting or finished tickets: aim at called/serving ones too."""
        active = [t for t, m in self.tickets.items() if m["status"] in ACTIVE]
        tid = active[i % len(active)]
        self.apply(tid, self.tickets[tid], action)

    def apply(self, tid: str, model: dict[str, Any], action: str) -> None:
        event(f"{action} from {model['status']}")
        counter = model["counter"] if model["status"] in ACTIVE else None
        target = None
        if action == "transfer":
            services = [str(s) for s in self.seed.service_ids]
            target = services[1 - services.index(model["service"])]
        sql = (
            "select api.ticket_action(ticket_id => %s, action => %s, counter_id => %s, target_service_id => %s,"
            " reason => 'property test') as t"
        )
        params = (tid, action, counter, target)
        if model["status"] not in VALID_FROM[action]:
            self.expect_rejected(sql, params)
            return
        row = self.conn.execute(sql, params).fetchone()
        assert row is not None
        ticket = row["t"]
        model["status"] = NEXT_STATE[action]
        if action == "transfer":
            model["service"] = target
        if model["status"] not in ACTIVE:
            model["counter"] = None
        assert ticket["status"] == model["status"] and ticket["service_id"] == model["service"], ticket

    @precondition(lambda self: any(t["status"] in ACTIVE for t in self.tickets.values()))
    @rule(i=st.integers(0, 10_000), action=st.sampled_from(["start", "complete", "recall"]))
    def act_from_wrong_counter(self, i: int, action: str) -> None:
        active = [t for t, m in self.tickets.items() if m["status"] in ACTIVE]
        tid = active[i % len(active)]
        wrong = next(str(c) for c in self.seed.counter_ids if str(c) != self.tickets[tid]["counter"])
        self.expect_rejected(
            "select api.ticket_action(ticket_id => %s, action => %s, counter_id => %s)", (tid, action, wrong)
        )

    @rule()
    def fold(self) -> None:
        """The worker folds the queue ledger into bucket counts; positions must not move."""
        row = self.worker.execute("select worker.queue_fold() as n").fetchone()
        assert row is not None and row["n"] >= 0

    @rule(action=st.sampled_from(sorted(VALID_FROM)), unknown_ticket=st.booleans())
    def bad_input(self, action: str, unknown_ticket: bool) -> None:
        """An unknown ticket (PT404) or an unknown action (PT400) changes nothing."""
        if unknown_ticket or not self.tickets:
            before = self.snapshot()
            with pytest.raises(psycopg.Error) as info:
                self.conn.execute(
                    "select api.ticket_action(ticket_id => %s, action => %s, counter_id => %s,"
                    " target_service_id => %s)",
                    (str(uuid.uuid4()), action, str(self.seed.counter_ids[0]), str(self.seed.service_ids[0])),
                )
            assert info.value.sqlstate == "PT404", info.value
            assert self.snapshot() == before
        else:
            tid, _ = self.pick(0)
            self.expect_rejected("select api.ticket_action(ticket_id => %s, action => 'teleport')", (tid,))

    # -- invariants -------------------------------------------------------------------------------
    @invariant()
    def database_agrees(self) -> None:
        rows = self.conn.execute(CHECK_SQL).fetchall()
        assert {r["ticket_id"]: r["status"] for r in rows} == {t: m["status"] for t, m in self.tickets.items()}
        for r in rows:
            model = self.tickets[r["ticket_id"]]
            assert r["service_id"] == model["service"]
            folded = r["folded"]
            for key in STATE_FIELDS:
                assert folded[key] == r[key], (key, folded, r)
            if r["status"] in ACTIVE:
                assert r["counter_id"] == model["counter"] and folded["counter_id"] == r["counter_id"], (folded, r)
            assert r["chain"]["ok"] is True, r["chain"]
        active = [r["counter_id"] for r in rows if r["status"] in ACTIVE]
        assert None not in active and len(active) == len(set(active)), "a counter holds two active tickets"

    @invariant()
    def positions_are_exact(self) -> None:
        """A waiting ticket's position is 1 + the waiting tickets of its service before it in call order."""
        waiting = [r for r in self.snapshot() if r["status"] == "waiting"]
        expected = {
            r["ticket_id"]: 1
            + sum(
                1
                for w in waiting
                if w["service_id"] == r["service_id"]
                and (w["priority_rank"], w["queued_at"]) < (r["priority_rank"], r["queued_at"])
            )
            for r in waiting
        }
        reported = {r["ticket_id"]: r["position"] for r in self.conn.execute(POSITIONS_SQL).fetchall()}
        assert reported == expected


def test_engine_state_machine(db_url: str) -> None:
    EngineMachine.url = db_url
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
