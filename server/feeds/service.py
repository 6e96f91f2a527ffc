"""The feed operations: store calls, webhook target checks and audit entries, one
transaction each; and the reads every delivery channel shares.

Functions take the pool and the acting principal and return `schemas.feeds` models (or
store records, for the channels), so the HTTP handlers stay thin, as `admin.service` does
for the rest of the JSON API.
"""

from __future__ import annotations

import uuid

import asyncpg

from schemas.feeds import (
    Delivery,
    DeliveryList,
    Feed,
    FeedCreate,
    FeedCreated,
    FeedList,
    FeedUpdate,
)
from schemas.principal import Principal
from schemas.taxii import Cursor, ObjectQuery
from server.config import Settings
from server.errors import BadRequest
from server.feeds.reading import read_after
from server.feeds.webhooks import UnsafeTarget, check_target
from server.store import audit
from server.store import feeds as feed_store
from server.store.keys import is_live
from server.store.objects import Projection, latest_cursor, read_page
from server.store.records import BodyRow, Page

# Where a feed's TAXII collection and stream live (the channels' own routes).
TAXII_FEEDS_ROOT = "/taxii2/feeds"
_WEBHOOK_ATTEMPTS = 8


def feed_model(row: feed_store.FeedRow, model: type[Feed] = Feed, **extra: object) -> Feed:
    """The wire form of a stored feed."""
    return model(
        id=row.id, name=row.name, filter=row.filter, webhook_url=row.webhook_url,
        webhook_max_attempts=row.webhook_max_attempts, tlp1_markings=row.tlp1_markings,
        created=row.created, updated=row.updated,
        taxii_collection=f"{TAXII_FEEDS_ROOT}/collections/{row.id}/",
        stream=f"/api/v1/feeds/{row.id}/stream", **extra,
    )


async def _safe_webhook(settings: Settings, url: str | None) -> None:
    if url is None:
        return
    try:
        await check_target(url, settings.webhook_allow_private)
    except UnsafeTarget as exc:
        raise BadRequest(f"webhook URL refused: {exc}") from None


async def list_feeds(pool: asyncpg.Pool, principal: Principal) -> FeedList:
    """The principal's organisation's feeds."""
    async with pool.acquire() as conn:
        rows = await feed_store.list_feeds(conn, principal.org_id)
    return FeedList(feeds=[feed_model(r) for r in rows])


async def create_feed(
    pool: asyncpg.Pool, settings: Settings, principal: Principal, spec: FeedCreate
) -> FeedCreated:
    """Save a feed (its webhook target checked first); the secret is in this answer only."""
    url = str(spec.webhook.url) if spec.webhook else None
    await _safe_webhook(settings, url)
    async with pool.acquire() as conn, conn.transaction():
        row = await feed_store.create_feed(
            conn, principal.org_id, spec.name, spec.filter, url,
            spec.webhook.max_attempts if spec.webhook else _WEBHOOK_ATTEMPTS, spec.tlp1_markings,
        )
        await audit.record(conn, [audit.entry(principal, "feed.created", principal.org_id,
                                              str(row.id), webhook=url)])
    return feed_model(row, FeedCreated, webhook_secret=row.webhook_secret)


async def get_feed(pool: asyncpg.Pool, principal: Principal, feed_id: uuid.UUID) -> Feed:
    """One of the organisation's feeds; NotFound alike for absent and another's."""
    async with pool.acquire() as conn:
        return feed_model(await feed_store.get_feed(conn, principal.org_id, feed_id))


async def update_feed(
    pool: asyncpg.Pool, settings: Settings, principal: Principal, feed_id: uuid.UUID,
    spec: FeedUpdate,
) -> FeedCreated:
    """Change a feed; a new webhook URL or a rotation issues a new secret."""
    url = str(spec.webhook.url) if spec.webhook else None
    await _safe_webhook(settings, url)
    async with pool.acquire() as conn, conn.transaction():
        row, secret = await feed_store.update_feed(
            conn, principal.org_id, feed_id, name=spec.name, f=spec.filter, webhook_url=url,
            max_attempts=spec.webhook.max_attempts if spec.webhook else None,
            remove_webhook=spec.remove_webhook, rotate_secret=spec.rotate_secret,
            tlp1_markings=spec.tlp1_markings,
        )
        await audit.record(conn, [audit.entry(principal, "feed.changed", principal.org_id,
                                              str(row.id), webhook=row.webhook_url)])
    return feed_model(row, FeedCreated, webhook_secret=secret)


async def delete_feed(pool: asyncpg.Pool, principal: Principal, feed_id: uuid.UUID) -> None:
    """Delete a feed with its delivery log."""
    async with pool.acquire() as conn, conn.transaction():
        await feed_store.delete_feed(conn, principal.org_id, feed_id)
        await audit.record(conn, [audit.entry(principal, "feed.deleted", principal.org_id,
                                              str(feed_id))])


async def deliveries(
    pool: asyncpg.Pool, principal: Principal, feed_id: uuid.UUID
) -> DeliveryList:
    """The feed's webhook delivery log, newest first."""
    async with pool.acquire() as conn:
        await feed_store.get_feed(conn, principal.org_id, feed_id)
        rows = await feed_store.deliveries(conn, feed_id)
    return DeliveryList(deliveries=[Delivery.model_validate(r, from_attributes=True)
                                    for r in rows])


# --- what the delivery channels read -----------------------------------------------------


async def feeds_of(pool: asyncpg.Pool, principal: Principal) -> list[feed_store.FeedRow]:
    """The principal's organisation's feeds, oldest first."""
    async with pool.acquire() as conn:
        return await feed_store.list_feeds(conn, principal.org_id)


async def page(
    pool: asyncpg.Pool, principal: Principal, feed_id: uuid.UUID, query: ObjectQuery,
    projection: Projection,
) -> tuple[Page, feed_store.FeedRow]:
    """A TAXII page of one of the organisation's feeds, as the principal may see it now, and
    the feed. Bodies come with their TLP where the feed serves TLP 1.0 ids too."""
    async with pool.acquire() as conn:
        feed = await feed_store.get_feed(conn, principal.org_id, feed_id)
        if feed.tlp1_markings and projection is Projection.BODY:
            projection = Projection.BODY_TLP
        page = await read_page(conn, principal, None, query, projection, feed=feed.filter)
        return page, feed


async def own_feed(
    pool: asyncpg.Pool, principal: Principal, feed_id: uuid.UUID
) -> feed_store.FeedRow:
    """A feed of the principal's organisation; NotFound alike for absent and another's."""
    async with pool.acquire() as conn:
        return await feed_store.get_feed(conn, principal.org_id, feed_id)


async def start(
    pool: asyncpg.Pool, resume: Cursor | None, *, from_beginning: bool
) -> Cursor | None:
    """Where a new subscriber starts: after `resume`, at the beginning (None), or after
    everything committed so far."""
    if resume is not None or from_beginning:
        return resume
    async with pool.acquire() as conn:
        return await latest_cursor(conn)


async def next_batch(
    pool: asyncpg.Pool, principal: Principal, feed: feed_store.FeedRow, after: Cursor | None,
    limit: int,
) -> Page[BodyRow] | None:
    """The next objects of the feed for a subscriber, judged by its rights now; None once
    its key is revoked."""
    async with pool.acquire() as conn:
        # Rights are judged again for every batch: a revoked key or a removed member
        # stops receiving at once.
        if not await is_live(conn, principal.key_id):
            return None
        # A feed serving TLP 1.0 ids too reads each body's level with it.
        projection = Projection.BODY_TLP if feed.tlp1_markings else Projection.BODY
        return await read_after(conn, principal, feed, after, limit, projection)
