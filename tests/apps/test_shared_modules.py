"""The shared modules in a real Chromium against the real gateway: request ids, structured errors, device
bootstrap, and the realtime client's transports (WebSocket, SSE when WebSocket is blocked, polling)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page

from tests.apps.floorkit import Floor

pytestmark = pytest.mark.browser

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _blank(page: Page, floor: Floor) -> None:
    page.goto(floor.gw.url + "/apps/shared/README.md")


def test_command_sends_a_fresh_request_id_and_errors_are_structured(page: Page, floor: Floor) -> None:
    _blank(page, floor)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if "/rpc/create_ticket" in r.url else None)
    result = page.evaluate(
        """async ([token, sid]) => {
            const m = await import('/apps/shared/api.js');
            const api = m.createApi({app: 'probe'});
            api.useToken(token);
            const a = await api.command('create_ticket', {service_id: sid, channel: 'kiosk'});
            const b = await api.command('create_ticket', {service_id: sid, channel: 'kiosk'});
            let err = null;
            try { await api.command('create_ticket', {service_id: '00000000-0000-4000-8000-000000000000'}); }
            catch (e) { err = {status: e.status, code: e.code, message: e.message, hint: e.hint, name: e.name}; }
            const ids = Array.from({length: 200}, () => m.uuid4());
            return {a: a.ticket_number, b: b.ticket_number, err, ids};
        }""",
        [floor.device_tokens["kiosk"], floor.services["Teller"]],
    )
    assert result["a"] == "A-001" and result["b"] == "A-002"
    assert result["err"]["status"] == 404 and result["err"]["code"] == "SERVICE_NOT_FOUND"
    assert result["err"]["name"] == "ApiError" and result["err"]["hint"]
    assert all(UUID4.match(i) for i in result["ids"]) and len(set(result["ids"])) == 200
    ids = [json.loads(body)["request_id"] for body in sent]
    assert len(ids) == 3 and len(set(ids)) == 3 and all(UUID4.match(i) for i in ids)


def test_unreachable_gateway_is_status_zero(page: Page, floor: Floor) -> None:
    _blank(page, floor)
    page.route("**/rpc/**", lambda route: route.abort())
    err = page.evaluate(
        """async () => {
            const m = await import('/apps/shared/api.js');
            try { await m.createApi({app: null}).read('get_public_ticket', {}); }
            catch (e) { return {status: e.status, code: e.code, offline: e.offline}; }
        }"""
    )
    assert err == {"status": 0, "code": "NETWORK", "offline": True}


def test_device_token_is_taken_from_the_url_and_removed_from_it(page: Page, floor: Floor) -> None:
    page.goto(floor.gw.url + "/apps/shared/README.md#token=" + floor.device_tokens["display"] + "&x=1")
    out = page.evaluate(
        """async () => {
            const api = (await import('/apps/shared/api.js')).createApi({app: 'display'});
            const tok = (await import('/apps/shared/device.js')).bootstrapDevice(api);
            return {tok, hash: location.hash, stored: api.store.accessToken, kind: api.store.claims.kind};
        }"""
    )
    assert out["tok"] == floor.device_tokens["display"] == out["stored"]
    assert out["hash"] == "#x=1" and out["kind"] == "display"


REALTIME_PROBE = """async ([token, topics, transports]) => {
    const rt = await import('/apps/shared/realtime.js');
    window.__events = []; window.__resyncs = []; window.__status = [];
    window.__rt = rt.connect({
        token: () => token, topics, transports,
        onEvent: (e) => window.__events.push(e),
        resync: (why) => { window.__resyncs.push(why); return Promise.resolve(); },
        onStatus: (s, t) => window.__status.push(s + ':' + t),
        pollMs: 500,
    });
}"""


@pytest.mark.parametrize("blocked,transport", [(None, "ws"), ("ws", "sse"), ("both", "poll")])
def test_realtime_transports(page: Page, floor: Floor, blocked: str | None, transport: str) -> None:
    _blank(page, floor)
    if blocked:
        # The WebSocket cannot be routed by Playwright: point it at a closed port instead.
        page.add_init_script("window.WebSocket = function () { throw new Error('blocked'); };")
        _blank(page, floor)
    if blocked == "both":
        page.route("**/realtime/sse**", lambda route: route.abort())
    topic = f"branch:{floor.branch_id}:display:all"
    page.evaluate(REALTIME_PROBE, [floor.device_tokens["display"], [topic], ["ws", "sse", "poll"]])
    page.wait_for_function(f"window.__rt.state === 'live' && window.__rt.transport === '{transport}'", timeout=15000)
    assert "connected" in page.evaluate("window.__resyncs") or transport == "poll"
    floor.rpc("create_ticket", role="agent", service_id=floor.services["Teller"], channel="staff")
    if transport == "poll":
        page.wait_for_function("window.__resyncs.filter(r => r === 'poll').length >= 3")
    else:
        page.wait_for_function("window.__events.some(e => e.type === 'ticket.created')", timeout=10000)
        event = page.evaluate("window.__events.find(e => e.type === 'ticket.created')")
        assert event["payload"]["ticket_number"] == "A-001" and isinstance(event["seq"], int)
    page.evaluate("window.__rt.stop()")


WATCHDOG_PROBE = """async (healthy) => {
    // A WebSocket that opens and then stays silent: the frozen connection of a board left running for days.
    window.WebSocket = function () {
        const ws = {readyState: 1, send: (m) => {
            const msg = JSON.parse(m);
            if (msg.action === 'auth') setTimeout(() => ws.onmessage({data: '{"type":"welcome"}'}), 0);
            if (msg.action === 'subscribe') setTimeout(() => ws.onmessage({data: '{"type":"subscribed"}'}), 0);
        }, close: () => {}};
        setTimeout(() => ws.onopen(), 0);
        return ws;
    };
    window.__stale = 0;
    const rt = await import('/apps/shared/realtime.js');
    window.__rt = rt.connect({token: () => 'x', topics: ['t'], transports: ['ws'], onEvent: () => {},
        resync: () => Promise.resolve(), watchdogMs: 600, onStale: () => { window.__stale += 1; }});
}"""


@pytest.mark.parametrize("healthy", [True, False])
def test_watchdog_reloads_a_silent_board_only_when_the_gateway_answers(page: Page, floor: Floor, healthy: bool) -> None:
    _blank(page, floor)
    if not healthy:
        page.route("**/healthz", lambda route: route.abort())
    page.evaluate(WATCHDOG_PROBE, healthy)
    page.wait_for_function("window.__rt.state === 'live'")
    if healthy:
        page.wait_for_function("window.__stale >= 1", timeout=10000)
    else:
        page.wait_for_function("window.__rt.state === 'offline'", timeout=10000)
        assert page.evaluate("window.__stale") == 0
    page.evaluate("window.__rt.stop()")


def test_every_language_file_has_the_same_keys(page: Page, floor: Floor) -> None:
    _blank(page, floor)
    diff = page.evaluate(
        """async () => {
            const id = (await import('/apps/shared/i18n/id.js')).default;
            const en = (await import('/apps/shared/i18n/en.js')).default;
            return {only_id: Object.keys(id).filter(k => !(k in en)), only_en: Object.keys(en).filter(k => !(k in id)),
                    empty: Object.keys(id).concat(Object.keys(en)).filter(k => !id[k] || !en[k])};
        }"""
    )
    assert diff == {"only_id": [], "only_en": [], "empty": []}
