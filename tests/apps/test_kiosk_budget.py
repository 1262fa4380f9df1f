"""Budgets of the kiosk and the status page in a real Chromium: JS + CSS bytes actually loaded (kiosk ≤ 150 KB,
public page ≤ 60 KB, uncompressed) and the first render within 1 s with the CPU throttled 6x."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from tests.apps.floorkit import Floor
from tests.apps.test_kiosk_print import kiosk_ticket

pytestmark = pytest.mark.browser


def _load(context: BrowserContext, page: Page, url: str, ready: str) -> tuple[int, float]:
    """Bytes of JS and CSS loaded, and ms from navigation start until the app's first render, at 6x CPU throttling."""
    sizes: dict[str, int] = {}

    def count(response: Response) -> None:
        kind = response.request.resource_type
        if kind in ("script", "stylesheet"):
            sizes[response.url] = len(response.body())

    page.on("response", count)
    page.goto(url)  # a device is paired and its app cached once; then it is reloaded as on a cheap box
    expect(page.locator(ready).first).to_be_visible()
    page.remove_listener("response", count)
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 6})
    page.reload()
    expect(page.locator(ready).first).to_be_visible()
    # The app marks its first complete render (performance.mark('qms-first-render')); ms from navigation start.
    ms = page.evaluate("performance.getEntriesByName('qms-first-render')[0].startTime")
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    return sum(sizes.values()), float(ms)


def test_kiosk_weight_and_first_render(context: BrowserContext, page: Page, floor: Floor) -> None:
    weight, ms = _load(context, page, floor.device_url("kiosk"), "#lang-choice button")
    assert weight <= 150 * 1024, weight
    assert ms <= 1000, ms


def test_status_page_weight_and_first_render(context: BrowserContext, page: Page, floor: Floor) -> None:
    ticket = kiosk_ticket(floor)
    weight, ms = _load(context, page, floor.gw.url + ticket["status_url"], "#number:not(:empty)")
    assert weight <= 60 * 1024, weight
    assert ms <= 1000, ms
