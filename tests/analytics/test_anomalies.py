"""Anomaly rules: an alert is raised once per episode, kept while the condition holds, cleared when it ends;
rules and alerts stay within their tenant and branches."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
import psycopg
import pytest
from websockets.sync.client import ClientConnection, connect

from gateway.auth import ALGORITHM
from tests.engine_fixtures import connect_as, make_claims, pg_error, seed_branch
from tests.gateway.gwkit import SECRET, Gateway, start_gateway, stop_gateway

LATE_TICKET = """
do $$
declare v qms.tickets; o qms.tickets;
begin
    v.tenant_id := %(t)s; v.ticket_id := gen_random_uuid(); v.branch_id := %(b)s; v.service_id := %(s)s;
    v.ticket_number := 'L-1'; v.number_seq := 9999; v.business_date := current_date; v.status := 'waiting';
    v.channel := 'kiosk'; v.priority_class := 'regular'; v.returned := false;
    v.created_at := now() - interval '40 minutes'; v.queued_at := v.created_at;
    o := qms.advance_ticket(null, v, 'ticket.created');
    v := o; v.status := 'called'; v.counter_id := %(c)s; v.called_at := now();
    perform qms.advance_ticket(o, v, 'ticket.called');
end $$
"""


def evaluate(url: str) -> int:
    with connect_as(url, "qms_worker", make_claims("qms_worker", None)) as conn:
        row = conn.execute("select worker.evaluate_anomalies() as n").fetchone()
    assert row is not None
    return int(row["n"])


def alerts(url: str, claims: dict[str, Any], open_only: bool = True) -> list[dict[str, Any]]:
    with connect_as(url, claims["role"], claims) as conn:
        row = conn.execute("select api.list_anomaly_alerts(open_only => %s) as a", (open_only,)).fetchone()
    assert row is not None
    return list(row["a"])


def test_an_alert_is_raised_once_per_episode_and_cleared(db_url: str) -> None:
    seed = seed_branch(db_url, n_services=1, n_counters=1)
    other = seed_branch(db_url, n_services=1, n_counters=1)
    service, counter = seed.service_ids[0], seed.counter_ids[0]
    sup = seed.claims("qms_supervisor")
    with connect_as(db_url, "qms_supervisor", sup) as conn:
        rule = conn.execute(
            "select api.create_anomaly_rule(service_id => %s, rule_kind => 'waiting_over', threshold => 2) as r",
            (service,),
        ).fetchone()["r"]
        p90 = conn.execute(
            "select api.create_anomaly_rule(service_id => %s, rule_kind => 'p90_wait_over_sla', threshold => 1) as r",
            (service,),
        ).fetchone()["r"]
        for args, key in (
            ((service, "waiting_over", 0), ("PT400", "INVALID_ANOMALY_RULE")),
            ((service, "no_show_spike", 1.5), ("PT400", "INVALID_ANOMALY_RULE")),
            ((service, "loud_noise", 3), ("PT400", "INVALID_ANOMALY_RULE")),
            ((other.service_ids[0], "waiting_over", 3), ("PT404", "SERVICE_NOT_FOUND")),
        ):
            with pytest.raises(psycopg.Error) as exc:
                conn.execute(
                    "select api.create_anomaly_rule(service_id => %s, rule_kind => %s, threshold => %s::numeric)", args
                )
            assert pg_error(exc.value) == key
        for _ in range(3):
            conn.execute("select api.create_ticket(service_id => %s)", (service,))
    assert evaluate(db_url) == 1
    assert evaluate(db_url) == 0
    (alert,) = alerts(db_url, sup)
    assert (alert["rule_id"], alert["kind"], float(alert["raised_value"])) == (rule["rule_id"], "waiting_over", 3.0)

    with connect_as(db_url, "qms_agent", seed.claims()) as conn:
        conn.execute("select api.call_next(counter_id => %s)", (counter,))
    assert evaluate(db_url) == 1
    assert evaluate(db_url) == 0
    assert alerts(db_url, sup) == []
    (ended,) = alerts(db_url, make_claims("qms_analyst", seed.tenant_id), open_only=False)
    assert ended["cleared_at"] is not None and float(ended["last_value"]) == 2.0

    # A ticket issued 40 minutes ago (SLA 15) is called now, written event by event through the engine's one
    # writer with controlled timestamps: the p90 rule fires.
    with connect_as(db_url, "qms_agent", seed.claims()) as conn:
        called = conn.execute(
            "select ticket_id from qms.tickets where service_id = %s and status = 'called'", (service,)
        ).fetchone()
        assert called is not None
        for action in ("start", "complete"):
            conn.execute(
                "select api.ticket_action(ticket_id => %s, action => %s, counter_id => %s)",
                (called["ticket_id"], action, counter),
            )
    with psycopg.connect(db_url, autocommit=True) as owner:
        # client-side binding: a DO block takes no server parameters
        psycopg.ClientCursor(owner).execute(
            LATE_TICKET, {"t": seed.tenant_id, "b": seed.branch_id, "s": service, "c": counter}
        )
    assert evaluate(db_url) == 1
    (fired,) = alerts(db_url, sup)
    assert fired["rule_id"] == p90["rule_id"] and float(fired["raised_value"]) > 15 * 60

    # Other tenants see nothing of it; a supervisor of this branch lists only its rules.
    assert alerts(db_url, other.claims("qms_supervisor"), open_only=False) == []
    with (
        connect_as(db_url, "qms_supervisor", other.claims("qms_supervisor")) as conn,
        pytest.raises(psycopg.Error) as exc,
    ):
        conn.execute("select api.list_anomaly_alerts(branch_id => %s)", (seed.branch_id,))
    assert pg_error(exc.value) == ("PT404", "BRANCH_NOT_FOUND")
    with connect_as(db_url, "qms_agent", seed.claims()) as conn, pytest.raises(psycopg.Error) as exc:
        conn.execute(
            "select api.create_anomaly_rule(service_id => %s, rule_kind => 'waiting_over', threshold => 5)", (service,)
        )
    assert pg_error(exc.value)[0] == "42501"


def test_a_raised_alert_reaches_the_branch_live_floor_and_its_clearing_too(db_url: str, tmp_path: Path) -> None:
    """The live floor of a supervisor (a WebSocket subscribed to its branch) is told of each raise and clear
    at once, through the gateway's realtime fan-out; another branch's supervisor hears nothing."""
    seed = seed_branch(db_url, n_services=1, n_counters=1)
    other = seed_branch(db_url, n_services=1, n_counters=1)
    service = seed.service_ids[0]
    sup = seed.claims("qms_supervisor")
    with connect_as(db_url, "qms_supervisor", sup) as conn:
        rule = conn.execute(
            "select api.create_anomaly_rule(service_id => %s, rule_kind => 'waiting_over', threshold => 1) as r",
            (service,),
        ).fetchone()["r"]
        tickets = [
            conn.execute("select api.create_ticket(service_id => %s) as t", (service,)).fetchone()["t"]
            for _ in range(2)
        ]
    gw = start_gateway(db_url, tmp_path)
    try:
        with (
            live_floor(gw, sup, seed.branch_id) as floor,
            live_floor(gw, other.claims("qms_supervisor"), other.branch_id) as stranger,
        ):
            assert evaluate(db_url) == 1
            raised = json.loads(floor.recv(timeout=10))
            assert raised["type"] == "anomaly.raised" and raised["branch_id"] == str(seed.branch_id)
            assert raised["payload"]["rule_id"] == rule["rule_id"] and float(raised["payload"]["value"]) == 2
            assert raised["payload"]["alert_id"] == alerts(db_url, sup)[0]["alert_id"]
            with connect_as(db_url, "qms_supervisor", sup) as conn:
                conn.execute(
                    "select api.ticket_action(ticket_id => %s, action => 'cancel')", (tickets[0]["ticket_id"],)
                )
            assert evaluate(db_url) == 1
            cleared = json.loads(floor.recv(timeout=10))
            assert cleared["type"] == "anomaly.cleared" and cleared["payload"]["cleared_at"] is not None
            with pytest.raises(TimeoutError):
                stranger.recv(timeout=0.5)
    finally:
        stop_gateway(gw)


@contextmanager
def live_floor(gw: Gateway, claims: dict[str, Any], branch_id: Any) -> Iterator[ClientConnection]:
    token = jwt.encode({**claims, "exp": int(time.time()) + 600}, SECRET, algorithm=ALGORITHM)
    with connect(f"{gw.ws_url}?token={token}", open_timeout=10) as conn:
        assert json.loads(conn.recv(timeout=10))["type"] == "welcome"
        conn.send(json.dumps({"action": "subscribe", "topics": [f"branch:{branch_id}:display:all"]}))
        assert "error" not in json.loads(conn.recv(timeout=10))
        yield conn
