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
# A few connections that run each prepared statement on its generic plan (see
# create_pool's `generic`), for the single-value lookup.
GENERIC_POOL = web.AppKey("generic_pool", asyncpg.Pool)
DSN = web.AppKey("dsn", str)


def resolve_dsn(settings: Settings) -> str:
    """The configured database, or the embedded one started (created if new) on demand."""
    return settings.database_url or start_embedded(settings.data_dir)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Released connections skip asyncpg's reset query (a round trip per acquire).

    The pool still rolls back an open transaction; nothing here sets session state,
    holds a cursor, LISTENs or keeps an advisory lock past its statement.
    """


async def create_pool(dsn: str, settings: Settings, *, generic: bool = False) -> asyncpg.Pool:
    """Open the process's pool, or (`generic`) its small pool of generic-plan connections.

    PostgreSQL plans a prepared statement afresh at each execution (a custom plan) until a
    generic plan looks no dearer. For the single-value lookup it never does: the generic
    plan costs an array overlap at the default selectivity, thousands of rows, where a
    custom plan knows the value is rare. Yet both walk the same indexes, and planning the
    query (the visibility predicate, the lateral probe, the sighting aggregates) took 1 ms
    of the 1.35 ms it cost at a million indicators; on its generic plan it takes 0.35 ms.
    The setting is a session's, so those statements get connections of their own and
    every other query keeps the planner's choice.
    """
    session = {**SESSION_SETTINGS, "plan_cache_mode": "force_generic_plan"} if generic \
        else SESSION_SETTINGS
    return await asyncpg.create_pool(
        dsn,
        min_size=1 if generic else settings.pool_min_size,
        max_size=max(2, settings.pool_max_size // 2) if generic else settings.pool_max_size,
        # Statements are prepared per connection; keep the cache for the hot queries.
        statement_cache_size=256,
        reset=_keep_session,
        server_settings=session,
        # Every release of a connection would arm (and the next acquire cancel) a timer to
        # close it after idling: a thirtieth of a single lookup's server time. So the
        # generic pool's connections (up to max_size, half the main pool's) stay open.
        **({"max_inactive_connection_lifetime": 0} if generic else {}),
    )


@asynccontextmanager
async def atomic(pool: asyncpg.Pool | asyncpg.Connection, *, snapshot: bool = False,
                 ) -> AsyncIterator[asyncpg.Connection]:
    """One transaction on a pool or on a connection already held (the CLI hands in a
    connection, the server a pool); `snapshot`: read-only, every statement seeing the
    same snapshot (repeatable read), for an answer read by several queries."""
    options = {"isolation": "repeatable_read", "readonly": True} if snapshot else {}
    if isinstance(pool, asyncpg.Connection):
        async with pool.transaction(**options):
            yield pool
        return
    async with pool.acquire() as conn, conn.transaction(**options):
        yield conn
