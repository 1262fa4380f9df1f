"""Realtime: NOTIFY on qms_events reaches subscribed WebSocket and SSE clients in seq order, never across
tenants or outside scope; a lost LISTEN connection is noticed, restored, and clients are told to resync."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from httpx_sse import connect_sse
from websockets.sync.client import ClientConnection, connect

from gateway.realtime import RESYNC, Client
from tests.gateway.gwkit import Gateway, Tenant, login, make_tenant, notify


def event(
    t: Tenant,
    seq: int,
    *,
    branch: str | None = None,
    area: str | None = None,
    counter: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "ticket.called",
        "seq": seq,
        "ts": datetime.now(UTC).isoformat(),
        "tenant_id": t.tenant_id,
        "branch_id": branch or t.branch_id,
        "payload": {
            "service_id": service,
            "counter_id": counter,
            "area_id": area,
            "display_area_id": area,
            "prev_display_area_id": None,
            "ticket_id": str(uuid.uuid4()),
            "ticket_number": f"A-{seq:03d}",
            "status": "called",
        },
    }


@contextmanager
def ws(gw: Gateway, token: str) -> Iterator[ClientConnection]:
    with connect(f"{gw.ws_url}?token={token}", open_timeout=10) as conn:
        assert json.loads(conn.recv(timeout=10))["type"] == "welcome"
        yield conn


def subscribe(conn: ClientConnection, *topics: str) -> dict[str, Any]:
    conn.send(json.dumps({"action": "subscribe", "topics": list(topics)}))
    reply: dict[str, Any] = json.loads(conn.recv(timeout=10))
    return reply


def frames(conn: ClientConnection, n: int, timeout: float = 10) -> list[dict[str, Any]]:
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        out.append(json.loads(conn.recv(timeout=max(0.01, deadline - time.monotonic()))))
    return out


def assert_silent(conn: ClientConnection, wait: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        conn.recv(timeout=wait)


@pytest.fixture
def other(gateway: Gateway) -> Tenant:
    return make_tenant(gateway.db_url)


def test_events_reach_subscribers_in_order_without_leaks(gateway: Gateway, tenant: Tenant, other: Tenant) -> None:
    with (
        ws(gateway, login(gateway, tenant, "agent")["access_token"]) as a,
        ws(gateway, login(gateway, other, "admin")["access_token"]) as b,
    ):
        _in_order_without_leaks(gateway, tenant, other, a, b)


def _in_order_without_leaks(
    gateway: Gateway, tenant: Tenant, other: Tenant, a: ClientConnection, b: ClientConnection
) -> None:
    area = str(uuid.uuid4())
    assert subscribe(a, f"branch:{tenant.branch_id}:display:all")["type"] == "subscribed"
    assert subscribe(b, f"branch:{other.branch_id}:display:all", f"admin:{other.tenant_id}")["type"] == "subscribed"
    # One batch mixing both tenants; A's events must arrive in seq order, B sees only its own (once each,
    # though it matches two of its topics).
    batch = [event(tenant, 1), event(other, 2), event(tenant, 3, area=area), event(tenant, 4), event(other, 5)]
    notify(gateway.db_url, {"events": batch})
    got_a = frames(a, 3)
    assert [e["seq"] for e in got_a] == [1, 3, 4]
    assert all(e["tenant_id"] == tenant.tenant_id for e in got_a)
    got_b = frames(b, 2)
    assert [e["seq"] for e in got_b] == [2, 5]
    assert_silent(a)
    assert_silent(b)
    # An event of A's tenant in a branch outside the agent's scope is not delivered.
    notify(gateway.db_url, {"events": [event(tenant, 6, branch=tenant.other_branch_id)]})
    assert_silent(a)


def test_subscriptions_stay_within_scope(gateway: Gateway, tenant: Tenant, other: Tenant) -> None:
    with ws(gateway, login(gateway, tenant, "agent")["access_token"]) as agent:
        _scoped(gateway, tenant, other, agent)
    # Without a token: an error frame and close.
    with connect(gateway.ws_url, open_timeout=10) as anon:
        anon.send(json.dumps({"action": "subscribe", "topics": [f"admin:{tenant.tenant_id}"]}))
        reply = json.loads(anon.recv(timeout=10))
        assert reply["type"] == "error" and reply["code"] == "AUTH_REQUIRED"


def _scoped(gateway: Gateway, tenant: Tenant, other: Tenant, agent: ClientConnection) -> None:
    for topic in (
        f"branch:{tenant.other_branch_id}:display:all",  # not in the agent's branch_ids
        f"branch:{other.branch_id}:service:{uuid.uuid4()}",  # another tenant's branch
        f"admin:{tenant.tenant_id}",  # admins only
        f"counter:{other.add_counter()}",  # another tenant's counter
    ):
        reply = subscribe(agent, topic)
        assert reply["type"] == "error" and reply["code"] == "TOPIC_FORBIDDEN", (topic, reply)
    reply = subscribe(agent, "everything")
    assert reply["type"] == "error" and reply["code"] == "INVALID_TOPIC"
    own_counter = tenant.add_counter()
    assert subscribe(agent, f"counter:{own_counter}")["topics"] == [f"counter:{own_counter}"]
    notify(gateway.db_url, {"events": [event(tenant, 10, counter=own_counter)]})
    assert frames(agent, 1)[0]["seq"] == 10
    # A tenant-wide admin may not subscribe to another tenant's branch either.
    with ws(gateway, login(gateway, tenant)["access_token"]) as admin:
        assert subscribe(admin, f"branch:{other.branch_id}:display:all")["code"] == "TOPIC_FORBIDDEN"
        assert subscribe(admin, f"branch:{tenant.other_branch_id}:display:all")["type"] == "subscribed"


def test_device_sees_only_its_branch_and_token_by_first_message(gateway: Gateway, tenant: Tenant) -> None:
    device_id = tenant.add_device("display")
    admin = gateway.client(login(gateway, tenant)["access_token"])
    token = admin.post(f"/api/devices/{device_id}/token").json()["token"]
    with connect(gateway.ws_url, open_timeout=10) as conn:
        conn.send(json.dumps({"action": "auth", "token": token}))
        assert json.loads(conn.recv(timeout=10))["role"] == "qms_device"
        assert subscribe(conn, f"branch:{tenant.other_branch_id}:display:all")["code"] == "TOPIC_FORBIDDEN"
        assert subscribe(conn, f"branch:{tenant.branch_id}:display:all")["type"] == "subscribed"
        notify(gateway.db_url, {"events": [event(tenant, 20)]})
        assert frames(conn, 1)[0]["seq"] == 20
        # Revoking the device closes its open connection within the recheck interval (2 s in tests).
        admin.post("/rpc/update_device", json={"device_id": device_id, "status": "revoked"})
        reply = json.loads(conn.recv(timeout=10))
        assert reply["type"] == "error" and reply["code"] == "TOKEN_REVOKED"


def test_sse_receives_events_in_order(gateway: Gateway, tenant: Tenant, other: Tenant) -> None:
    token = login(gateway, tenant)["access_token"]
    area = str(uuid.uuid4())
    received: list[dict[str, Any]] = []
    ready = threading.Event()

    def reader() -> None:
        with (
            httpx.Client(timeout=20) as client,
            connect_sse(
                client,
                "GET",
                gateway.url + "/realtime/sse",
                params={"token": token, "topics": f"branch:{tenant.branch_id}:display:{area}"},
            ) as source,
        ):
            for sse in source.iter_sse():
                if sse.event == "subscribed":
                    ready.set()
                elif sse.event == "event":
                    received.append(json.loads(sse.data))
                    if len(received) == 3:
                        return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert ready.wait(10)
    notify(
        gateway.db_url, {"events": [event(tenant, 31, area=area), event(other, 32, area=area), event(tenant, 33)]}
    )  # 33: another area (display:all only)
    notify(gateway.db_url, {"events": [event(tenant, 34, area=area), event(tenant, 35, area=area)]})
    thread.join(10)
    assert [e["seq"] for e in received] == [31, 34, 35]

    forbidden = httpx.get(
        gateway.url + "/realtime/sse", params={"token": token, "topics": f"branch:{other.branch_id}:display:all"}
    )
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "TOPIC_FORBIDDEN"
    anonymous = httpx.get(gateway.url + "/realtime/sse", params={"topics": f"admin:{tenant.tenant_id}"})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "AUTH_REQUIRED"


def test_lost_listen_connection_resyncs_clients(gateway: Gateway, tenant: Tenant) -> None:
    with ws(gateway, login(gateway, tenant)["access_token"]) as conn:
        _resync(gateway, tenant, conn)


def _resync(gateway: Gateway, tenant: Tenant, conn: ClientConnection) -> None:
    subscribe(conn, f"admin:{tenant.tenant_id}")
    notify(gateway.db_url, {"events": [event(tenant, 40)]})
    assert frames(conn, 1)[0]["seq"] == 40
    with psycopg.connect(gateway.db_url, autocommit=True) as su:
        killed = su.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where application_name = 'qms-gateway-listen' and datname = current_database()"
        ).fetchall()
    assert killed == [(True,)]
    assert frames(conn, 1, timeout=20)[0] == {"type": "resync"}
    deadline = time.monotonic() + 10
    while httpx.get(gateway.url + "/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    notify(gateway.db_url, {"events": [event(tenant, 41)]})
    assert frames(conn, 1)[0]["seq"] == 41


def test_slow_client_buffer_is_bounded() -> None:
    client = Client("t", "qms_admin", "s", None, buffer=5)
    for i in range(12):
        client.offer(json.dumps({"seq": i}))
    assert client.queue.qsize() <= 5
    items = [client.queue.get_nowait() for _ in range(client.queue.qsize())]
    assert RESYNC in items and client.dropped >= 1
    # after the resync marker, newer events follow in order
    tail = [json.loads(m)["seq"] for m in items[items.index(RESYNC) + 1 :]]
    assert tail == sorted(tail) and tail[-1] == 11


def test_websocket_frames_are_written_eagerly_and_in_order_when_a_client_is_slow() -> None:
    """Client.offer writes a frame at once when the send does not wait; once a send waits (slow reader), the
    frames after it queue behind it, bounded, and go out in order when the socket drains."""

    async def scenario() -> None:
        sent: list[str] = []
        writable = asyncio.Event()
        writable.set()
        tasks_before = len(asyncio.all_tasks())

        async def send(text: str) -> None:
            await writable.wait()
            sent.append(text)

        client = Client("t", "qms_admin", "s", None, buffer=3, send=send)
        client.offer("a")
        client.offer("b")
        assert sent == ["a", "b"] and len(asyncio.all_tasks()) == tasks_before  # no task per frame
        writable.clear()
        for text in ("c", "d", "e"):
            client.offer(text)
        assert sent == ["a", "b"] and client.queue.qsize() == 2  # c waits in its send, d and e queue
        writable.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert sent == ["a", "b", "c", "d", "e"] and client.queue.empty()
        client.offer("f")
        assert sent[-1] == "f"
        writable.clear()
        for i in range(10):  # a reader that stays slow: the backlog is dropped for one resync marker
            client.offer(str(i))
        assert client.queue.qsize() <= 3 and client.dropped >= 1
        writable.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert sent[6] == "0" and RESYNC in sent and sent[-1] == "9"
        client.close()
        client.offer("after close")
        assert sent[-1] == "9"

    asyncio.run(scenario())
