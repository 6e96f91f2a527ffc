"""Blocklist (text, CSV) and STIX bundle exports of a feed (a delivery channel): ETags
from a watermark, answers streamed as PostgreSQL writes them, deltas with ?since=<etag>,
gzip when asked."""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.web import ContentCoding

from server.db.pool import POOL
from server.errors import BadRequest
from server.feeds.api import ANY_ROLE, feed_id
from server.feeds.channels import DeliveryChannel
from server.store import exports as store
from server.store.feeds import get_feed
from server.web.auth import principal_of
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
CHANNEL = DeliveryChannel("export", documented=(admin,))

FORMATS = {
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "stix": "application/stix+json;version=2.1",
}
_CHUNK = 1 << 18  # bytes written to the client at a time


def _etag_list(header: str) -> set[str]:
    return {t.strip().removeprefix("W/").strip('"') for t in header.split(",") if t.strip()}


class _Sink:
    """Buffers what PostgreSQL sends (one message a row) into large writes."""

    def __init__(self, resp: web.StreamResponse) -> None:
        self.resp, self.parts, self.size = resp, [], 0

    async def __call__(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= _CHUNK:
            await self.flush()

    async def flush(self) -> None:
        if self.parts:
            data, self.parts, self.size = b"".join(self.parts), [], 0
            await self.resp.write(data)


@admin.route("GET", "/feeds/{feed_id}/export.{fmt}", role=ANY_ROLE,
             errors=(400, 401, 403, 404), path_values={"fmt": tuple(FORMATS)})
async def export_feed(request: web.Request) -> web.StreamResponse:
    """Blocklist (txt, csv) or STIX bundle (stix) of current indicators; honours
    If-None-Match; `export.txt?since=<etag>` answers the change since that ETag."""
    return await export(request, feed_id(request), request.match_info["fmt"])


async def export(request: web.Request, which: uuid.UUID, fmt: str) -> web.StreamResponse:
    """A feed's export; 304 when If-None-Match names the current ETag; a delta with since=."""
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}")
    principal = principal_of(request)
    kinds = sorted(set(request.query.getall("kind", []))) or None
    since = request.query.get("since")
    if since is not None and fmt != "txt":
        raise BadRequest("since= applies to export.txt only")
    pool = request.app[POOL]
    async with pool.acquire() as conn:
        feed = await get_feed(conn, principal.org_id, which)
        # The watermark is read before the rows, so an answer is never older than its ETag
        # (at worst newer: the next poll then sees a new ETag and fetches the change again).
        mark = await store.watermark(conn, principal, feed.id, feed.filter, feed.updated,
                                     f"{fmt}|{','.join(kinds or [])}")
        headers = {"ETag": f'"{mark.etag}"', "Cache-Control": "private, no-cache"}
        if mark.etag in _etag_list(request.headers.get("If-None-Match", "")):
            return web.Response(status=304, headers=headers)
        base = await store.recall(conn, since.strip().strip('"')) if since else None
        if base is not None and base.basis != mark.basis:
            base = None  # memberships, filter or format changed: only a full answer is right
        await store.remember(conn, mark)
        async with conn.transaction(readonly=True):  # the STIX cursor needs one
            change = None
            if base is not None:
                change = await store.delta(conn, principal, feed.filter, kinds, base, mark)
            headers["X-Accord-Export"] = "delta" if change is not None else "full"
            resp = web.StreamResponse(headers={**headers, "Content-Type": FORMATS[fmt]})
            if "gzip" in request.headers.get("Accept-Encoding", "").lower():
                resp.enable_compression(ContentCoding.gzip)
            await resp.prepare(request)
            sink = _Sink(resp)
            if change is not None:
                await sink(b"".join([*(f"+{v}\n".encode() for v in change.added),
                                     *(f"-{v}\n".encode() for v in change.removed)]))
            elif fmt == "txt":
                await store.copy_text(conn, principal, feed.filter, kinds, sink)
            elif fmt == "csv":
                await store.copy_csv(conn, principal, feed.filter, kinds, sink)
            else:
                await sink(f'{{"type":"bundle","id":"bundle--{uuid.uuid4()}","objects":['
                           .encode())
                first = True
                async for batch in store.bodies(conn, principal, feed.filter):
                    await sink(("" if first else ",").encode() + ",".join(batch).encode())
                    first = False
                await sink(b"]}")
            await sink.flush()
    await resp.write_eof()
    return resp

