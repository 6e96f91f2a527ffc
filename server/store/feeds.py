"""Saved feeds, their SQL filter, and the webhook outbox."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schemas.feeds import FeedFilter
from schemas.principal import Principal, Role, Sector
from schemas.tlp import Tlp
from server.errors import NotFound
from server.store.exclusions import not_excluded
from server.store.query import Params
from server.store.sightings import of_producer, score_at_least

_LEVELS = list(Tlp)


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    filter: FeedFilter
    webhook_url: str | None
    webhook_secret: str | None
    webhook_max_attempts: int
    created: datetime
    updated: datetime
    tlp1_markings: bool = False


_COLUMNS = (
    "id, org_id, name, filter::text AS filter, webhook_url, webhook_secret,"
    " webhook_max_attempts, created, updated, tlp1_markings"
)


def _feed(row: asyncpg.Record) -> FeedRow:
    values = dict(row)
    values["filter"] = FeedFilter.model_validate_json(values["filter"])
    return FeedRow(**values)


def condition(f: FeedFilter, p: Params, o: str = "o", principal: Principal | None = None) -> str:
    """SQL condition selecting the rows of `objects` the filter admits (visibility apart).

    `principal`: the reader, whose visible sightings count in `min_score`, and whose
    organisation's exclusion list leaves values out (server.store.exclusions).
    """
    parts = ["true"]
    if f.collections:
        parts.append(f"{o}.collection_id = ANY({p(f.collections)}::uuid[])")
    if f.groups:
        parts.append(f"{o}.group_id = ANY({p(f.groups)}::uuid[])")
    if f.types:
        parts.append(f"{o}.stix_type = ANY({p(f.types)}::text[])")
    if f.indicator_types:
        parts.append(f"{o}.indicator_types && {p(f.indicator_types)}::text[]")
    if f.observable_kinds:
        parts.append(f"{o}.ioc_kinds && {p(list(f.observable_kinds))}::text[]")
    if f.tlp_max is not None:
        allowed = [t.value for t in _LEVELS[: _LEVELS.index(f.tlp_max) + 1]]
        parts.append(f"{o}.tlp = ANY({p(allowed)}::text[])")
    if f.min_confidence is not None:
        parts.append(f"{o}.confidence >= {p(f.min_confidence)}")
    if f.producers:
        parts.append(f"{o}.created_by_ref = ANY({p(f.producers)}::text[])")
    if f.labels:
        parts.append(f"{o}.labels && {p(f.labels)}::text[]")
    if f.valid_only:
        parts.append(f"NOT {o}.revoked AND ({o}.valid_until IS NULL OR {o}.valid_until > now())")
    if f.min_score is not None:
        parts.append(score_at_least(principal, p, f.min_score, o))
    if not f.include_warninglisted:
        # Warninglisted values stay out unless the feed asks (issue 12). `warned` is in
        # `objects` and in `blocklist_rows` (migration 0025), so the export's fast path
        # reads it too.
        parts.append(f"{o}.warned IS NOT TRUE")
    if f.sightings_of_mine:
        parts.append(of_producer(principal, p, o))
    if principal is not None:
        parts.append(not_excluded(principal.org_id, p, o))
    return " AND ".join(parts)


async def create_feed(
    conn: asyncpg.Connection, org_id: uuid.UUID, name: str, f: FeedFilter,
    webhook_url: str | None, max_attempts: int, tlp1_markings: bool = False,
) -> FeedRow:
    """Save a feed; a webhook starts from the newest object, and gets a fresh secret."""
    secret = secrets.token_urlsafe(32) if webhook_url else None
    row = await conn.fetchrow(
        f"INSERT INTO feeds (id, org_id, name, filter, webhook_url, webhook_secret,"
        f" webhook_max_attempts, webhook_added, webhook_seq, tlp1_markings)"
        f" SELECT $1, $2, $3, $4::jsonb, $5, $6, $7, c.last_added, 9223372036854775807, $8"
        f" FROM ingest_clock c RETURNING {_COLUMNS}",
        uuid.uuid4(), org_id, name, f.model_dump_json(exclude_none=True), webhook_url, secret,
        max_attempts, tlp1_markings,
    )
    return _feed(row)


async def get_feed(conn: asyncpg.Connection, org_id: uuid.UUID, feed_id: uuid.UUID) -> FeedRow:
    """A feed of this organisation; NotFound alike for absent and another's."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM feeds WHERE id = $1 AND org_id = $2", feed_id, org_id
    )
    if row is None:
        raise NotFound("no such feed")
    return _feed(row)


async def list_feeds(conn: asyncpg.Connection, org_id: uuid.UUID) -> list[FeedRow]:
    """The organisation's feeds, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM feeds WHERE org_id = $1 ORDER BY created, id", org_id
    )
    return [_feed(r) for r in rows]


async def update_feed(
    conn: asyncpg.Connection, org_id: uuid.UUID, feed_id: uuid.UUID, *, name: str | None,
    f: FeedFilter | None, webhook_url: str | None, max_attempts: int | None,
    remove_webhook: bool, rotate_secret: bool = False, tlp1_markings: bool | None = None,
) -> tuple[FeedRow, str | None]:
    """Change a feed; return it and a new webhook secret if one was issued (new URL or
    rotation)."""
    current = await get_feed(conn, org_id, feed_id)
    secret = None
    url, stored_secret = current.webhook_url, current.webhook_secret
    if remove_webhook:
        url = stored_secret = None
    elif (webhook_url and webhook_url != current.webhook_url) or (rotate_secret and url):
        url, stored_secret = webhook_url or url, secrets.token_urlsafe(32)
        secret = stored_secret
    row = await conn.fetchrow(
        f"UPDATE feeds SET name = $3, filter = $4::jsonb, webhook_url = $5, webhook_secret = $6,"
        f" webhook_max_attempts = $7, tlp1_markings = $8, updated = now()"
        f" WHERE id = $1 AND org_id = $2 RETURNING {_COLUMNS}",
        feed_id, org_id, name or current.name,
        (f or current.filter).model_dump_json(exclude_none=True), url, stored_secret,
        max_attempts or current.webhook_max_attempts,
        current.tlp1_markings if tlp1_markings is None else tlp1_markings,
    )
    return _feed(row), secret


async def delete_feed(conn: asyncpg.Connection, org_id: uuid.UUID, feed_id: uuid.UUID) -> None:
    """Delete a feed and its delivery log."""
    status = await conn.execute("DELETE FROM feeds WHERE id = $1 AND org_id = $2",
                                feed_id, org_id)
    if status.endswith(" 0"):
        raise NotFound("no such feed")


async def feed_reader(conn: asyncpg.Connection, feed: FeedRow) -> Principal:
    """The principal a feed reads as: its organisation, with a reader's rights."""
    row = await conn.fetchrow(
        "SELECT name, sector, identity_id FROM organizations WHERE id = $1", feed.org_id
    )
    return Principal(f"feed:{feed.id}", feed.org_id, row["name"], Sector(row["sector"]),
                     Role.READER, row["identity_id"])


# --- webhook outbox -------------------------------------------------------------------


async def webhook_feeds(conn: asyncpg.Connection) -> list[uuid.UUID]:
    """Ids of every feed with a webhook."""
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM feeds WHERE webhook_url IS NOT NULL ORDER BY id")]


async def lock_webhook_feed(
    conn: asyncpg.Connection, feed_id: uuid.UUID
) -> tuple[FeedRow, datetime, int] | None:
    """Lock a webhook feed for enqueueing (skipped if another process holds it)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, webhook_added, webhook_seq FROM feeds"
        f" WHERE id = $1 AND webhook_url IS NOT NULL FOR UPDATE SKIP LOCKED",
        feed_id,
    )
    if row is None:
        return None
    values = dict(row)
    added, seq = values.pop("webhook_added"), values.pop("webhook_seq")
    values["filter"] = FeedFilter.model_validate_json(values["filter"])
    return FeedRow(**values), added, seq


async def enqueue_delivery(
    conn: asyncpg.Connection, feed_id: uuid.UUID, seqs: list[int], added: datetime, seq: int,
    removal_seqs: list[int] | None = None,
) -> uuid.UUID:
    """Put a batch (object versions, and removal events) in the outbox and move the feed's
    cursor past it (one transaction)."""
    delivery_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO webhook_deliveries (id, feed_id, seqs, removal_seqs)"
        " VALUES ($1, $2, $3, $4)",
        delivery_id, feed_id, seqs, removal_seqs or [],
    )
    await conn.execute(
        "UPDATE feeds SET webhook_added = $2, webhook_seq = $3 WHERE id = $1",
        feed_id, added, seq,
    )
    return delivery_id


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: uuid.UUID
    feed_id: uuid.UUID
    seqs: list[int]
    attempts: int
    max_attempts: int
    url: str
    secret: str
    removal_seqs: list[int]


async def claim_due(conn: asyncpg.Connection, limit: int) -> list[DueDelivery]:
    """Due pending deliveries, locked for this transaction (other processes skip them)."""
    rows = await conn.fetch(
        "SELECT d.id, d.feed_id, d.seqs, d.attempts, f.webhook_max_attempts, f.webhook_url,"
        " f.webhook_secret, d.removal_seqs FROM webhook_deliveries d"
        " JOIN feeds f ON f.id = d.feed_id"
        " WHERE d.state = 'pending' AND d.next_attempt <= now() AND f.webhook_url IS NOT NULL"
        " ORDER BY d.feed_id, d.created FOR UPDATE OF d SKIP LOCKED LIMIT $1",
        limit,
    )
    return [DueDelivery(*r.values()) for r in rows]


async def record_attempt(
    conn: asyncpg.Connection, delivery: DueDelivery, *, ok: bool, status: int | None,
    error: str | None, retry_in_s: float,
) -> str:
    """Record one attempt: delivered, retried after a backoff, or dead after the last try."""
    attempts = delivery.attempts + 1
    state = "delivered" if ok else ("dead" if attempts >= delivery.max_attempts else "pending")
    await conn.execute(
        "UPDATE webhook_deliveries SET attempts = $2, state = $3, last_status = $4,"
        " last_error = $5, next_attempt = now() + $6 * interval '1 second',"
        " delivered_at = CASE WHEN $3 = 'delivered' THEN now() END WHERE id = $1",
        delivery.id, attempts, state, status, error, retry_in_s,
    )
    return state


@dataclass(frozen=True, slots=True)
class DeliveryLogEntry:
    """One webhook batch of a feed's delivery log."""

    id: uuid.UUID
    created: datetime
    objects: int
    attempts: int
    state: str
    next_attempt: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


async def deliveries(
    conn: asyncpg.Connection, feed_id: uuid.UUID, limit: int = 100
) -> list[DeliveryLogEntry]:
    """The feed's delivery log, newest first."""
    rows = await conn.fetch(
        "SELECT id, created, cardinality(seqs) + cardinality(removal_seqs) AS objects,"
        " attempts, state,"
        " CASE WHEN state = 'pending' THEN next_attempt END AS next_attempt, last_status,"
        " last_error, delivered_at FROM webhook_deliveries WHERE feed_id = $1"
        " ORDER BY created DESC LIMIT $2",
        feed_id, limit,
    )
    return [DeliveryLogEntry(**dict(r)) for r in rows]


async def get_feed_by_id(conn: asyncpg.Connection, feed_id: uuid.UUID) -> FeedRow:
    """A feed by id alone (for the delivery worker)."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM feeds WHERE id = $1", feed_id)
    if row is None:
        raise NotFound("no such feed")
    return _feed(row)
