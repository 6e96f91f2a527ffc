"""Delivery channels: the ways a saved feed's objects reach its subscribers.

TAXII polling (`server.taxii.feeds`), the live stream (`stream`), webhooks (`webhooks`) and
exports (`exports`) today; federation peers later. Each channel is one module that reads
through `server.feeds.service` (so the visibility predicate judges, as the subscriber and
now, everything it delivers), renders for its transport, and declares itself with one
`DeliveryChannel`: the routes it serves and the background work it runs while the
application lives. `server.app` lists the channels once and wires each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from server.web.routes import JsonApiRoutes, RouteTable

Lifetime = Callable[[web.Application], AsyncIterator[None]]


@dataclass(frozen=True, slots=True)
class DeliveryChannel:
    """One way of delivering a feed, as the application wires it."""

    name: str
    # Endpoints it serves: TAXII tables as they are, JSON API ones documented in OpenAPI.
    routes: tuple[RouteTable, ...] = ()
    documented: tuple[JsonApiRoutes, ...] = ()
    # Work it does in the background while the application lives (a cleanup_ctx).
    lifetime: Lifetime | None = None
