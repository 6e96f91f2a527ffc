"""The asyncpg pool and the DSN it connects to."""

from __future__ import annotations

import asyncpg

from server.config import Settings
from server.db.embedded import start_embedded


def resolve_dsn(settings: Settings) -> str:
    """The configured database, or the embedded one started on demand."""
    return settings.database_url or start_embedded(settings.data_dir)


async def create_pool(dsn: str, settings: Settings) -> asyncpg.Pool:
    """Open the one pool of the process."""
    return await asyncpg.create_pool(
        dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        # Statements are prepared per connection; keep the cache for the hot queries.
        statement_cache_size=256,
    )
