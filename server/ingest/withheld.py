"""Release of withheld objects in batches that tie none of them to its producer (DESIGN.md).

A withheld object is decided at ingest and kept in `withheld_queue` in the post's own
transaction (so it survives a crash once acknowledged), but not stored with the post:
beside the producer's credited objects, a microsecond apart, it would name its producer.
Every `withheld_release_s` seconds, at the same wall-clock instants in every process, one
process releases a batch in its own transaction, holding no credited post:

- a trust group's waiting objects go out only once they come from `withheld_min_producers`
  producers (or the oldest has waited `withheld_max_hold_s`), so a batch mixes producers;
- they are stored in random order: each collection's share of the batch gets consecutive
  date_added microseconds from the release time, in a random permutation, so no timestamp,
  order, cursor or stream event id tells their posts apart. (Not one date_added for all:
  TAXII clients that page by added_after alone rely on date_added being unique, README.)

The cost is latency: a withheld object is served from the first release tick after it was
posted at which its group's queue holds enough producers, i.e. after up to
`withheld_release_s` (300 s by default), at most `withheld_max_hold_s` (1 h) plus one tick.
The producer's status says success at once: the decision is taken and the object is kept.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from server.config import Settings
from server.ingest.envelope import WITHHELD_IDENTITY_NAME, served_identity
from server.store import audit
from server.store import objects as object_store
from server.store import withheld as withheld_store
from server.store.objects import StagedObject
from server.store.orgs import platform_org

log = logging.getLogger("accord.withheld")
_RANDOM = secrets.SystemRandom()  # the order must not be predictable from the posts'


def next_tick(now: datetime, every_s: float) -> datetime:
    """The first release instant after `now`: a multiple of `every_s` since the epoch, the
    same in every process, so that the processes of one deployment release together."""
    stamp = now.timestamp()
    return datetime.fromtimestamp((stamp // every_s + 1) * every_s, UTC)


async def release_withheld(pool: asyncpg.Pool, settings: Settings,
                           tick: datetime | None = None) -> int:
    """Release the batch of `tick` (default: now), if no process has; how many were stored."""
    tick = tick or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        if not await withheld_store.claim_tick(conn, tick):
            return 0
        due = await withheld_store.take_due(
            conn, tick, settings.withheld_min_producers,
            timedelta(seconds=settings.withheld_max_hold_s))
        if not due:
            return 0
        by_collection: dict[uuid.UUID, list[StagedObject]] = {}
        group_of: dict[uuid.UUID, uuid.UUID] = {}
        for w in due:
            by_collection.setdefault(w.collection_id, []).append(w.staged)
            group_of[w.collection_id] = w.group_id
        identities = await withheld_store.group_identities(conn, sorted(set(group_of.values())))
        platform = (await platform_org(conn)).id
        stored = conflicts = 0
        collections = list(by_collection)
        _RANDOM.shuffle(collections)
        for collection_id in collections:
            batch = by_collection[collection_id]
            identity = identities.get(group_of[collection_id])
            if identity and not await object_store.stored_ids(conn, collection_id, [identity]):
                # Served so created_by_ref resolves; it comes with the batch, never a post.
                batch.append(served_identity(identity, WITHHELD_IDENTITY_NAME, platform,
                                             "group"))
            _RANDOM.shuffle(batch)
            outcome = await object_store.store_envelope(conn, collection_id,
                                                        group_of[collection_id], batch)
            stored += len(outcome.stored) + len(outcome.corrected)
            conflicts += len(outcome.conflicts)
        await audit.record(conn, [audit.entry(
            None, "object.released", None, objects=len(due), collections=len(by_collection),
            refused=conflicts)])
    log.info("withheld objects released",
             extra={"fields": {"objects": stored, "refused": conflicts}})
    return stored


async def release_loop(pool: asyncpg.Pool, settings: Settings) -> None:
    """Release a batch at every tick, for as long as the server runs."""
    while True:
        tick = next_tick(datetime.now(UTC), settings.withheld_release_s)
        await asyncio.sleep(max(0.0, (tick - datetime.now(UTC)).total_seconds()))
        try:
            await release_withheld(pool, settings, tick)
        except (asyncpg.PostgresError, OSError):
            # The objects stay queued (the transaction rolled back); the next tick retries.
            log.exception("withheld release failed")
