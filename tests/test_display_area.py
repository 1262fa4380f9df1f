"""Which display boards show a call: one rule (qms.display_area_id: the counter's area, else the ticket's) for
the live events (the relay's envelope and the gateway's display topics) and for a reload
(api.display_snapshot), so a board shows the same calls either way. Real Postgres, committed through the api."""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg

from gateway.realtime import topics_of
from qms.apicall import call_api


def test_live_events_and_the_snapshot_put_a_call_on_the_same_board(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as owner:

        def one(query: str, *params: Any) -> Any:
            row = owner.execute(query, params).fetchone()
            assert row is not None
            return row[0]

        tenant = str(one("select qms.create_tenant('Acme', %s)", f"t-{uuid.uuid4().hex[:10]}"))
        branch = str(one("select tests.add_branch(%s, 'Main')", tenant))
        hall = str(one("select tests.add_area(%s, %s, 'Hall')", tenant, branch))
        upstairs = str(one("select tests.add_area(%s, %s, 'Upstairs')", tenant, branch))
        teller = str(one("select tests.add_service(%s, %s, 'Teller', 'A')", tenant, branch))
        admin = {"role": "qms_admin", "tenant_id": tenant, "sub": "admin"}
        call_api(owner, "update_service", admin, service_id=teller, area_id=hall)
        # Counter 1 is upstairs though it serves Teller (a Hall service); Counter 2 has no area.
        c_up = str(one("select tests.add_counter(%s, %s, 'Counter 1', array[%s]::uuid[], 'available', %s)",
                       tenant, branch, teller, upstairs))  # fmt: skip
        c_none = str(one("select tests.add_counter(%s, %s, 'Counter 2', array[%s]::uuid[])", tenant, branch, teller))
        agent = {"role": "qms_agent", "tenant_id": tenant, "sub": "agent", "branch_ids": [branch]}
        first = call_api(owner, "create_ticket", agent, service_id=teller)
        second = call_api(owner, "create_ticket", agent, service_id=teller)
        assert call_api(owner, "call_next", agent, counter_id=c_up)["ticket"]["ticket_id"] == first["ticket_id"]
        assert call_api(owner, "call_next", agent, counter_id=c_none)["ticket"]["ticket_id"] == second["ticket_id"]

        def board(area: str | None) -> list[str]:
            snap = call_api(owner, "display_snapshot", agent, branch_id=branch, area_id=area)
            assert snap["counters"] == {c_up: "Counter 1", c_none: "Counter 2"}
            return [r["ticket_number"] for r in snap["now_calling"]]

        assert board(upstairs) == [first["ticket_number"]], "the call at the upstairs counter is upstairs"
        assert board(hall) == [second["ticket_number"]], "a counter without an area: the ticket's area"
        assert sorted(board(None)) == sorted([first["ticket_number"], second["ticket_number"]])

        # Sent on to Counter 2: it waits again (no counter), so its area is the ticket's.
        call_api(owner, "ticket_action", agent, ticket_id=first["ticket_id"], action="transfer", counter_id=c_up,
                 target_counter_id=c_none)  # fmt: skip
        assert board(upstairs) == []

    with psycopg.connect(db_url, autocommit=True) as relay:
        relay.execute("set role qms_worker")
        envelopes: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while len(envelopes) < 5 and time.monotonic() < deadline:  # created x2, called x2, transferred
            with relay.transaction():
                rows = relay.execute("select envelope from worker.relay_events(0, 10000)").fetchall()
            envelopes = [e for (e,) in rows if e["tenant_id"] == tenant]
            time.sleep(0.05)

    def event(ticket: dict[str, Any], kind: str) -> dict[str, Any]:
        [env] = [e for e in envelopes if e["type"] == kind and e["payload"]["ticket_id"] == ticket["ticket_id"]]
        return env

    def areas(env: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
        p = env["payload"]
        return p["area_id"], p["display_area_id"], p["prev_display_area_id"]

    def boards(env: dict[str, Any]) -> set[str]:
        return {t.rsplit(":", 1)[1] for t in topics_of(env) if ":display:" in t}

    called_up, called_none = event(first, "ticket.called"), event(second, "ticket.called")
    assert areas(called_up) == (hall, upstairs, hall), "live: the counter's area shows it (it waited in the hall)"
    assert areas(called_none) == (hall, hall, hall)
    left = [e for e in envelopes if e["payload"]["ticket_id"] == first["ticket_id"]][-1]
    assert (left["payload"]["status"], left["payload"]["counter_id"]) == ("waiting", None)
    assert areas(left) == (hall, hall, upstairs), "the upstairs board gets the transfer, to drop the ticket"
    assert boards(called_up) == {"all", upstairs, hall}
    assert boards(called_none) == {"all", hall}
    assert boards(left) == {"all", hall, upstairs}
