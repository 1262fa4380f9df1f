"""Realtime fan-out: one LISTEN connection per process on ``qms_events`` behind broadcaster's interface,
routed to topics with per-client bounded buffers.

- ``PsycopgListenBackend`` is a broadcaster backend on psycopg 3 that notices a lost connection (a probe
  every few seconds), reconnects with backoff, and then emits a ``resync`` marker on each channel.
- ``Hub`` consumes the channel through ``broadcaster.Broadcast.subscribe`` (one subscriber), parses each
  batch ``{"events": [...]}`` and offers each event to the clients subscribed to one of its topics, within
  the event's tenant and the client's branch scope. Events are routed by one task, so each client sees
  them in seq order. A client whose buffer is full has it dropped and gets ``{"type": "resync"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from broadcaster import Broadcast, Event
from broadcaster._backends.base import BroadcastBackend
from psycopg import AsyncConnection, sql

from gateway import metrics

log = logging.getLogger("gateway.realtime")

CHANNEL = "qms_events"
RESYNC = json.dumps({"type": "resync"})
PROBE_SECONDS = 5.0
MAX_BACKOFF = 5.0
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
TOPIC = re.compile(
    rf"^(?:branch:(?P<branch>{UUID}):(?:display:(?P<area>{UUID}|all)|service:(?P<service>{UUID}))"
    rf"|counter:(?P<counter>{UUID})|admin:(?P<tenant>{UUID}))$"
)
TENANT_WIDE_ROLES = frozenset({"qms_admin", "qms_analyst", "qms_worker"})
ADMIN_TOPIC_ROLES = frozenset({"qms_admin", "qms_supervisor"})


class PsycopgListenBackend(BroadcastBackend):
    """LISTEN on a psycopg 3 connection that reconnects; emits ``RESYNC`` on each channel after a reconnect."""

    def __init__(self, url: str, channels: tuple[str, ...] = (CHANNEL,), application_name: str = "qms-gateway-listen"):
        self._url = url
        self._channels = set(channels)
        self._application_name = application_name
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection[Any] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0

    async def connect(self) -> None:
        self._task = asyncio.create_task(self._run(), name="qms-listen")
        # Do not block startup for long when the database is down: /readyz reports it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), timeout=10)

    async def disconnect(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    async def subscribe(self, channel: str) -> None:
        # Channels are listened to on every (re)connect; a new one is picked up at the next probe.
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, message: Any) -> None:
        async with await AsyncConnection.connect(self._url, autocommit=True) as conn:
            await conn.execute("select pg_notify(%s, %s)", (channel, str(message)))

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def _listen_all(self, conn: AsyncConnection[Any], listening: set[str]) -> None:
        for channel in sorted(self._channels - listening):
            await conn.execute(sql.SQL("listen {}").format(sql.Identifier(channel)))
            listening.add(channel)

    async def _run(self) -> None:
        backoff = 0.1
        first = True
        while True:
            try:
                conn = await AsyncConnection.connect(
                    self._url, autocommit=True, application_name=self._application_name
                )
                self._conn = conn
                async with conn:
                    listening: set[str] = set()
                    await self._listen_all(conn, listening)
                    self.connected.set()
                    metrics.LISTEN_UP.set(1)
                    backoff = 0.1
                    if not first:
                        self.reconnects += 1
                        log.warning("LISTEN connection restored; clients must resync")
                        for channel in listening:
                            self._queue.put_nowait(Event(channel, RESYNC))
                    first = False
                    while True:
                        async for note in conn.notifies(timeout=PROBE_SECONDS):
                            self._queue.put_nowait(Event(note.channel, note.payload))
                        await conn.execute("select 1")  # a dead connection fails here
                        await self._listen_all(conn, listening)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                if self.connected.is_set():
                    log.warning("LISTEN connection lost: %s", type(exc).__name__)
                self.connected.clear()
                metrics.LISTEN_UP.set(0)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)


SendText = Callable[[str], Coroutine[Any, Any, None]]


@dataclass(eq=False)
class Client:
    """One WebSocket or SSE connection: identity, scope, topics and a bounded outbox.

    A WebSocket client has ``send`` (its ASGI send of one text frame) and gets each frame written from
    :meth:`offer` itself, eagerly, as Python 3.12's eager tasks would: the send coroutine is stepped once
    and, as it does not suspend while the socket takes data, the frame is out without a task switch per
    client. A send that has to wait (the client reads slowly) is finished by one task, and later frames
    queue behind it in order. SSE clients (no ``send``) are read from ``queue`` by their stream."""

    tenant_id: str
    role: str
    sub: str
    branch_ids: frozenset[str] | None
    buffer: int = 1000
    topics: set[str] = field(default_factory=set)
    queue: asyncio.Queue[str] = field(init=False)
    dropped: int = 0
    send: SendText | None = None
    broken: asyncio.Event = field(default_factory=asyncio.Event)
    _flusher: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.buffer)

    @classmethod
    def from_claims(cls, claims: dict[str, Any], buffer: int, send: SendText | None = None) -> Client:
        branches = claims.get("branch_ids")
        scope = frozenset(str(b).lower() for b in branches) if isinstance(branches, list) else None
        return cls(
            str(claims.get("tenant_id", "")).lower(),
            str(claims.get("role")),
            str(claims.get("sub")),
            scope,
            buffer,
            send=send,
        )

    def sees_branch(self, branch_id: str | None) -> bool:
        if self.branch_ids is None:
            return self.role in TENANT_WIDE_ROLES
        return branch_id is not None and branch_id.lower() in self.branch_ids

    def offer(self, message: str) -> None:
        """Send (WebSocket) or queue a message; a full buffer is dropped and replaced by a resync."""
        if self.broken.is_set():
            return
        if self.send is not None and self._flusher is None:
            coro = self.send(message)
            try:
                waiting = coro.send(None)
            except StopIteration:
                return
            except Exception:
                self.broken.set()
                return
            self._flusher = asyncio.get_running_loop().create_task(self._flush(coro, waiting))
            return
        self._enqueue(message)

    def _enqueue(self, message: str) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.dropped += 1
            metrics.REALTIME_OVERFLOWS.inc()
            self.queue.put_nowait(RESYNC)

    async def _flush(self, coro: Coroutine[Any, Any, None], waiting: Any) -> None:
        """Finish a send that had to wait (await what it waits for, then step it on), then the backlog."""
        assert self.send is not None
        try:
            while True:
                if waiting is None:  # a bare yield (asyncio.sleep(0)): just let the loop run
                    await asyncio.sleep(0)
                else:
                    await waiting
                try:
                    waiting = coro.send(None)
                except StopIteration:
                    break
            while not self.queue.empty():
                await self.send(self.queue.get_nowait())
        except asyncio.CancelledError:
            coro.close()
            raise
        except Exception:
            self.broken.set()
        finally:
            self._flusher = None

    def close(self) -> None:
        """Stop sending (the connection is going away)."""
        self.broken.set()
        if self._flusher is not None:
            self._flusher.cancel()


def topic_error(client: Client, topic: str) -> str | None:
    """Why ``client`` may not subscribe to ``topic`` (None when it may), without database lookups.
    ``counter:`` topics also need ``counter_visible`` (the counter's branch is in the database)."""
    m = TOPIC.match(topic)
    if m is None:
        return "INVALID_TOPIC"
    if m["tenant"]:
        ok = m["tenant"].lower() == client.tenant_id and client.role in ADMIN_TOPIC_ROLES
        return None if ok else "TOPIC_FORBIDDEN"
    if m["branch"]:
        return None if client.sees_branch(m["branch"]) else "TOPIC_FORBIDDEN"
    return None if client.role != "qms_device" else "TOPIC_FORBIDDEN"


def topics_of(event: dict[str, Any]) -> list[str]:
    branch = event.get("branch_id")
    payload = event.get("payload") or {}
    topics: list[str] = []
    if branch:
        topics.append(f"branch:{branch}:display:all")
        # The boards of the area that shows the ticket now and of the one that showed it before this event
        # (which must drop it): the area rule is qms.display_area_id, applied by the relay.
        for area in dict.fromkeys((payload.get("display_area_id"), payload.get("prev_display_area_id"))):
            if area:
                topics.append(f"branch:{branch}:display:{area}")
        if payload.get("service_id"):
            topics.append(f"branch:{branch}:service:{payload['service_id']}")
    if payload.get("counter_id"):
        topics.append(f"counter:{payload['counter_id']}")
    if event.get("tenant_id"):
        topics.append(f"admin:{event['tenant_id']}")
    return [t.lower() for t in topics]


class Hub:
    def __init__(self, broadcast: Broadcast, backend: PsycopgListenBackend) -> None:
        self.broadcast = broadcast
        self.backend = backend
        self.clients: set[Client] = set()
        self.by_topic: dict[str, set[Client]] = {}
        self.last_seq: int | None = None
        self.last_event_ts: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.broadcast.connect()
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._consume(ready), name="qms-hub")
        await ready.wait()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self.broadcast.disconnect()

    @property
    def alive(self) -> bool:
        return self.backend.connected.is_set() and self._task is not None and not self._task.done()

    def register(self, client: Client) -> None:
        self.clients.add(client)
        metrics.REALTIME_CLIENTS.set(len(self.clients))

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)
        for topic in client.topics:
            subs = self.by_topic.get(topic)
            if subs is not None:
                subs.discard(client)
                if not subs:
                    del self.by_topic[topic]
        client.topics.clear()
        metrics.REALTIME_CLIENTS.set(len(self.clients))

    def subscribe(self, client: Client, topics: list[str]) -> None:
        for topic in topics:
            key = topic.lower()
            client.topics.add(key)
            self.by_topic.setdefault(key, set()).add(client)

    def unsubscribe(self, client: Client, topics: list[str]) -> None:
        for topic in topics:
            key = topic.lower()
            client.topics.discard(key)
            subs = self.by_topic.get(key)
            if subs is not None:
                subs.discard(client)
                if not subs:
                    del self.by_topic[key]

    async def _consume(self, ready: asyncio.Event) -> None:
        async with self.broadcast.subscribe(CHANNEL) as subscriber:
            ready.set()
            while True:
                event = await subscriber.get()
                self.handle(event.message)

    def handle(self, message: str) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            log.warning("ignored a notification that is not JSON")
            return
        if not isinstance(data, dict):
            return
        if data.get("type") == "resync":
            for client in list(self.clients):
                client.offer(RESYNC)
            return
        events = data.get("events")
        if not isinstance(events, list):
            events = [data] if "seq" in data else []
        for event in events:
            if isinstance(event, dict):
                self.dispatch(event)

    def dispatch(self, event: dict[str, Any]) -> None:
        tenant = str(event.get("tenant_id", "")).lower()
        branch = event.get("branch_id")
        seq = event.get("seq")
        if isinstance(seq, int):
            self.last_seq = seq
        self.last_event_ts = _epoch(event.get("ts"))
        metrics.REALTIME_EVENTS.inc()
        targets: set[Client] = set()
        for topic in topics_of(event):
            for client in self.by_topic.get(topic, ()):
                if client.tenant_id == tenant and (
                    client.sees_branch(branch) or (branch is None and topic.startswith("admin:"))
                ):
                    targets.add(client)
        if targets:
            text = json.dumps(event, separators=(",", ":"))
            for client in targets:
                client.offer(text)


def _epoch(ts: Any) -> float | None:
    if isinstance(ts, int | float):
        return float(ts)
    if isinstance(ts, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    return time.time()
