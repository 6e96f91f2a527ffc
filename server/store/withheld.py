"""Withheld objects waiting for their release batch (decided, durable, served to nobody yet)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from server.store.objects import Facets, StagedObject

_COLUMNS = (
    "stix_id", "stix_type", "spec_version", "version", "version_text", "body", "producer_org",
    "tlp", "sectors", "recipients", "confidence", "labels", "indicator_types", "valid_until",
    "revoked", "created_by_ref", "ioc_kinds", "ioc_values",
)


@dataclass(frozen=True, slots=True)
class Waiting:
    """One released object and where it goes."""

    collection_id: uuid.UUID
    group_id: uuid.UUID
    staged: StagedObject


async def hold(conn: asyncpg.Connection, collection_id: uuid.UUID, group_id: uuid.UUID,
               objects: list[StagedObject]) -> None:
    """Keep these withheld objects until a release batch stores them (in the caller's
    transaction, so they are durable before the post is acknowledged)."""
    placeholders = ", ".join(f"${n}" for n in range(3, len(_COLUMNS) + 3))
    await conn.executemany(
        f"INSERT INTO withheld_queue (collection_id, group_id, {', '.join(_COLUMNS)})"
        f" VALUES ($1, $2, {placeholders})"
        f" ON CONFLICT (collection_id, stix_id, coalesce(version_text, ''))"
        f" DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in _COLUMNS)}",
        [(collection_id, group_id, o.stix_id, o.stix_type, o.spec_version, o.version,
          o.version_text, o.body, o.producer_org, o.tlp, o.sectors, o.recipients,
          o.facets.confidence, o.facets.labels, o.facets.indicator_types, o.facets.valid_until,
          o.facets.revoked, o.facets.created_by_ref, o.facets.ioc_kinds, o.facets.ioc_values)
         for o in objects],
    )


async def claim_tick(conn: asyncpg.Connection, tick: datetime) -> bool:
    """Whether this transaction releases the batch of `tick` (no process did, none later)."""
    return await conn.fetchval(
        "UPDATE withheld_release_clock SET last_tick = $1 WHERE last_tick < $1 RETURNING true",
        tick) is not None


async def take_due(conn: asyncpg.Connection, tick: datetime, min_producers: int,
                   max_hold: timedelta) -> list[Waiting]:
    """Remove and return the objects queued before `tick` of every trust group whose queue
    holds objects of `min_producers` producers, or whose oldest has waited `max_hold`."""
    rows = await conn.fetch(
        f"WITH due AS (SELECT group_id FROM withheld_queue WHERE queued_at < $1"
        f"  GROUP BY group_id HAVING count(DISTINCT producer_org) >= $2"
        f"  OR min(queued_at) <= $1 - $3::interval)"
        f" DELETE FROM withheld_queue q USING due WHERE q.group_id = due.group_id"
        f" AND q.queued_at < $1 RETURNING q.collection_id, q.group_id, {', '.join(_COLUMNS)}",
        tick, min_producers, max_hold,
    )
    return [Waiting(r["collection_id"], r["group_id"], StagedObject(
        r["stix_id"], r["stix_type"], r["spec_version"], r["version"], r["version_text"],
        r["body"], r["producer_org"], r["tlp"], r["sectors"], list(r["recipients"]), True,
        Facets(r["confidence"], r["labels"], r["indicator_types"], r["valid_until"],
               r["revoked"], r["created_by_ref"], r["ioc_kinds"], r["ioc_values"]),
    )) for r in rows]


async def group_identities(conn: asyncpg.Connection,
                           group_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The STIX identity id of each of these trust groups (withheld posts name it)."""
    rows = await conn.fetch("SELECT id, identity_id FROM trust_groups WHERE id = ANY($1::uuid[])",
                            group_ids)
    return {r["id"]: r["identity_id"] for r in rows}


async def waiting_count(conn: asyncpg.Connection) -> int:
    """How many withheld objects wait for a release."""
    return await conn.fetchval("SELECT count(*) FROM withheld_queue")
