"""The client's address: the socket peer, or, when the peer is a trusted proxy (QMS_TRUSTED_PROXIES), the
address that proxy reports in ``X-Forwarded-For``. Used by the per-IP rate limit, the login throttle and
the ``x-forwarded-for`` the database reads (audit.log's ip). Without trusted proxies the header is ignored,
so a client cannot choose the address that is limited or recorded."""

from __future__ import annotations

import ipaddress
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers

from gateway.config import IpNetwork

UNKNOWN = "unknown"
MAX_HOPS = 20


def _trusted(address: str, proxies: tuple[IpNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def resolve(peer: str | None, forwarded_for: str | None, proxies: tuple[IpNetwork, ...]) -> str:
    """Walk ``X-Forwarded-For`` from the right (the hop nearest to us) while the hop before it is a trusted
    proxy; the first address not vouched for by a trusted proxy is the client. A hop that is not an IP
    address ends the walk at the last address that was."""
    client = peer or UNKNOWN
    if not forwarded_for or not _trusted(client, proxies):
        return client
    hops = [h.strip() for h in forwarded_for.split(",")][-MAX_HOPS:]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return client
        client = address
        if not _trusted(address, proxies):
            return client
    return client


def of_scope(scope: MutableMapping[str, Any], proxies: tuple[IpNetwork, ...]) -> str:
    """The client address of an HTTP or WebSocket scope, resolved once and kept in the request state."""
    state: dict[str, Any] = scope.setdefault("state", {})
    cached = state.get("client_ip")
    if isinstance(cached, str):
        return cached
    peer = scope.get("client")
    forwarded = Headers(scope=scope).get("x-forwarded-for") if proxies else None
    address = resolve(peer[0] if peer else None, forwarded, proxies)
    state["client_ip"] = address
    return address
