"""The asyncpg pool and the DSN it connects to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from aiohttp import web

from server.config import Settings
from server.db.embedded import start_embedded

# Accord's queries are short keyset walks that stop at a LIMIT, but the planner costs them
# by the rows they could reach: past a few hundred thousand objects those estimates cross
# jit_above_cost, and stock PostgreSQL (jit = on) then compiles every page with LLVM:
# 230-290 ms of JIT on a 3 ms page on PostgreSQL 15 at 1M objects (docs/production.md).
SESSION_SETTINGS = {"jit": "off"}

# The process's pool and the DSN it was opened on, for as long as the application lives.
POOL = web.AppKey("pool", asyncpg.Pool)
DSN = web.AppKey("dsn", str)


def resolve_dsn(settings: Settings) -> str:
    """The configured database, or the embedded one started (created if new) on demand."""
    return settings.database_url or start_embedded(settings.data_dir)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Released connections skip asyncpg's reset query (a round trip per acquire).

    The pool still rolls back an open transaction; nothing here sets session state,
    holds a cursor, LISTENs or keeps an advisory lock past its statement.
    """


async def create_pool(dsn: str, settings: Settings) -> asyncpg.Pool:
    """Open the one pool of the process."""
    return await asyncpg.create_pool(
        dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        # Statements are prepared per connection; keep the cache for the hot queries.
        statement_cache_size=256,
        reset=_keep_session,
        server_settings=SESSION_SETTINGS,
    )


@asynccontextmanager
async def atomic(pool: asyncpg.Pool | asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """One transaction on a pool or on a connection already held (the CLI hands in a
    connection, the server a pool)."""
    if isinstance(pool, asyncpg.Connection):
        async with pool.transaction():
            yield pool
        return
    async with pool.acquire() as conn, conn.transaction():
        yield conn
