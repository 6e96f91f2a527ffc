"""Collections of a trust group, as a given principal sees them."""

from __future__ import annotations

import uuid

import asyncpg

from schemas.principal import Principal
from server import policy
from server.errors import NotFound
from server.store.query import Params
from server.store.records import Collection
from server.store.visibility import member_of_collection


def _collection(principal: Principal, row: asyncpg.Record) -> Collection:
    member = row["member"]
    return Collection(
        id=row["id"],
        group_id=row["group_id"],
        title=row["title"],
        description=row["description"],
        allow_custom=row["allow_custom"],
        can_read=policy.can_read_collection(principal, member),
        can_write=policy.can_write_collection(principal, member, row["archived"]),
        archived=row["archived"],
        default_tlp=row["default_tlp"],
        default_attribution=row["default_attribution"],
        group_identity=row["group_identity"],
        allow_anonymous=row["allow_anonymous"],
    )


def _select(principal: Principal, p: Params) -> str:
    member = member_of_collection(principal, p)
    where = "true" if principal.is_platform_admin else member
    return (
        f"SELECT c.id, c.group_id, c.title, c.description, c.allow_custom, c.archived,"
        f" coalesce(c.default_tlp, g.default_tlp) AS default_tlp,"
        f" coalesce(c.default_attribution, g.default_attribution) AS default_attribution,"
        f" g.identity_id AS group_identity, g.allow_anonymous, {member} AS member"
        f" FROM collections c JOIN trust_groups g ON g.id = c.group_id WHERE {where}"
    )


async def list_collections(conn: asyncpg.Connection, principal: Principal) -> list[Collection]:
    """Every collection the principal may read, oldest first."""
    p = Params()
    rows = await conn.fetch(_select(principal, p) + " ORDER BY c.created, c.id", *p.values)
    return [_collection(principal, r) for r in rows]


async def get_collection(
    conn: asyncpg.Connection, principal: Principal, collection_id: uuid.UUID
) -> Collection:
    """The collection if the principal may read it; NotFound alike if absent or hidden."""
    p = Params()
    sql = _select(principal, p) + f" AND c.id = {p(collection_id)}"
    row = await conn.fetchrow(sql, *p.values)
    if row is None:
        raise NotFound("no such collection")
    return _collection(principal, row)


async def create_collection(
    conn: asyncpg.Connection,
    group_id: uuid.UUID,
    title: str,
    description: str | None = None,
    *,
    allow_custom: bool = True,
) -> uuid.UUID:
    """Create a collection owned by a trust group; return its id."""
    collection_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO collections (id, group_id, title, description, allow_custom)"
        " VALUES ($1, $2, $3, $4, $5)",
        collection_id, group_id, title, description, allow_custom,
    )
    return collection_id


async def reference_collection(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    """(collection id, group id) of the reference collection every organisation reads."""
    row = await conn.fetchrow(
        "SELECT c.id, c.group_id FROM collections c JOIN trust_groups g ON g.id = c.group_id"
        " WHERE g.is_reference"
    )
    return row["id"], row["group_id"]
