"""Per-key rate limits: a token bucket per API key id, in this process.

A key may make `burst` requests at once and `per_s` a second on average; past that it gets
429 with Retry-After (as a TAXII error resource, through the error middleware). Limits are
per process: with N processes or replicas behind a balancer a key gets up to N times as much.
Requests without a key (the public probes, the OpenAPI document) are not limited here: that
is the reverse proxy's job, by address.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from aiohttp import web

from server.config import Settings
from server.web.auth import PRINCIPAL, Handler

# Buckets of keys idle long enough to be full again are forgotten past this many keys.
_PRUNE_ABOVE = 10_000


class RateLimiter:
    """Token buckets keyed by API key id."""

    def __init__(self, per_s: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_s = per_s
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, as of when)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter | None:
        """The configured limiter, or None when ACCORD_RATE_LIMIT_PER_S is 0 (off)."""
        if settings.rate_limit_per_s <= 0:
            return None
        burst = settings.rate_limit_burst or max(1, math.ceil(settings.rate_limit_per_s))
        return cls(settings.rate_limit_per_s, burst)

    def delay(self, key: str) -> float:
        """0 if `key` may make a request now (which takes a token); else seconds to wait."""
        now = self._clock()
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.per_s)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > _PRUNE_ABOVE:
                self._prune(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.per_s

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.per_s
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a key's request with 429 and Retry-After once its bucket is empty."""
    limiter = request.app.get(RATE_LIMITER)
    principal = request.get(PRINCIPAL)
    # After auth: only verified key ids have buckets, so nobody can drain another's.
    if limiter is not None and principal is not None:
        wait = limiter.delay(principal.key_id)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise web.HTTPTooManyRequests(
                text=f"this API key exceeded {limiter.per_s:g} requests per second"
                     f" (burst {limiter.burst:g}); retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
    return await handler(request)
