"""The privacy review queue: objects the screen flagged in a trust group that holds them,
kept apart from every stored object (on no read path) until a reviewer decides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

POLICIES = ("pass", "hold", "refuse")


@dataclass(frozen=True, slots=True)
class HeldRow:
    """One held object as the queue keeps it (its body only when asked for)."""

    id: uuid.UUID
    status_id: uuid.UUID
    ord: int
    collection_id: uuid.UUID
    producer_org: uuid.UUID
    stix_id: str
    version: str
    findings: list[dict]
    poster: dict
    held: datetime
    deadline: datetime
    body: str | None = None


def _row(r: asyncpg.Record) -> HeldRow:
    return HeldRow(r["id"], r["status_id"], r["ord"], r["collection_id"], r["producer_org"],
                   r["stix_id"], r["version_text"], orjson.loads(r["findings"]),
                   orjson.loads(r["poster"]), r["held"], r["deadline"], r.get("body"))


_COLUMNS = ("id, status_id, ord, collection_id, producer_org, stix_id, version_text,"
            " findings, poster, held, deadline")


async def group_policy(conn: asyncpg.Connection, group_id: uuid.UUID) -> str:
    """What the trust group does with flagged objects: pass, hold or refuse."""
    return await conn.fetchval("SELECT privacy_policy FROM trust_groups WHERE id = $1",
                               group_id) or "pass"


async def set_group_policy(conn: asyncpg.Connection, group_id: uuid.UUID, policy: str) -> None:
    """Set the trust group's privacy policy (one of POLICIES)."""
    await conn.execute("UPDATE trust_groups SET privacy_policy = $2 WHERE id = $1",
                       group_id, policy)


async def hold(conn: asyncpg.Connection, status_id: uuid.UUID, collection_id: uuid.UUID,
               producer: uuid.UUID, objects: list[tuple[int, str, str, str, list[dict]]],
               poster: str, deadline: datetime) -> None:
    """Queue these objects (index, id, version, JSON as posted, findings) for review."""
    await conn.executemany(
        "INSERT INTO held_objects (id, status_id, ord, collection_id, producer_org, stix_id,"
        " version_text, body, poster, findings, deadline)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        [(uuid.uuid4(), status_id, i, collection_id, producer, s, v, body, poster,
          orjson.dumps(f).decode(), deadline) for i, s, v, body, f in objects])


async def queue(conn: asyncpg.Connection, org_id: uuid.UUID | None, limit: int = 100
                ) -> list[HeldRow]:
    """The held objects of this producer (None: every producer's), oldest first."""
    return [_row(r) for r in await conn.fetch(
        f"SELECT {_COLUMNS} FROM held_objects WHERE ($1::uuid IS NULL OR producer_org = $1)"
        f" ORDER BY held, id LIMIT $2", org_id, limit)]


async def get(conn: asyncpg.Connection, held_id: uuid.UUID, org_id: uuid.UUID | None
              ) -> HeldRow | None:
    """One held object with its body (of this producer; None: any)."""
    r = await conn.fetchrow(
        f"SELECT {_COLUMNS}, body FROM held_objects WHERE id = $1"
        f" AND ($2::uuid IS NULL OR producer_org = $2)", held_id, org_id)
    return _row(r) if r else None


async def take(conn: asyncpg.Connection, held_id: uuid.UUID, org_id: uuid.UUID | None
               ) -> HeldRow | None:
    """Remove and return one held object (of this producer; None: any), for a decision in
    the caller's transaction; None when the queue has no such object."""
    r = await conn.fetchrow(
        f"DELETE FROM held_objects WHERE id = $1 AND ($2::uuid IS NULL OR producer_org = $2)"
        f" RETURNING {_COLUMNS}, body", held_id, org_id)
    return _row(r) if r else None


async def take_expired(conn: asyncpg.Connection) -> list[HeldRow]:
    """Remove and return the held objects nobody reviewed in time."""
    return [_row(r) for r in await conn.fetch(
        f"DELETE FROM held_objects WHERE deadline <= now() RETURNING {_COLUMNS}")]
