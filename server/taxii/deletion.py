"""Deleting object versions (TAXII 2.1 s5.6): only the producer or a platform admin."""

from __future__ import annotations

import uuid

import asyncpg

from schemas.principal import Principal
from schemas.taxii import ObjectQuery
from server import policy
from server.errors import Forbidden, NotFound
from server.store import objects as object_store
from server.store.collections import get_collection


async def delete_object(
    pool: asyncpg.Pool,
    principal: Principal,
    collection_id: uuid.UUID,
    stix_id: str,
    query: ObjectQuery,
) -> int:
    """Delete the visible versions the query matches, all or none; return how many."""
    async with pool.acquire() as conn, conn.transaction():
        await get_collection(conn, principal, collection_id)
        rows = await object_store.matching_versions(conn, principal, collection_id, stix_id, query)
        if not rows:
            raise NotFound("no such object")
        if not all(policy.can_delete(principal, row.producer_org) for row in rows):
            raise Forbidden("only the organisation that posted an object, or a platform"
                            " admin, may delete it")
        return await object_store.delete_versions(conn, [row.seq for row in rows])
