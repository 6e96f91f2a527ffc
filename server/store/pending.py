"""Objects waiting for a marking-definition they name (shared with nobody until decided)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

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
