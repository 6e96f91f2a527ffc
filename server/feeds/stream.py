"""Live stream of a feed as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web

from schemas.taxii import Cursor, QueryError
from server.config import SETTINGS
from server.db.pool import POOL
from server.errors import BadRequest
from server.feeds.notifier import NOTIFIER
from server.feeds.reading import read_after
from server.feeds.shared import SHARED_READS
from server.ops.metrics import METRICS
from server.store.feeds import get_feed
from server.store.keys import is_live
from server.store.objects import latest_cursor
from server.web.auth import principal_of

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
    shared = request.app[SHARED_READS]
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
    metrics = request.app[METRICS]
    metrics.stream_opened()

    async def send(data: bytes) -> None:
        # A client that cannot keep up is cut off rather than buffered without bound.
        await asyncio.wait_for(response.write(data), settings.stream_write_timeout_s)

    async def fetch(after: Cursor | None) -> tuple[bytes, Cursor | None, bool] | None:
        async with pool.acquire() as conn:
            # Rights are judged again for every batch: a revoked key or a removed member
            # stops receiving at once.
            if not await is_live(conn, principal.key_id):
                return None
            page = await read_after(conn, principal, feed, after, _BATCH)
        # Rendered once, written whole: every subscriber at this position sends these bytes.
        events, last = [], after
        for row in page.rows:
            last = row.cursor
            events.append(_event(last, row.body))
        return b"".join(events), last, page.more

    await send(b"retry: 2000\n\n")
    try:
        while True:
            seen = notifier.generation
            # Subscribers of one feed with one key at one position, woken by the same
            # commit, get the same answer: one query serves them all.
            key = (feed.id, principal.key_id, cursor, seen)
            batch = await shared.read(key, lambda after=cursor: fetch(after))
            if batch is None:
                break
            data, cursor, more = batch
            if data and cursor is not None:
                await send(data)
                metrics.stream_sent(cursor.date_added)
            if more:
                continue
            if not await notifier.wait(seen, settings.heartbeat_s):
                await send(b": heartbeat\n\n")
    except (ConnectionResetError, TimeoutError):
        pass
    finally:
        metrics.stream_closed()
    return response
