"""Timed lifecycle work of every server process: expiry events and retention purges.

Expiry (issue 12): an indicator version whose `valid_until` passes while nobody posts
writes no version, so a run every `expiry_interval_s` records one removal event per such
version (server.store.removals.expire: once each, across restarts and processes).
Retention (issue 14): a run every `retention_interval_s` deletes object versions older
than their collection's retention period, and their sightings, and audits the counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
from aiohttp import web

from server.config import SETTINGS
from server.db.pool import POOL
from server.store import audit
from server.store import removals as removal_store

log = logging.getLogger("accord.lifecycle")


async def run_expiry(pool: asyncpg.Pool) -> int:
    """Record a removal event for each indicator version expired since the last run (the
    store wakes the streams and webhooks at its commit); how many."""
    async with pool.acquire() as conn, conn.transaction():
        count = await removal_store.expire(conn)
    if count:
        log.info("expiry events", extra={"fields": {"events": count}})
    return count


async def run_retention(pool: asyncpg.Pool) -> list[removal_store.Purged]:
    """Purge every collection's versions past its retention period; one audit entry a
    collection, with counts (the deleted content is nowhere in it)."""
    async with pool.acquire() as conn, conn.transaction():
        purged = await removal_store.purge_expired_retention(conn)
        await audit.record(conn, [audit.entry(
            None, "collection.retention_purged", None, str(p.collection_id),
            retention_days=p.retention_days, versions=p.versions, sightings=p.sightings)
            for p in purged])
    return purged


def _every(interval_s: float, work: Callable[[asyncpg.Pool], Awaitable[object]], name: str):
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        if not interval_s:
            yield
            return

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await work(app[POOL])
                except (asyncpg.PostgresError, OSError):
                    # Rolled back: the next run covers the same span.
                    log.exception(f"{name} run failed")

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return lifetime


async def lifetime(app: web.Application) -> AsyncIterator[None]:
    """The expiry and retention tasks of this process, for as long as the app lives."""
    settings = app[SETTINGS]
    expiry = _every(settings.expiry_interval_s, run_expiry, "expiry")(app)
    retention = _every(settings.retention_interval_s, run_retention, "retention")(app)
    await anext(expiry)
    await anext(retention)
    yield
    for gen in (expiry, retention):
        with contextlib.suppress(StopAsyncIteration):
            await anext(gen)
