"""In-memory token buckets (per process): per client IP and per tenant, ``limit`` requests per minute with
bursts up to ``limit``. 0 disables a scope.

Anonymous joins (``api.join_queue``, the public join page) have their own, tighter buckets on top of the
general ones: per client IP and per branch (the join code), in :class:`JoinLimits`, the one place of that rule."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from gateway import metrics
from gateway.errors import ApiError

MAX_KEYS = 50_000


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.buckets: dict[str, Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the request may pass; otherwise the seconds until it would."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= MAX_KEYS:
                self._prune(now)
            bucket = self.buckets[key] = Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled completely (they behave exactly like new ones)."""
        full_after = self.capacity / self.rate if self.rate else 0.0
        for key in [k for k, b in self.buckets.items() if now - b.updated >= full_after]:
            del self.buckets[key]
        if len(self.buckets) >= MAX_KEYS:
            self.buckets.clear()


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class JoinLimits:
    """Per-IP and per-branch limits of anonymous joins (``/rpc/join_queue``), per minute; 0 disables one."""

    def __init__(self, per_ip: int, per_branch: int) -> None:
        self.per_ip = RateLimiter(per_ip)
        self.per_branch = RateLimiter(per_branch)

    def check(self, ip: str, code: object) -> None:
        """Take one join from the IP's and the branch's buckets; 429 RATE_LIMITED when either is empty."""
        wait, where = self.per_ip.take(ip), "ip"
        if not wait:
            wait, where = self.per_branch.take(str(code).strip().lower()), "branch"
        if not wait:
            return
        metrics.RATE_LIMITED.labels(f"join_{where}").inc()
        raise ApiError(
            429,
            "RATE_LIMITED",
            f"too many joins (per {where})",
            hint="Wait a moment and try again.",
            details={"scope": f"join_{where}"},
            headers={"Retry-After": retry_after(wait)},
        )
