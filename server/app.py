"""The aiohttp application: routes, middlewares, and the resources that live as long as it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from server import logs
from server.admin import audit as admin_audit
from server.admin import collections as admin_collections
from server.admin import groups as admin_groups
from server.admin import keys as admin_keys
from server.admin import openapi
from server.admin import orgs as admin_orgs
from server.admin import review as admin_review
from server.admin.openapi import DOCUMENTED
from server.config import SETTINGS, Settings
from server.console import routes as console
from server.db.migrate import migrate
from server.db.pool import DSN, GENERIC_POOL, POOL, create_pool, resolve_dsn
from server.federation import http as federation_api
from server.federation import runner as federation
from server.feeds import api as feeds_api
from server.feeds import exports, lifecycle, webhooks
from server.feeds import stream as feed_stream
from server.feeds.notifier import NOTIFIER, Notifier
from server.feeds.single_flight import SHARED_READS, SharedReads
from server.ingest import warninglists
from server.ingest.envelope import expire_pending
from server.ingest.patterns import PATTERNS, PatternChecker
from server.ingest.reference import seed_reference
from server.ingest.review import expire_held
from server.ingest.withheld import release_loop
from server.intel import api as intel_api
from server.intel.prefixes import PREFIX_LENGTHS, PrefixLengths
from server.ops import health
from server.ops import metrics as ops_metrics
from server.ops.metrics import METRICS, Metrics, metrics_middleware
from server.ops.ratelimit import RATE_LIMITER, RateLimiter, rate_limit_middleware
from server.store.keys import KEYS_CHANNEL
from server.store.statuses import purge_statuses
from server.taxii import collections, discovery, manifest, objects, status
from server.taxii import feeds as taxii_feeds
from server.web import published
from server.web.apis import add_routes
from server.web.auth import KEY_CACHE, KeyCache, auth_middleware
from server.web.cursors import CURSORS, cursor_codec
from server.web.middleware import (
    compression_middleware,
    error_middleware,
    request_id_middleware,
)
from server.web.routes import Operation

log = logging.getLogger("accord.app")

_PURGE_EVERY_S = 3600


def _database(dsn: str | None):
    async def database(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        # Starting the embedded PostgreSQL blocks for a moment: keep it off the loop.
        target = dsn or await asyncio.to_thread(resolve_dsn, settings)
        pool = await create_pool(target, settings)
        async with pool.acquire() as conn:
            applied = await migrate(conn)
            await seed_reference(conn)
            app[CURSORS] = await cursor_codec(conn, settings)
        if applied:
            log.info("migrations applied", extra={"fields": {"applied": applied}})
        app[POOL] = pool
        app[GENERIC_POOL] = await create_pool(target, settings, generic=True)
        app[DSN] = target
        yield
        await app[GENERIC_POOL].close()
        await pool.close()

    return database


async def _purge_statuses(app: web.Application) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await expire_pending(app[POOL])
            await expire_held(app[POOL])
            async with app[POOL].acquire() as conn:
                await purge_statuses(conn, app[SETTINGS].status_retention_hours)
            await asyncio.sleep(_PURGE_EVERY_S)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _release_withheld(app: web.Application) -> AsyncIterator[None]:
    """The ticks at which withheld objects are released (server/ingest/withheld.py)."""
    if not app[SETTINGS].withheld_release_s:
        yield
        return
    task = asyncio.create_task(release_loop(app[POOL], app[SETTINGS]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _pattern_workers(app: web.Application) -> AsyncIterator[None]:
    """The worker processes of slow indicator-pattern checks (server/ingest/patterns.py)."""
    workers = app[SETTINGS].pattern_workers
    if not workers:
        yield
        return
    app[PATTERNS] = PatternChecker(workers)
    yield
    await asyncio.to_thread(app[PATTERNS].close)


async def _listen(app: web.Application) -> AsyncIterator[None]:
    """The LISTEN connection that wakes streams and webhook workers."""
    task = asyncio.create_task(app[NOTIFIER].listen(app[DSN]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# Every route the server has, by API, and every way a feed is delivered.
TAXII_ROUTES = (discovery.routes, collections.routes, objects.routes, manifest.routes,
                status.routes)
JSON_API_ROUTES = (admin_orgs.admin, admin_keys.admin, admin_groups.admin,
                   admin_collections.admin, admin_audit.admin, admin_review.admin,
                   feeds_api.admin, federation_api.admin, intel_api.admin, openapi.admin)
OTHER_ROUTES = (published.routes, health.routes, ops_metrics.routes, *console.ROUTES)
CHANNELS = (taxii_feeds.CHANNEL, feed_stream.CHANNEL, webhooks.CHANNEL, exports.CHANNEL)


def json_api_operations() -> list[Operation]:
    """Every documented JSON API operation, in the order the document lists them."""
    documented = [*JSON_API_ROUTES, *(t for c in CHANNELS for t in c.documented)]
    return [op for routes in documented for op in routes.operations]


def server_options(settings: Settings) -> dict[str, object]:
    """Options of the HTTP server itself (web.run_app, aiohttp's test server).

    aiohttp's keep-alive timer runs from the moment a connection opens until a whole request
    head has arrived, and again between requests: bounding it bounds how long a connection
    may dribble its headers, in the server itself and not only behind a proxy (aiohttp's
    default is an hour).
    """
    return {"keepalive_timeout": settings.header_timeout_s}


def create_app(settings: Settings, dsn: str | None = None) -> web.Application:
    """Build the application; `dsn` overrides the settings' database (tests use it)."""
    logs.set_level(settings.log_level)
    # Loaded here, not by the first envelope ingested (some 0.1-1 s of parsing per process).
    warninglists.shipped()
    app = web.Application(
        # Outermost first: the request id and metrics see every answer, errors included;
        # rate limits come after auth, so that only verified keys have buckets.
        middlewares=[request_id_middleware, compression_middleware, metrics_middleware,
                     error_middleware, auth_middleware, rate_limit_middleware],
        # Bodies are read through a counting reader (taxii.common.read_body); this is
        # only the outer bound for anything else.
        client_max_size=settings.max_content_length + 1,
    )
    app[SETTINGS] = settings
    app[NOTIFIER] = Notifier()
    if settings.key_cache_s > 0:
        app[KEY_CACHE] = KeyCache(settings.key_cache_s)
        app[NOTIFIER].subscribe(KEYS_CHANNEL, app[KEY_CACHE].clear, app[KEY_CACHE].set_live)
    app[PREFIX_LENGTHS] = PrefixLengths()
    app[SHARED_READS] = SharedReads()
    app[METRICS] = Metrics()
    limiter = RateLimiter.from_settings(settings)
    if limiter is not None:
        app[RATE_LIMITER] = limiter
    console.setup(app)
    app.cleanup_ctx.append(_database(dsn))
    app.cleanup_ctx.append(_purge_statuses)
    app.cleanup_ctx.append(_release_withheld)
    app.cleanup_ctx.append(_pattern_workers)
    app.cleanup_ctx.append(_listen)
    app.cleanup_ctx.append(lifecycle.lifetime)
    app.cleanup_ctx.append(federation.lifetime)
    for channel in CHANNELS:
        if channel.lifetime is not None:
            app.cleanup_ctx.append(channel.lifetime)
    for table in (*TAXII_ROUTES, *(c for channel in CHANNELS for c in channel.routes),
                  *(r.table for r in JSON_API_ROUTES),
                  *(t.table for channel in CHANNELS for t in channel.documented),
                  *OTHER_ROUTES):
        add_routes(app, table)
    app[DOCUMENTED] = tuple(json_api_operations())
    return app
