"""The privacy review: the producer's org-admins (or a platform admin) see the objects the
screen held, with the findings, and release or reject them; every decision is audited with
who and why, never with the object's content (README "Privacy")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
import orjson

from schemas.principal import Principal, Role
from server.errors import BadRequest, Forbidden, NotFound
from server.ingest import envelope
from server.store import audit, statuses
from server.store import collections as collection_store
from server.store import review as review_store


@dataclass(frozen=True, slots=True)
class HeldObject:
    """One object in the review queue, with what the screen found in it."""

    status_id: uuid.UUID
    collection_id: uuid.UUID
    stix_id: str
    version: str
    findings: list[dict]
    body: dict


def _reviewer_org(principal: Principal) -> uuid.UUID | None:
    """The producer whose queue the principal reviews (None: all, a platform admin)."""
    if principal.is_platform_admin:
        return None
    if principal.role is not Role.ORG_ADMIN:
        raise Forbidden("only an org-admin of the producer or a platform admin reviews")
    return principal.org_id


def _held(row: asyncpg.Record) -> HeldObject:
    return HeldObject(row["status_id"], row["collection_id"], row["stix_id"],
                      row["version_text"], orjson.loads(row["findings"]),
                      orjson.loads(row["body"]))


async def list_held(pool: asyncpg.Pool, principal: Principal) -> list[HeldObject]:
    """The review queue the principal may decide."""
    async with pool.acquire() as conn:
        return [_held(r) for r in await review_store.queue(conn, _reviewer_org(principal))]


def _why(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise BadRequest("a review decision needs a reason (1 to 500 characters)")
    return reason


async def _take(conn: asyncpg.Connection, principal: Principal, status_id: uuid.UUID,
                stix_id: str) -> asyncpg.Record:
    row = await review_store.take(conn, status_id, stix_id, _reviewer_org(principal))
    if row is None:
        raise NotFound("no such object in the review queue")
    return row


async def release(pool: asyncpg.Pool, principal: Principal, status_id: uuid.UUID,
                  stix_id: str, reason: str) -> bool:
    """Share a held object as posted (decided under its poster, as if posted now); whether
    it was stored."""
    why = _why(reason)
    async with pool.acquire() as conn, conn.transaction():
        row = await _take(conn, principal, status_id, stix_id)
        poster = orjson.loads(row["poster"])
        collection = await collection_store.get_collection(
            conn, envelope.poster_principal(poster), row["collection_id"])
        successes, _ = await envelope.decide_held(conn, row, orjson.loads(row["body"]),
                                                         collection)
        await audit.record(conn, [audit.entry(
            principal, "review.released", uuid.UUID(poster["org_id"]), subject=stix_id,
            status=str(status_id), version=row["version_text"], reason=why,
            stored=bool(successes))])
    return bool(successes)


async def reject(pool: asyncpg.Pool, principal: Principal, status_id: uuid.UUID,
                 stix_id: str, reason: str) -> None:
    """Refuse a held object for good: its status entry turns to a failure."""
    why = _why(reason)
    async with pool.acquire() as conn, conn.transaction():
        row = await _take(conn, principal, status_id, stix_id)
        poster = orjson.loads(row["poster"])
        await statuses.settle_pending(conn, status_id, [], [{
            "id": stix_id, "version": row["version_text"],
            "message": f"objects[{row['ord']}]: rejected in privacy review"}])
        await audit.record(conn, [audit.entry(
            principal, "review.rejected", uuid.UUID(poster["org_id"]), subject=stix_id,
            status=str(status_id), version=row["version_text"], reason=why)])
