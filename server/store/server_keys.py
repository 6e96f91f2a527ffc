"""Keys the server holds in its database, shared by every process and kept across restarts."""

from __future__ import annotations

import secrets

import asyncpg


async def server_key(conn: asyncpg.Connection, name: str) -> bytes:
    """The server key `name`; the first process to ask creates it (32 random bytes)."""
    await conn.execute(
        "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name, secrets.token_bytes(32),
    )
    return await conn.fetchval("SELECT value FROM server_keys WHERE name = $1", name)
