"""First start: the platform operator's first admin key (its organisation comes with 0002)."""

from __future__ import annotations

import asyncpg

from schemas.principal import Role
from server.store.keys import create_key, has_platform_admin_key, lock_keys
from server.store.orgs import platform_org
from server.store.records import NewApiKey


async def bootstrap(conn: asyncpg.Connection) -> NewApiKey | None:
    """Create the first platform-admin key once; None if one was ever created."""
    async with conn.transaction():
        # Serialise concurrent first starts of several processes.
        await lock_keys(conn)
        if await has_platform_admin_key(conn):
            return None
        org = await platform_org(conn)
        return await create_key(conn, org.id, Role.PLATFORM_ADMIN)
