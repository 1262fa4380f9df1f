"""Helpers of the browser tests: a branch floor seeded through the gateway's own API (services, counters, an area,
kiosk and display devices with their tokens, users with passwords) and screenshots at three sizes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Frame, Page

from tests.gateway.gwkit import PASSWORD, Gateway, Tenant, login, make_tenant

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SIZES = {"phone": (390, 844), "tablet": (820, 1180), "1080p": (1920, 1080)}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@dataclass
class Floor:
    """One tenant's branch ready for the apps: ids by name, tokens by role or device kind."""

    gw: Gateway
    tenant: Tenant
    branch_id: str
    area_id: str
    services: dict[str, str] = field(default_factory=dict)  # name -> service_id
    counters: dict[str, str] = field(default_factory=dict)  # name -> counter_id
    devices: dict[str, str] = field(default_factory=dict)  # kind -> device_id
    device_tokens: dict[str, str] = field(default_factory=dict)  # kind -> device token
    tokens: dict[str, str] = field(default_factory=dict)  # role -> access token (logged in on first use)
    password: str = PASSWORD

    def token(self, role: str) -> str:
        if role not in self.tokens:
            self.tokens[role] = str(login(self.gw, self.tenant, role)["access_token"])
        return self.tokens[role]

    def api(self, role: str = "admin") -> httpx.Client:
        return self.gw.client(self.token(role))

    def rpc(self, fn: str, role: str = "admin", **args: Any) -> Any:
        with self.api(role) as c:
            r = c.post(f"/rpc/{fn}", json=args)
        assert r.status_code < 300, f"{fn}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def email(self, role: str) -> str:
        return self.tenant.emails[self.tenant.users[role]]

    def app_url(self, app: str, fragment: str = "") -> str:
        return f"{self.gw.url}/apps/{app}/" + (f"#{fragment}" if fragment else "")

    def device_url(self, kind: str) -> str:
        return self.app_url(kind, f"token={self.device_tokens[kind]}")

    def set_device_config(self, kind: str, config: dict[str, Any]) -> None:
        self.rpc("update_device", device_id=self.devices[kind], config=config)


def seed_floor(
    gw: Gateway, services: tuple[tuple[str, str], ...] = (("Teller", "A"), ("Customer Service", "B"))
) -> Floor:
    """A fresh tenant (admin, agent, supervisor with PASSWORD) whose main branch has an area, the given services,
    one counter per service plus one serving all of them, and an active kiosk and display with tokens."""
    t = make_tenant(gw.db_url)
    floor = Floor(gw, t, t.branch_id, "")
    floor.area_id = str(floor.rpc("create_area", branch_id=t.branch_id, name="Hall")["area_id"])
    for name, prefix in services:
        svc = floor.rpc("create_service", branch_id=t.branch_id, name=name, prefix=prefix, area_id=floor.area_id)
        floor.services[name] = str(svc["service_id"])
    for i, sid in enumerate(floor.services.values(), start=1):
        counter = floor.rpc(
            "create_counter", branch_id=t.branch_id, name=f"Loket {i}", service_ids=[sid], area_id=floor.area_id
        )
        floor.counters[f"Loket {i}"] = str(counter["counter_id"])
    all_ids = list(floor.services.values())
    last = f"Loket {len(all_ids) + 1}"
    floor.counters[last] = str(
        floor.rpc("create_counter", branch_id=t.branch_id, name=last, service_ids=all_ids, area_id=floor.area_id)[
            "counter_id"
        ]
    )
    for kind in ("kiosk", "display"):
        dev = floor.rpc("create_device", branch_id=t.branch_id, kind=kind, name=f"{kind}-1", area_id=floor.area_id)
        device_id = str(dev["device_id"])
        floor.rpc("update_device", device_id=device_id, status="active")
        floor.devices[kind] = device_id
        with floor.api() as c:
            r = c.post(f"/api/devices/{device_id}/token")
        assert r.status_code == 200, r.text
        floor.device_tokens[kind] = str(r.json()["token"])
    return floor


def screenshots(page: Page, name: str) -> list[Path]:
    """Full-page PNGs of the page at phone, tablet and 1080p sizes; the viewport is restored afterwards."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    paths = []
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    if before:
        page.set_viewport_size(before)
    return paths


_QR_PIXELS = """async (sel) => {
    const svg = document.querySelector(sel);
    const xml = new XMLSerializer().serializeToString(svg);
    const img = new Image();
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(xml);
    await img.decode();
    const size = 400, c = document.createElement('canvas');
    c.width = size; c.height = size;
    const g = c.getContext('2d');
    g.fillStyle = '#fff'; g.fillRect(0, 0, size, size);
    g.drawImage(img, 0, 0, size, size);
    const d = g.getImageData(0, 0, size, size).data;
    const grey = new Array(size * size);
    for (let i = 0; i < size * size; i++) grey[i] = d[i * 4];
    return grey;
}"""


def decode_qr(page: Page | Frame, selector: str) -> list[str]:
    """The texts of the QR codes in the SVG element at selector, rendered by the browser and read by zxing-cpp."""
    import zxingcpp

    grey = page.evaluate(_QR_PIXELS, selector)
    size = int(len(grey) ** 0.5)
    image = memoryview(bytes(grey)).cast("B", (size, size))
    return [r.text for r in zxingcpp.read_barcodes(image)]
