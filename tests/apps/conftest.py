"""Fixtures of the browser tests: one gateway process on a migrated test database for the session, a fresh
seeded floor (tenant, branch, services, counters, users, kiosk and display devices) per test, and a headless
Debian Chromium driven by Playwright (no browser download: executable_path=/usr/bin/chromium)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from qms.relay import Relay
from qms.testing import TestDatabases
from tests.apps.floorkit import CHROMIUM, CHROMIUM_ARGS, Floor, seed_floor
from tests.gateway.gwkit import Gateway, start_gateway, stop_gateway

SECRET_KEY = "apps-test-secret-key"


@pytest.fixture(scope="session")
def apps_gateway(test_dbs: TestDatabases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The gateway serving /apps, /rpc, /auth and /realtime on a database of its own for the session, with the
    event relay running (in a thread), so realtime clients get the engine's events."""
    with test_dbs.database() as url:
        # QMS_SECRET_KEY: the admin console stores notification provider credentials (encrypted with it).
        gw = start_gateway(url, tmp_path_factory.mktemp("apps-gw"), QMS_SECRET_KEY=SECRET_KEY)
        relay = Relay(url)
        thread = threading.Thread(target=relay.run, name="apps-relay", daemon=True)
        thread.start()
        try:
            yield gw
        finally:
            relay.stop()
            thread.join(10)
            stop_gateway(gw)


@pytest.fixture
def floor(apps_gateway: Gateway) -> Floor:
    return seed_floor(apps_gateway)


# Module scope, not session: while Playwright's sync API is open its event loop counts as running in this thread,
# so a later test of another suite in the same xdist worker could not call asyncio.run().
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian package chromium)")
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test (its own localStorage), 1080p by default."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="id-ID")
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    assert not errors, f"uncaught errors in the page: {errors}"
