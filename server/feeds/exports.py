"""Blocklist (text, CSV) and STIX bundle exports of a feed (a delivery channel): ETags
from a watermark, answers streamed as PostgreSQL writes them, deltas with ?since=<etag>,
gzip when asked."""

from __future__ import annotations

import asyncio
import uuid
import zlib

from aiohttp import web

from server.config import SETTINGS
from server.db.pool import POOL
from server.errors import BadRequest
from server.feeds.api import ANY_ROLE, feed_id
from server.feeds.channels import DeliveryChannel
from server.store import exports as store
from server.store.feeds import get_feed
from server.web.auth import principal_of
from server.web.middleware import accepts_gzip
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
CHANNEL = DeliveryChannel("export", documented=(admin,))

FORMATS = {
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "stix": "application/stix+json;version=2.1",
}
# gzip input gathered before one zlib call in a worker thread (zlib releases the GIL, so
# PostgreSQL's stream keeps being read meanwhile); plain answers are written as they come.
_GZIP_CHUNK = 1 << 18


def _etag_list(header: str) -> set[str]:
    return {t.strip().removeprefix("W/").strip('"') for t in header.split(",") if t.strip()}


class _Sink:
    """Relays what PostgreSQL sends to the client.

    asyncpg hands over all the COPY rows of one socket read at once (tens of kB, whole
    rows), so a plain answer writes each straight through: no copy, no join; the write
    waits only when the client is slower than PostgreSQL (aiohttp's drain). A gzip answer
    is compressed here at the server's `gzip_level` (aiohttp's own compression would use
    level 6: at a million values 2-3x the CPU of level 1 for 20 % fewer bytes).
    """

    def __init__(self, resp: web.StreamResponse, gzip_level: int | None) -> None:
        self.resp = resp
        self.packer = (zlib.compressobj(gzip_level, zlib.DEFLATED, 31)
                       if gzip_level is not None else None)  # wbits 31: a gzip member
        self.parts: list[bytes] = []
        self.size = 0

    async def __call__(self, data: bytes) -> None:
        if self.packer is None:
            await self.resp.write(data)
            return
        self.parts.append(data)
        self.size += len(data)
        if self.size >= _GZIP_CHUNK:
            await self._pack()

    async def _pack(self) -> None:
        assert self.packer is not None
        data, self.parts, self.size = b"".join(self.parts), [], 0
        packed = await asyncio.get_running_loop().run_in_executor(
            None, self.packer.compress, data)
        if packed:
            await self.resp.write(packed)

    async def flush(self) -> None:
        """Write what is held back (the end of a gzip member)."""
        if self.packer is not None:
            await self._pack()
            await self.resp.write(self.packer.flush())


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
            headers["Content-Type"] = FORMATS[fmt]
            headers["Vary"] = "Accept-Encoding"
            level = request.app[SETTINGS].gzip_level
            gzip = level > 0 and accepts_gzip(request.headers.get("Accept-Encoding", ""))
            if gzip:
                headers["Content-Encoding"] = "gzip"
            resp = web.StreamResponse(headers=headers)
            await resp.prepare(request)
            sink = _Sink(resp, level if gzip else None)
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

