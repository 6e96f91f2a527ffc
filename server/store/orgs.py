"""Organisations."""

from __future__ import annotations

import uuid

import asyncpg

from server.errors import Conflict, NotFound
from server.store.records import Org

_COLUMNS = "id, name, sector, identity_id, is_platform"


def _org(row: asyncpg.Record) -> Org:
    return Org(**dict(row))


async def create_org(
    conn: asyncpg.Connection, name: str, sector: str, *, is_platform: bool = False
) -> Org:
    """Create an organisation with a fresh STIX identity id, which only it may post."""
    try:
        # The identity id is reserved platform-wide, so that no other member can publish
        # an identity object in this organisation's name or name it as created_by_ref.
        row = await conn.fetchrow(
            f"WITH o AS (INSERT INTO organizations (id, name, sector, identity_id, is_platform)"
            f" VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}),"
            f" owned AS (INSERT INTO reserved_ids (stix_id, owner_org)"
            f" SELECT identity_id, id FROM o)"
            f" SELECT * FROM o",
            uuid.uuid4(), name, sector, f"identity--{uuid.uuid4()}", is_platform,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"an organisation named {name!r} already exists") from exc
    return _org(row)


async def org_by_name(conn: asyncpg.Connection, name: str) -> Org:
    """The organisation with this name, or NotFound."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM organizations WHERE name = $1", name)
    if row is None:
        raise NotFound(f"no organisation named {name!r}")
    return _org(row)


async def platform_org(conn: asyncpg.Connection) -> Org:
    """The platform operator's organisation (created by migration 0002)."""
    return _org(await conn.fetchrow(f"SELECT {_COLUMNS} FROM organizations WHERE is_platform"))


async def orgs_by_identity(
    conn: asyncpg.Connection, identity_ids: list[str]
) -> dict[str, uuid.UUID]:
    """Organisation ids of the given STIX identity ids (unknown ones are absent)."""
    rows = await conn.fetch(
        "SELECT identity_id, id FROM organizations WHERE identity_id = ANY($1::text[])",
        identity_ids,
    )
    return {r["identity_id"]: r["id"] for r in rows}


async def org_by_id(conn: asyncpg.Connection, org_id: uuid.UUID) -> Org:
    """The organisation with this id, or NotFound."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM organizations WHERE id = $1", org_id)
    if row is None:
        raise NotFound("no such organisation")
    return _org(row)


async def resolve_org(conn: asyncpg.Connection, ref: str) -> Org:
    """The organisation named by an id or an exact name, or NotFound."""
    try:
        return await org_by_id(conn, uuid.UUID(ref))
    except ValueError:
        return await org_by_name(conn, ref)


async def list_orgs(conn: asyncpg.Connection) -> list[Org]:
    """Every organisation, by name."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM organizations ORDER BY name")
    return [_org(r) for r in rows]
