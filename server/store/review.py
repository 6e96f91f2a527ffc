"""The privacy review queue: objects the screen flagged, held in pending_objects (awaiting
REVIEW, shared with nobody) with their findings, until a reviewer decides."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import orjson

REVIEW = "accord:review"  # what a held object awaits in pending_objects.awaiting
_COLUMNS = ("p.status_id, p.ord, p.collection_id, p.stix_id, p.version_text, p.body,"
            " p.poster, p.deadline, f.findings")


async def group_policy(conn: asyncpg.Connection, group_id: uuid.UUID) -> str:
    """What the trust group does with flagged objects: pass, hold or refuse."""
    return await conn.fetchval("SELECT privacy_policy FROM trust_groups WHERE id = $1",
                               group_id) or "pass"


async def set_group_policy(conn: asyncpg.Connection, group_id: uuid.UUID, policy: str) -> None:
    """Set the trust group's privacy policy (pass, hold or refuse)."""
    await conn.execute("UPDATE trust_groups SET privacy_policy = $2 WHERE id = $1",
                       group_id, policy)


async def hold(conn: asyncpg.Connection, status_id: uuid.UUID, collection_id: uuid.UUID,
               objects: list[tuple[int, str, str, str, list[dict]]], poster: str,
               deadline: datetime) -> None:
    """Queue these objects (index, id, version, JSON as posted, findings) for review."""
    await conn.executemany(
        "INSERT INTO pending_objects (status_id, ord, collection_id, stix_id, version_text,"
        " awaiting, body, poster, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [(status_id, i, collection_id, s, v, [REVIEW], body, poster, deadline)
         for i, s, v, body, _ in objects])
    await conn.executemany(
        "INSERT INTO review_findings (status_id, ord, findings) VALUES ($1, $2, $3)",
        [(status_id, i, orjson.dumps(f).decode()) for i, _, _, _, f in objects])


async def queue(conn: asyncpg.Connection, org_id: uuid.UUID | None) -> list[asyncpg.Record]:
    """The held objects posted by this organisation (None: every one, for platform admins)."""
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM pending_objects p JOIN review_findings f USING (status_id, ord)"
        " WHERE $1 = ANY(p.awaiting) AND ($2::uuid IS NULL OR (p.poster->>'org_id')::uuid = $2)"
        " ORDER BY p.status_id, p.ord", REVIEW, org_id)


async def take(conn: asyncpg.Connection, status_id: uuid.UUID, stix_id: str,
               org_id: uuid.UUID | None) -> asyncpg.Record | None:
    """Remove and return one held object (of this producer; None: any), locked for the
    decision; None when there is no such object in the queue."""
    return await conn.fetchrow(
        f"WITH taken AS (DELETE FROM pending_objects p WHERE p.status_id = $1"
        f" AND p.stix_id = $2 AND $3 = ANY(p.awaiting)"
        f" AND ($4::uuid IS NULL OR (p.poster->>'org_id')::uuid = $4)"
        f" RETURNING p.*) SELECT {_COLUMNS.replace('p.', 't.')} FROM taken t"
        f" JOIN review_findings f USING (status_id, ord)",
        status_id, stix_id, REVIEW, org_id)
