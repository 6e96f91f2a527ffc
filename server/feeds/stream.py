"""Live stream of a feed as Server-Sent Events, resumable with Last-Event-ID (a channel)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from schemas.cursors import CursorCodec
from schemas.taxii import Cursor, QueryError
from schemas.tlp import with_tlp1_marking
from server.config import SETTINGS
from server.db.pool import POOL
from server.errors import BadRequest
from server.feeds import service
from server.feeds.api import ANY_ROLE, feed_id
from server.feeds.channels import DeliveryChannel
from server.feeds.notifier import NOTIFIER
from server.feeds.removals import is_removal, removal
from server.feeds.single_flight import SHARED_READS
from server.ops.metrics import METRICS
from server.store.records import BodyRow
from server.store.removals import RemovalRow
from server.web.auth import principal_of
from server.web.cursors import CURSORS
from server.web.routes import JsonApiRoutes

_BATCH = 500

admin = JsonApiRoutes()
CHANNEL = DeliveryChannel("stream", documented=(admin,))


def _start(request: web.Request) -> Cursor | None:
    """Where to resume: Last-Event-ID, else ?from=beginning, else from now on."""
    token = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if token:
        try:
            return request.app[CURSORS].decode(token)
        except QueryError as exc:
            raise BadRequest("Last-Event-ID is not an event id of this stream") from exc
    return None


def _event(event_id: str, body: str) -> bytes:
    # Stored JSON text has no raw newlines (JSON escapes them), so one data line suffices.
    kind = "removed" if is_removal(body) else "object"
    return f"id: {event_id}\nevent: {kind}\ndata: {body}\n\n".encode()


def render(rows: list[BodyRow | RemovalRow], after: Cursor | None,
           cursors: CursorCodec, *, tlp1: bool = False) -> tuple[bytes, Cursor | None]:
    """A batch as SSE events (ids sealed: they count nothing), and the cursor after its
    last one (with TLP 1.0 ids if `tlp1`: the rows are then BodyTlpRow)."""
    events, last = [], after
    for row in rows:
        last = row.cursor
        if isinstance(row, RemovalRow):
            # Expired or erased: no version to send, only what to drop.
            events.append(f"id: {cursors.encode(last)}\nevent: removed\ndata: ".encode()
                          + removal(row) + b"\n\n")
            continue
        body = with_tlp1_marking(row.body, row.tlp) if tlp1 else row.body  # type: ignore[attr-defined]
        events.append(_event(cursors.encode(last), body))
    return b"".join(events), last


@admin.route("GET", "/feeds/{feed_id}/stream", role=ANY_ROLE)
async def stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events of every new object the feed selects; resume with Last-Event-ID."""
    principal = principal_of(request)
    settings = request.app[SETTINGS]
    pool = request.app[POOL]
    notifier = request.app[NOTIFIER]
    shared = request.app[SHARED_READS]
    metrics = request.app[METRICS]
    feed = await service.own_feed(pool, principal, feed_id(request))
    cursor = await service.start(pool, _start(request),
                                 from_beginning=request.query.get("from") == "beginning")
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    })
    await response.prepare(request)
    metrics.stream_opened()

    async def send(data: bytes) -> None:
        # A client that cannot keep up is cut off rather than buffered without bound.
        await asyncio.wait_for(response.write(data), settings.stream_write_timeout_s)

    tlp1 = feed.tlp1_markings

    async def fetch(after: Cursor | None) -> tuple[bytes, Cursor | None, bool] | None:
        page = await service.next_batch(pool, principal, feed, after, _BATCH)
        if page is None:
            return None
        # Rendered once, written whole: every subscriber at this position sends these bytes.
        return *render(page.rows, after, request.app[CURSORS], tlp1=tlp1), page.more

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
