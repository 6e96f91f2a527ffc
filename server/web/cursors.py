"""The application's cursor codec: seals `next` tokens and stream event ids."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from schemas.cursors import CursorCodec
from server.config import Settings
from server.store.server_keys import server_key

# Set at start-up, once the database is reachable.
CURSORS = web.AppKey("cursors", CursorCodec)


async def cursor_codec(conn: asyncpg.Connection, settings: Settings) -> CursorCodec:
    """The codec under ACCORD_CURSOR_KEY, else under the key every process shares in the
    database (so tokens survive restarts and open in any process)."""
    if settings.cursor_key is not None:
        return CursorCodec(settings.cursor_key.get_secret_value().encode())
    return CursorCodec(await server_key(conn, "cursor"))
