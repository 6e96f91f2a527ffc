"""Blocklist (text, CSV) and STIX bundle exports of a feed, with ETag/If-None-Match (a
delivery channel)."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from schemas.principal import Principal
from server.db.pool import POOL
from server.errors import BadRequest
from server.feeds import service
from server.feeds.api import ANY_ROLE, feed_id
from server.feeds.channels import DeliveryChannel
from server.store.objects import Projection
from server.store.records import BlocklistRow, BodyRow
from server.web.auth import principal_of
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
CHANNEL = DeliveryChannel("export", documented=(admin,))

FORMATS = {
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "stix": "application/stix+json;version=2.1",
}


def _text(rows: list[BlocklistRow], kinds: set[str] | None) -> str:
    values = sorted({v for r in rows for k, v in zip(r.ioc_kinds, r.ioc_values,
                                                     strict=True) if not kinds or k in kinds})
    return "".join(f"{v}\n" for v in values)


def _cell(text: str) -> str:
    """Free text as a spreadsheet reads it, never as a formula (an organisation's name)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(rows: list[BlocklistRow], kinds: set[str] | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "value", "indicator", "tlp", "confidence", "valid_until",
                     "producer"])
    for r in rows:
        producer = _cell(r.producer_name or "withheld")
        for kind, value in zip(r.ioc_kinds, r.ioc_values, strict=True):
            if not kinds or kind in kinds:
                until = r.valid_until.isoformat() if r.valid_until else ""
                writer.writerow([kind, value, r.stix_id, r.tlp, r.confidence or "", until,
                                 producer])
    return out.getvalue()


def _bundle(rows: list[BodyRow]) -> str:
    return (f'{{"type":"bundle","id":"bundle--{uuid.uuid4()}","objects":['
            + ",".join(r.body for r in rows) + "]}")


@dataclass(frozen=True, slots=True)
class Export:
    """What a feed's export holds for one principal now, rendered only on demand."""

    etag: str
    fmt: str
    rows: list
    kinds: set[str] | None

    @property
    def media_type(self) -> str:
        return FORMATS[self.fmt]

    def render(self) -> bytes:
        """The export's body in its format."""
        if self.fmt == "txt":
            return _text(self.rows, self.kinds).encode()
        if self.fmt == "csv":
            return _csv(self.rows, self.kinds).encode()
        return _bundle(self.rows).encode()


async def export(
    pool: asyncpg.Pool, principal: Principal, feed_id: uuid.UUID, fmt: str,
    kinds: set[str] | None,
) -> Export:
    """A feed's export for this principal, as of now."""
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}")
    blocklist = fmt != "stix"
    projection = Projection.BLOCKLIST if blocklist else Projection.BODY
    feed, rows, fingerprint = await service.snapshot(pool, principal, feed_id, projection,
                                                     blocklist=blocklist)
    # What this principal sees now, the feed's last change and the request's shape:
    # equal tags mean equal answers.
    raw = f"{fingerprint}|{feed.updated.isoformat()}|{fmt}|{sorted(kinds or [])}"
    etag = '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'
    return Export(etag, fmt, rows, kinds)


@admin.route("GET", "/feeds/{feed_id}/export.{fmt}", role=ANY_ROLE)
async def export_feed(request: web.Request) -> web.Response:
    """Blocklist (txt, csv) or STIX bundle (stix) of current indicators; honours If-None-Match."""
    which = feed_id(request)
    kinds = set(request.query.getall("kind", [])) or None
    found = await export(request.app[POOL], principal_of(request), which,
                         request.match_info["fmt"], kinds)
    headers = {"ETag": found.etag, "Cache-Control": "private, no-cache"}
    if found.etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    return web.Response(body=found.render(),
                        headers={**headers, "Content-Type": found.media_type})
