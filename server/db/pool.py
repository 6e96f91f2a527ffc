"""The asyncpg pool and the DSN it connects to."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from aiohttp import web

from server.config import Settings
from server.db.embedded import start_embedded
from server.errors import AccordError


class NoDatabase(AccordError):
    """A command that acts on the database found none to act on."""

    title = "No database"

# The process's pool and the DSN it was opened on, for as long as the application lives.
POOL = web.AppKey("pool", asyncpg.Pool)
DSN = web.AppKey("dsn", str)


def resolve_dsn(settings: Settings) -> str:
    """The configured database, or the embedded one started (created if new) on demand."""
    return settings.database_url or start_embedded(settings.data_dir)


def where_to_point() -> str:
    """How to point a command that acts on the database at the server's."""
    return ("Run it in the directory where `accord serve` runs, or point it at the server's"
            " data: ACCORD_DATA_DIR=<the server's .accord directory>, or"
            " ACCORD_DATABASE_URL=postgresql://... as the server has it, or use the server's"
            " admin API with --url URL --key TOKEN (or ACCORD_URL, ACCORD_KEY)")


def existing_dsn(settings: Settings) -> str:
    """The server's database for a command that must not create one (only `serve` does)."""
    if settings.database_url:
        return settings.database_url
    pgdata = Path(settings.data_dir).resolve() / "pgdata"
    if not (pgdata / "PG_VERSION").is_file():
        raise NoDatabase(
            f"no Accord database here: looked for the embedded PostgreSQL in {pgdata}"
            " (ACCORD_DATA_DIR, default ./.accord) and ACCORD_DATABASE_URL is not set."
            f" {where_to_point()}. Only `accord serve` creates a database.",
            details={"looked_in": str(pgdata)})
    return start_embedded(settings.data_dir)


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
    )
