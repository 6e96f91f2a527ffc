"""Prometheus metrics of one process, exposed at /metrics (text exposition format).

Everything is observed from outside the request paths it measures: a middleware counts
requests and reads the ingest status resource's counts, a response-prepare hook counts open
event streams and the age of the events they send, and the pool and the webhook outbox are
read when Prometheus scrapes. Figures are per process, except the webhook outbox, which is
the deployment's (it lives in PostgreSQL).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from datetime import UTC, datetime

import asyncpg
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from server.config import SETTINGS
from server.db.pool import POOL
from server.errors import Forbidden
from server.store.peers import PeerStats, peer_stats
from server.store.webhook_outcomes import webhook_outcomes
from server.web.apis import OPERATIONS_API, RouteTable
from server.web.auth import Handler, principal_for, public
from server.web.middleware import route_template

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
# Status of a request whose client went away before the answer (nginx's convention).
_CLIENT_CLOSED = 499

routes = RouteTable(OPERATIONS_API)
# (successes, failures) of a POST objects, set by its handler for the metrics middleware.
INGESTED = web.RequestKey("ingested", tuple)


class Metrics:
    """The process's metrics, in a registry of its own (one per application, no globals)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.requests = Counter(
            "accord_http_requests", "HTTP requests by method, route template and status.",
            ["method", "route", "status"], registry=r)
        self.latency = Histogram(
            "accord_http_request_duration_seconds",
            "Time to answer a request (event streams excluded), by method and route template.",
            ["method", "route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.ingest_objects = Counter(
            "accord_ingest_objects", "Objects posted, by outcome in the status resource.",
            ["outcome"], registry=r)
        self.ingest_latency = Histogram(
            "accord_ingest_duration_seconds", "Time to accept one POSTed envelope (202 only).",
            buckets=_LATENCY_BUCKETS, registry=r)
        self.stream_subscribers = Gauge(
            "accord_feed_stream_subscribers", "Event streams open on this process.",
            registry=r)
        self.stream_lag = Histogram(
            "accord_feed_stream_lag_seconds",
            "Age of each event batch when written to a subscriber (commit to send).",
            buckets=_LAG_BUCKETS, registry=r)
        self.pool_size = Gauge(
            "accord_db_pool_connections", "Connections open in the database pool.", registry=r)
        self.pool_idle = Gauge(
            "accord_db_pool_idle_connections", "Open pool connections not in use.", registry=r)
        self.pool_max = Gauge(
            "accord_db_pool_max_connections", "Largest size of the database pool.", registry=r)
        self.webhook_deliveries = Gauge(
            "accord_webhook_deliveries",
            "Webhook batches in the outbox by state (whole deployment).", ["state"], registry=r)
        self.webhook_attempts = Gauge(
            "accord_webhook_attempts",
            "Delivery attempts made for the batches in each state (whole deployment).",
            ["state"], registry=r)
        self.webhook_oldest_pending = Gauge(
            "accord_webhook_oldest_pending_seconds",
            "How long the oldest pending webhook batch has waited.", registry=r)
        # Federation, per peer (whole deployment; read from the agreements at each scrape).
        self.peer_objects = Gauge(
            "accord_peer_objects", "Objects stored from (in) or delivered to (out) a peer.",
            ["peer", "direction"], registry=r)
        self.peer_errors = Gauge(
            "accord_peer_errors", "Consecutive failed polls (pull) and failed pending batches"
            " (push) of a peer.", ["peer", "direction"], registry=r)
        self.peer_lag = Gauge(
            "accord_peer_lag_seconds", "Time since a peer was last polled successfully.",
            ["peer"], registry=r)
        self.peer_pending = Gauge(
            "accord_peer_pending_batches", "Push batches waiting for a peer.", ["peer"],
            registry=r)

    def observe_request(self, method: str, route: str, status: int, seconds: float,
                        streamed: bool) -> None:
        """Count one answered request; a stream's duration is its life, not a latency."""
        self.requests.labels(method, route, str(status)).inc()
        if not streamed:
            self.latency.labels(method, route).observe(seconds)

    def observe_ingest(self, successes: int, failures: int, seconds: float) -> None:
        """Count the objects of one POST objects (from the status the ingest path returned)."""
        self.ingest_objects.labels("success").inc(successes)
        self.ingest_objects.labels("failure").inc(failures)
        self.ingest_latency.observe(seconds)

    def _peers(self, stats: list[PeerStats]) -> None:
        for gauge in (self.peer_objects, self.peer_errors, self.peer_lag, self.peer_pending):
            gauge.clear()  # a removed peer's series end with it
        now = datetime.now(UTC)
        for peer in stats:
            self.peer_objects.labels(peer.name, "in").set(peer.objects_in)
            self.peer_objects.labels(peer.name, "out").set(peer.objects_out)
            self.peer_errors.labels(peer.name, "pull").set(peer.pull_errors)
            self.peer_errors.labels(peer.name, "push").set(peer.push_errors)
            self.peer_pending.labels(peer.name).set(peer.pending)
            if peer.last_success is not None:
                self.peer_lag.labels(peer.name).set((now - peer.last_success).total_seconds())

    def stream_opened(self) -> None:
        """An event stream started."""
        self.stream_subscribers.inc()

    def stream_closed(self) -> None:
        """An event stream ended."""
        self.stream_subscribers.dec()

    def stream_sent(self, committed: datetime) -> None:
        """A batch of events went out; the last of them was committed at `committed`."""
        self.stream_lag.observe(max(0.0, (datetime.now(UTC) - committed).total_seconds()))

    async def render(self, pool: asyncpg.Pool) -> bytes:
        """Read the pool and the webhook outbox, then the exposition of every metric."""
        self.pool_size.set(pool.get_size())
        self.pool_idle.set(pool.get_idle_size())
        self.pool_max.set(pool.get_max_size())
        async with pool.acquire() as conn:
            outcomes = await webhook_outcomes(conn)
            stats = await peer_stats(conn)
        for state, count in outcomes.deliveries.items():
            self.webhook_deliveries.labels(state).set(count)
            self.webhook_attempts.labels(state).set(outcomes.attempts[state])
        self.webhook_oldest_pending.set(outcomes.oldest_pending_s)
        self._peers(stats)
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)
@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every request by route template and status, and time it."""
    started = time.perf_counter()
    status = 500
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = _CLIENT_CLOSED
        raise
    finally:
        metrics = request.app[METRICS]
        elapsed = time.perf_counter() - started
        route = route_template(request)
        streamed = response is not None and response.content_type == "text/event-stream"
        metrics.observe_request(request.method, route, status, elapsed, streamed)
        ingested = request.get(INGESTED)
        if ingested is not None:
            metrics.observe_ingest(*ingested, elapsed)


async def _authorise(request: web.Request) -> None:
    """The metrics token, if configured, or a platform-admin key may read the metrics."""
    token = request.app[SETTINGS].metrics_token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if token is not None and scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.get_secret_value().encode()
    ):
        return
    if not (await principal_for(request)).is_platform_admin:
        raise Forbidden("metrics are for platform admins and the metrics token")


@routes.get("/metrics")
@public  # authorised below: by the metrics token, which is not an API key
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this process's metrics."""
    await _authorise(request)
    body = await request.app[METRICS].render(request.app[POOL])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
