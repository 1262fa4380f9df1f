"""The branch-floor apps in a real browser: call -> pixel on the display, page weight, first render at 6x CPU.

    uv run python -m bench.apps               # 200 calls, 5 loads per app (~2 min)
    uv run python -m bench.apps --calls 50    # shorter

One throwaway cluster (qms.pg.Cluster + qms.testing.TestDatabases), one gateway process and the event relay
(``python -m qms.relay``), a floor seeded through the API as the browser tests do (tests/apps/floorkit.py), and
Debian's Chromium driven by Playwright (headless, the flags of the tests).

* **call -> pixel**: the display board is open (sound off in its device configuration); for each call the
  benchmark notes the wall clock, sends ``call_next`` over HTTP as the agent app does, and waits until the
  board has painted the ticket: ``painted_at`` is ``Date.now()`` in the page at the second animation frame
  after the DOM changed (window.qmsDisplay.paints), so the figure covers the HTTP call, the commit, the relay,
  the WebSocket frame, the DOM update and the frame. Between calls the ticket is started and completed.
  Reported p50/p99, also split at the event's arrival in the page.
* **page weight**: bytes of every script and stylesheet the app loads (uncompressed, audio aside).
* **first render at 6x CPU**: ``Emulation.setCPUThrottlingRate`` 6, reload, ms from navigation start to the
  app's ``performance.mark('qms-first-render')``; median of 5 reloads (a device is opened once and reloaded,
  as a box that restarts; the admin console and the live floor are signed in once, as the supervisor, and
  reloaded with the stored session; the public join page from the branch's link).
Results are printed and written between markers into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Response, sync_playwright

from bench.run import _percentile, machine_info
from qms.pg import Cluster, find_bin_dir, free_port
from qms.testing import TestDatabases
from tests.apps.floorkit import CHROMIUM, CHROMIUM_ARGS, Floor, seed_floor
from tests.gateway.gwkit import start_gateway, stop_gateway

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- apps-results:start -->", "<!-- apps-results:end -->"


def call_to_pixel(page: Page, floor: Floor, calls: int) -> list[tuple[float, float]]:
    """[(ms call sent -> event in the page, ms call sent -> painted)] for each call."""
    counter = floor.counters["Loket 1"]
    floor.rpc("set_counter_status", role="agent", counter_id=counter, status="available")
    for _ in range(calls):
        floor.rpc("create_ticket", service_id=floor.services["Teller"], role="agent")
    page.goto(floor.device_url("display"))
    page.wait_for_function("window.qmsDisplay && window.qmsDisplay.transport === 'ws'")
    out = []
    with floor.api("agent") as http:
        for _ in range(calls):
            sent = time.time() * 1000
            r = http.post("/rpc/call_next", json={"counter_id": counter, "request_id": str(uuid.uuid4())})
            ticket = r.json()["ticket"]
            find = (
                "window.qmsDisplay.paints.find(p => p.type === 'ticket.called' && p.painted_at"
                f" && p.ticket_number === {json.dumps(ticket['ticket_number'])})"
            )
            page.wait_for_function(find)
            paint = page.evaluate(find)
            out.append((paint["received_at"] - sent, paint["painted_at"] - sent))
            for action in ("start", "complete"):
                http.post(
                    "/rpc/ticket_action",
                    json={"ticket_id": ticket["ticket_id"], "action": action, "counter_id": counter},
                )
    return out


def staff_login(floor: Floor, role: str) -> Callable[[Page], None]:
    """Sign in on the staff login form of the admin console or the live floor (the session is then stored)."""

    def sign_in(page: Page) -> None:
        page.fill("#tenant", floor.tenant.slug)
        page.fill("#email", floor.email(role))
        page.fill("#password", floor.password)
        page.click("#login-btn")

    return sign_in


def load(
    context: BrowserContext, url: str, ready: str, runs: int, prepare: Callable[[Page], None] | None = None
) -> tuple[int, list[float]]:
    """(JS + CSS bytes, [ms to the first render at 6x CPU] per reload); prepare runs once after the first load."""
    page = context.new_page()
    sizes: dict[str, int] = {}

    def count(response: Response) -> None:
        if response.request.resource_type in ("script", "stylesheet"):
            sizes[response.url] = len(response.body())

    page.on("response", count)
    page.goto(url)
    if prepare is not None:
        prepare(page)
    page.locator(ready).first.wait_for()
    page.remove_listener("response", count)
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 6})
    times = []
    for _ in range(runs):
        page.reload()
        page.locator(ready).first.wait_for()
        page.wait_for_function("performance.getEntriesByName('qms-first-render').length > 0")
        times.append(float(page.evaluate("performance.getEntriesByName('qms-first-render')[0].startTime")))
    page.close()
    return sum(sizes.values()), times


def chromium_version() -> str:
    return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def write_doc(body: str) -> None:
    old = DOC.read_text()
    if BEGIN not in old or END not in old:
        old = old.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    pre, rest = old.split(BEGIN, 1)
    post = rest.split(END, 1)[1]
    DOC.write_text(f"{pre}{BEGIN}\n{body}{END}{post}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--loads", type=int, default=5, help="reloads per app at 6x CPU")
    ap.add_argument("--no-doc", action="store_true", help="print only, do not update docs/benchmarks.md")
    args = ap.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="qms-appsbench-"))
    cluster = Cluster(base, bin_dir=find_bin_dir())
    cluster.init(port=free_port(56700))
    load_start = os.getloadavg()
    relay = gw = None
    try:
        cluster.start()
        dbs = TestDatabases(cluster, with_pgtap=False)
        dbs.build_template()
        url = dbs.clone()
        facts = machine_info(url)
        relay = subprocess.Popen([sys.executable, "-m", "qms.relay", "--database-url", url], cwd=ROOT)
        gw = start_gateway(url, base)
        floor = seed_floor(gw)
        floor.set_device_config("display", {"sound": False})
        ticket = floor.rpc("create_ticket", service_id=floor.services["Customer Service"], role="agent")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="id-ID")
            context.set_default_timeout(20_000)
            page = context.new_page()
            timings = call_to_pixel(page, floor, args.calls)
            page.close()
            floor.rpc("update_branch", branch_id=floor.branch_id, code="main")
            supervisor = staff_login(floor, "supervisor")
            apps: dict[str, tuple[str, str, Callable[[Page], None] | None]] = {
                "display": (floor.device_url("display"), "#board", None),
                "agent": (floor.app_url("agent"), "#login-form", None),
                "kiosk": (floor.device_url("kiosk"), "#lang-choice button", None),
                "public": (floor.gw.url + ticket["status_url"], "#number:not(:empty)", None),
                "public join": (floor.app_url("public", f"b={floor.tenant.slug}.main"), "#join-services li", None),
                "admin": (floor.app_url("admin", "branches"), "#content table.grid", supervisor),
                "live": (floor.app_url("live"), "#services table.grid", supervisor),
            }
            loads = {name: load(context, u, ready, args.loads, prep) for name, (u, ready, prep) in apps.items()}
            browser.close()
        load_end = os.getloadavg()
    finally:
        if gw is not None:
            stop_gateway(gw)
        if relay is not None:
            relay.terminate()
            relay.wait(10)
        cluster.stop()
    event = [t[0] for t in timings]
    pixel = [t[1] for t in timings]
    lines = [
        f"Run `{' '.join(['python -m bench.apps', *(argv if argv is not None else sys.argv[1:])])}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {facts['cpu']}, {facts['memory']}, {facts['os']}, "
        f"{chromium_version()} (headless), Python {platform.python_version()}, {facts['postgres'].split(',')[0]}. "
        f"Load average {load_start[0]:.1f} before, {load_end[0]:.1f} after (other work shared the machine).",
        "",
        f"**Call -> pixel** on the display board, {len(pixel)} calls (ms, from `call_next` sent to the painted frame):",
        "",
        "| | p50 | p90 | p99 | max |",
        "|---|---|---|---|---|",
    ]
    for label, values in (("event in the page", event), ("painted", pixel)):
        lines.append(
            f"| {label} | {_percentile(values, 0.5):.0f} | {_percentile(values, 0.9):.0f} |"
            f" {_percentile(values, 0.99):.0f} | {max(values):.0f} |"
        )
    lines += [
        "",
        f"**Page weight and first render at 6x CPU throttling** (median of {args.loads} reloads; JS + CSS bytes,"
        " uncompressed, audio aside):",
        "",
        "| app | JS + CSS | first render (median) | slowest |",
        "|---|---|---|---|",
    ]
    for name, (weight, times) in loads.items():
        lines.append(f"| {name} | {weight / 1024:.1f} KiB | {statistics.median(times):.0f} ms | {max(times):.0f} ms |")
    body = "\n".join(lines) + "\n"
    print(body)
    if not args.no_doc:
        write_doc(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
