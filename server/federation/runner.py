"""The federation runner: one per database, polling pulls and draining the push outbox.

Every server process starts the task; the one that holds a PostgreSQL session advisory
lock runs, the others wait to take over (the lock goes with the connection if its process
dies). Commits wake it (NOTIFY), so pushes go out promptly; pulls poll at an interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
from aiohttp import web

from server.config import SETTINGS, Settings
from server.db.pool import DSN, POOL
from server.errors import AccordError
from server.federation import pull, push
from server.federation.client import PeerClient, PeerError
from server.feeds.notifier import NOTIFIER, Notifier
from server.store import peers as store
from server.store.peers import Peer

log = logging.getLogger("accord.federation")
_MAX_BACKOFF_S = 3600.0
_MAX_PAGES = 50  # per agreement and round, so one big backlog does not starve the others


class Runner:
    """Runs due pulls, queues and delivers pushes, while this process holds the lock."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, settings: Settings,
                 notifier: Notifier) -> None:
        self.pool = pool
        self.dsn = dsn
        self.settings = settings
        self.notifier = notifier

    def client(self, http: aiohttp.ClientSession, peer: Peer) -> PeerClient:
        return PeerClient(http, peer, self.settings.webhook_allow_private,
                          self.settings.federation_ca_file, self.settings.federation_timeout_s)

    async def run(self) -> None:
        """Wait for the runner lock, then loop for ever; start over if the database goes."""
        while True:
            try:
                await self._run_locked()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("federation runner lost its database",
                            extra={"fields": {"error": str(exc)}})
                await asyncio.sleep(self.settings.federation_poll_s)

    async def _run_locked(self) -> None:
        lock = await asyncpg.connect(self.dsn)
        try:
            while not await store.try_runner_lock(lock):
                await asyncio.sleep(self.settings.federation_poll_s)
            async with aiohttp.ClientSession() as http:
                while True:
                    # The lock lives with this connection: if it is gone, so is the lock
                    # (raises, and run() starts over, waiting for the lock again).
                    await store.still_locked(lock)
                    seen = self.notifier.generation
                    try:
                        await self.round(http)
                    except (OSError, asyncpg.PostgresError) as exc:
                        log.warning("federation round failed",
                                    extra={"fields": {"error": str(exc)}})
                    except Exception:  # a bug in one round must not end federation
                        log.exception("federation round failed")
                    await self.notifier.wait(seen, min(1.0, self.settings.federation_poll_s))
        finally:
            await lock.close()

    async def round(self, http: aiohttp.ClientSession) -> None:
        """One pass: every due pull, then the push outbox."""
        settings = self.settings
        async with self.pool.acquire() as conn:
            if not await store.any_peers(conn):
                return
            due = await store.due_pulls(conn)
        for pull_id in due:
            async with self.pool.acquire() as conn:
                current = await store.lock_pull(conn, pull_id)
            if current is None:
                continue
            agreement, peer = current
            try:
                await pull.pull_agreement(self.pool, self.client(http, peer), pull_id,
                                          settings.federation_batch, _MAX_PAGES,
                                          settings.federation_poll_s)
            except (PeerError, AccordError) as exc:
                hinted = getattr(exc, "retry_after_s", None)
                retry = hinted if hinted is not None else min(
                    settings.federation_poll_s * 2 ** (agreement.failures + 1), _MAX_BACKOFF_S)
                async with self.pool.acquire() as conn:
                    await store.pull_failed(conn, pull_id, str(exc), retry)
                log.warning("peer pull failed", extra={"fields": {
                    "peer": peer.name, "remote_collection": agreement.remote_collection,
                    "error": getattr(exc, "description", None) or str(exc),
                    "retry_in_s": retry}})
        await push.enqueue(self.pool, settings.federation_batch)
        await push.deliver(self.pool, lambda peer: self.client(http, peer),
                           settings.webhook_backoff_s)


async def lifetime(app: web.Application) -> AsyncIterator[None]:
    """The federation task of this process, for as long as the application lives."""
    runner = Runner(app[POOL], app[DSN], app[SETTINGS], app[NOTIFIER])
    task = asyncio.create_task(runner.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
