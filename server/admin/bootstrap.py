"""First start: the platform operator's organisation and its first admin key."""

from __future__ import annotations

import asyncpg

from schemas.principal import Role
from server.store.keys import create_key
from server.store.orgs import create_org, platform_org
from server.store.records import NewApiKey

PLATFORM_ORG = "Accord platform"


async def bootstrap(conn: asyncpg.Connection) -> NewApiKey | None:
    """Create the platform organisation and an admin key once; None if already done."""
    async with conn.transaction():
        # Serialise concurrent first starts of several processes.
        await conn.execute("LOCK TABLE organizations IN SHARE ROW EXCLUSIVE MODE")
        if await platform_org(conn) is not None:
            return None
        org = await create_org(conn, PLATFORM_ORG, "nonprofit", is_platform=True)
        return await create_key(conn, org.id, Role.PLATFORM_ADMIN)
