"""The privacy review queue: objects the screen flagged in a trust group that holds them,
kept apart from every stored object (on no read path) until a reviewer decides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson


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


@dataclass(frozen=True, slots=True)
class GroupPrivacy:
    """A trust group's privacy settings as the screen applies them."""

    policy: str | None  # None: not set (decided from member_sectors)
    member_sectors: list[str]
    victim_ranges: list[str]


async def group_privacy(conn: asyncpg.Connection, group_id: uuid.UUID) -> GroupPrivacy:
    """The trust group's privacy policy as set, its members' sectors and victim ranges."""
    r = await conn.fetchrow(
        "SELECT g.privacy_policy, g.victim_ranges::text[] AS victim_ranges,"
        " ARRAY(SELECT DISTINCT o.sector FROM group_members m"
        " JOIN organizations o ON o.id = m.org_id WHERE m.group_id = g.id) AS sectors"
        " FROM trust_groups g WHERE g.id = $1", group_id)
    if r is None:
        return GroupPrivacy(None, [], [])
    return GroupPrivacy(r["privacy_policy"], list(r["sectors"]), list(r["victim_ranges"]))


async def victim_ranges(conn: asyncpg.Connection, group_id: uuid.UUID) -> list[str]:
    """The address ranges the trust group marks as victim-side."""
    return list(await conn.fetchval(
        "SELECT victim_ranges::text[] FROM trust_groups WHERE id = $1", group_id) or [])


async def set_group_policy(conn: asyncpg.Connection, group_id: uuid.UUID,
                           policy: str | None) -> None:
    """Set the trust group's privacy policy (one of POLICIES; None: decided from sectors)."""
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


# A held object is the reviewer organisation's to decide if it produced it, or if the trust
# group of its collection names it a privacy reviewer ($n: the organisation; NULL: any).
def _mine(n: int) -> str:
    return (f"(${n}::uuid IS NULL OR h.producer_org = ${n} OR EXISTS (SELECT 1 FROM"
            f" collections c JOIN trust_groups g ON g.id = c.group_id"
            f" WHERE c.id = h.collection_id AND ${n} = ANY (g.privacy_reviewers)))")


async def queue(conn: asyncpg.Connection, org_id: uuid.UUID | None, limit: int = 100
                ) -> list[HeldRow]:
    """The held objects this organisation may review (its own, and those of the groups
    naming it a reviewer; None: every one), oldest first."""
    return [_row(r) for r in await conn.fetch(
        f"SELECT {_COLUMNS} FROM held_objects h WHERE {_mine(1)}"
        f" ORDER BY held, id LIMIT $2", org_id, limit)]


async def get(conn: asyncpg.Connection, held_id: uuid.UUID, org_id: uuid.UUID | None
              ) -> HeldRow | None:
    """One held object with its body, if this organisation may review it (None: any)."""
    r = await conn.fetchrow(
        f"SELECT {_COLUMNS}, body FROM held_objects h WHERE id = $1 AND {_mine(2)}",
        held_id, org_id)
    return _row(r) if r else None


async def take(conn: asyncpg.Connection, held_id: uuid.UUID, org_id: uuid.UUID | None
               ) -> HeldRow | None:
    """Remove and return one held object this organisation may review (None: any), for a
    decision in the caller's transaction; None when the queue has no such object."""
    r = await conn.fetchrow(
        f"DELETE FROM held_objects h WHERE id = $1 AND {_mine(2)}"
        f" RETURNING {_COLUMNS}, body", held_id, org_id)
    return _row(r) if r else None


async def take_expired(conn: asyncpg.Connection) -> list[HeldRow]:
    """Remove and return the held objects nobody reviewed in time."""
    return [_row(r) for r in await conn.fetch(
        f"DELETE FROM held_objects WHERE deadline <= now() RETURNING {_COLUMNS}")]
