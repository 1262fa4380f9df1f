"""In-memory token buckets (per process): per client IP and per tenant, ``limit`` requests per minute with
bursts up to ``limit``. 0 disables a scope."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

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
