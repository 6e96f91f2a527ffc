"""Blocklist (text, CSV) and STIX bundle exports of a feed, with ETag/If-None-Match."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid

from aiohttp import web

from server.db.pool import POOL
from server.errors import BadRequest
from server.store.feeds import get_feed
from server.store.objects import Projection, export_rows
from server.store.records import BlocklistRow, BodyRow
from server.web.auth import principal_of

FORMATS = {
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "stix": "application/stix+json;version=2.1",
}


def _text(rows: list[BlocklistRow], kinds: set[str] | None) -> str:
    values = sorted({v for r in rows for k, v in zip(r.ioc_kinds, r.ioc_values,
                                                     strict=True) if not kinds or k in kinds})
    return "".join(f"{v}\n" for v in values)


def _csv(rows: list[BlocklistRow], kinds: set[str] | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "value", "indicator", "tlp", "confidence", "valid_until"])
    for r in rows:
        for kind, value in zip(r.ioc_kinds, r.ioc_values, strict=True):
            if not kinds or kind in kinds:
                until = r.valid_until.isoformat() if r.valid_until else ""
                writer.writerow([kind, value, r.stix_id, r.tlp, r.confidence or "", until])
    return out.getvalue()


def _bundle(rows: list[BodyRow]) -> str:
    return (f'{{"type":"bundle","id":"bundle--{uuid.uuid4()}","objects":['
            + ",".join(r.body for r in rows) + "]}")


async def export(request: web.Request, feed_id: uuid.UUID, fmt: str) -> web.Response:
    """A feed's export; 304 when If-None-Match names the current ETag."""
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}")
    principal = principal_of(request)
    kinds = set(request.query.getall("kind", [])) or None
    blocklist = fmt != "stix"
    async with request.app[POOL].acquire() as conn:
        feed = await get_feed(conn, principal.org_id, feed_id)
        projection = Projection.BLOCKLIST if blocklist else Projection.BODY
        rows, fingerprint = await export_rows(conn, principal, feed.filter, projection,
                                              blocklist=blocklist)
    # What this principal sees now, the feed's last change and the request's shape:
    # equal tags mean equal answers.
    raw = f"{fingerprint}|{feed.updated.isoformat()}|{fmt}|{sorted(kinds or [])}"
    etag = '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    if fmt == "txt":
        body = _text(rows, kinds)
    elif fmt == "csv":
        body = _csv(rows, kinds)
    else:
        body = _bundle(rows)
    return web.Response(body=body.encode(), headers={**headers, "Content-Type": FORMATS[fmt]})
