"""The settings Accord's own database sessions run with (docs/production.md)."""

from __future__ import annotations

from server.db.pool import POOL


async def test_pool_sessions_run_without_jit(server):
    # Stock PostgreSQL has jit = on, which costs every page hundreds of milliseconds at
    # a million objects; Accord's sessions switch it off whatever the server's default.
    async with server.app[POOL].acquire() as conn:
        assert await conn.fetchval("SHOW jit") == "off"
