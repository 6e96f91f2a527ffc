"""Trust groups and their member organisations."""

from __future__ import annotations

import uuid

import asyncpg

from server.errors import Conflict, NotFound
from server.store.records import TrustGroup


async def create_group(
    conn: asyncpg.Connection, name: str, members: list[uuid.UUID]
) -> TrustGroup:
    """Create a trust group with its first member organisations."""
    group_id = uuid.uuid4()
    identity_id = f"identity--{uuid.uuid4()}"
    async with conn.transaction():
        try:
            await conn.execute(
                "INSERT INTO trust_groups (id, name, identity_id) VALUES ($1, $2, $3)",
                group_id, name, identity_id,
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"a trust group named {name!r} already exists") from exc
        await conn.executemany(
            "INSERT INTO group_members (group_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(group_id, org) for org in members],
        )
    return TrustGroup(group_id, name, identity_id)


async def group_by_name(conn: asyncpg.Connection, name: str) -> TrustGroup:
    """The trust group with this name, or NotFound."""
    row = await conn.fetchrow(
        "SELECT id, name, identity_id FROM trust_groups WHERE name = $1", name
    )
    if row is None:
        raise NotFound(f"no trust group named {name!r}")
    return TrustGroup(row["id"], row["name"], row["identity_id"])


async def add_member(conn: asyncpg.Connection, group_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    """Add an organisation to a group; False if it was already a member."""
    status = await conn.execute(
        "INSERT INTO group_members (group_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        group_id, org_id,
    )
    return status.endswith(" 1")


async def remove_member(
    conn: asyncpg.Connection, group_id: uuid.UUID, org_id: uuid.UUID
) -> bool:
    """Remove an organisation from a group; its keys lose access at once."""
    status = await conn.execute(
        "DELETE FROM group_members WHERE group_id = $1 AND org_id = $2", group_id, org_id
    )
    return status.endswith(" 1")
