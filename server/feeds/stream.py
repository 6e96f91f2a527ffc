"""Live stream of a feed as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web

from schemas.taxii import Cursor, QueryError
from server.appkeys import NOTIFIER, POOL, SETTINGS, principal_of
from server.errors import BadRequest
from server.feeds.reading import read_after
from server.store.feeds import get_feed
from server.store.keys import is_live
from server.store.objects import latest_cursor

_BATCH = 500


def _start(request: web.Request) -> Cursor | None:
    """Where to resume: Last-Event-ID, else ?from=beginning, else from now on."""
    token = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if token:
        try:
            return Cursor.decode(token)
        except QueryError as exc:
            raise BadRequest("Last-Event-ID is not an event id of this stream") from exc
    return None


def _event(cursor: Cursor, body: str) -> bytes:
    # Stored JSON text has no raw newlines (JSON escapes them), so one data line suffices.
    return f"id: {cursor.encode()}\nevent: object\ndata: {body}\n\n".encode()


async def stream(request: web.Request, feed_id: uuid.UUID) -> web.StreamResponse:
    """Send every committed object the feed selects, once, in commit order, for ever."""
    principal = principal_of(request)
    settings = request.app[SETTINGS]
    pool = request.app[POOL]
    notifier = request.app[NOTIFIER]
    async with pool.acquire() as conn:
        feed = await get_feed(conn, principal.org_id, feed_id)
        cursor = _start(request)
        if cursor is None and request.query.get("from") != "beginning":
            cursor = await latest_cursor(conn)
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    })
    await response.prepare(request)

    async def send(data: bytes) -> None:
        # A client that cannot keep up is cut off rather than buffered without bound.
        await asyncio.wait_for(response.write(data), settings.stream_write_timeout_s)

    await send(b"retry: 2000\n\n")
    try:
        while True:
            seen = notifier.generation
            async with pool.acquire() as conn:
                # Rights are judged again for every batch: a revoked key or a removed member
                # stops receiving at once.
                if not await is_live(conn, principal.key_id):
                    break
                page = await read_after(conn, principal, feed, cursor, _BATCH)
            for row in page.rows:
                cursor = Cursor(row["date_added"], row["seq"])
                await send(_event(cursor, row["body"]))
            if page.more:
                continue
            if not await notifier.wait(seen, settings.heartbeat_s):
                await send(b": heartbeat\n\n")
    except (ConnectionResetError, TimeoutError):
        pass
    return response
