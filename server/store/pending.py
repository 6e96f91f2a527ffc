"""Objects waiting for a marking-definition they name (shared with nobody until decided)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg


def _lock_key(collection_id: uuid.UUID, marking_id: str) -> int:
    """A signed 64-bit advisory lock key for (collection, marking-definition id)."""
    digest = hashlib.blake2b(f"{collection_id} {marking_id}".encode(), digest_size=8,
                             person=b"accord-mark").digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_markings(
    conn: asyncpg.Connection, collection_id: uuid.UUID, looked_for: Sequence[str],
    storing: Sequence[str] = (),
) -> None:
    """Serialise, until commit, a transaction that looks for these marking-definitions in
    this collection with one that stores them (`storing`: exclusive; looking: shared, so
    envelopes that only name a stored definition never wait on each other).

    An envelope holding objects pending on M and one storing M, if concurrent, each miss the
    other's uncommitted rows; under this lock the later one (READ COMMITTED: a fresh
    snapshot per statement) sees the earlier's, so nothing waits for a definition already
    stored. Keys are taken in sorted order within a call.
    """
    modes: dict[int, bool] = {_lock_key(collection_id, m): False for m in looked_for}
    modes.update({_lock_key(collection_id, m): True for m in storing})
    if modes:
        keys = sorted(modes)
        await conn.execute(
            "SELECT CASE WHEN x THEN pg_advisory_xact_lock(k)"
            " ELSE pg_advisory_xact_lock_shared(k) END"
            " FROM unnest($1::bigint[], $2::boolean[]) AS u(k, x)",
            keys, [modes[k] for k in keys])


async def awaited_with(
    conn: asyncpg.Connection, collection_id: uuid.UUID, arriving: list[str]
) -> list[str]:
    """The other definitions that the objects of this collection awaiting any of these ids
    also await (an envelope storing one locks them too, before it writes anything)."""
    return [r["a"] for r in await conn.fetch(
        "SELECT DISTINCT a FROM pending_objects p, unnest(p.awaiting) AS a"
        " WHERE p.collection_id = $1 AND p.awaiting && $2::text[]"
        " AND NOT a = ANY($2::text[])",
        collection_id, arriving,
    )]


_COLUMNS = "status_id, ord, stix_id, version_text, awaiting, body, poster, deadline"


async def hold(
    conn: asyncpg.Connection, status_id: uuid.UUID, collection_id: uuid.UUID,
    objects: list[tuple[int, str, str, list[str], str]], poster: str, deadline: datetime,
) -> None:
    """Keep these objects (index, id, version, awaited ids, JSON as posted) under a status."""
    await conn.executemany(
        "INSERT INTO pending_objects (status_id, ord, collection_id, stix_id, version_text,"
        " awaiting, body, poster, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (status_id, ord) DO UPDATE SET awaiting = EXCLUDED.awaiting",
        [(status_id, index, collection_id, stix_id, version, awaiting, body, poster, deadline)
         for index, stix_id, version, awaiting, body in objects],
    )


async def take_ready(
    conn: asyncpg.Connection, collection_id: uuid.UUID, arrived: list[str]
) -> list[asyncpg.Record]:
    """Remove and return the waiting objects of a collection that await any of these ids,
    within their time (locked: one transaction decides each)."""
    return await conn.fetch(
        f"DELETE FROM pending_objects WHERE collection_id = $1 AND awaiting && $2::text[]"
        f" AND deadline > now() RETURNING {_COLUMNS}",
        collection_id, arrived,
    )


async def take_expired(
    conn: asyncpg.Connection, *, collection_id: uuid.UUID | None = None,
    status_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, list[asyncpg.Record]]:
    """Remove and return, by status, the waiting objects (of a collection or a status)
    whose time is up."""
    rows = await conn.fetch(
        f"DELETE FROM pending_objects WHERE deadline <= now()"
        f" AND ($1::uuid IS NULL OR collection_id = $1) AND ($2::uuid IS NULL OR status_id = $2)"
        f" RETURNING {_COLUMNS}, collection_id",
        collection_id, status_id,
    )
    found: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for r in sorted(rows, key=lambda r: r["ord"]):
        found.setdefault(r["status_id"], []).append(r)
    return found
