"""What every TAXII handler shares: media types, bounded bodies, responses, page headers."""

from __future__ import annotations

from datetime import datetime

import orjson
from aiohttp import web

from schemas.taxii import STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, format_timestamp
from server.config import SETTINGS
from server.errors import (
    NotAcceptable,
    UnsupportedMediaType,
)
from server.web.bodies import read_bounded


def _media_ranges(header: str) -> list[tuple[str, dict[str, str]]]:
    ranges = []
    for part in header.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        values = {}
        for param in params:
            name, _, value = param.partition("=")
            values[name.strip().lower()] = value.strip().strip('"')
        if values.get("q") in ("0", "0.0", "0.00", "0.000"):
            continue
        ranges.append((kind.lower(), values))
    return ranges


def _is_ours(kind: str, params: dict[str, str], allow_stix: bool) -> str | None:
    if params.get("version", "2.1") != "2.1":
        return None
    if kind == "application/taxii+json":
        return TAXII_MEDIA_TYPE
    if kind == "application/stix+json" and allow_stix:
        return STIX_MEDIA_TYPE
    return None


def negotiate(request: web.Request, *, allow_stix: bool = False) -> str:
    """The media type to answer with (TAXII 2.1 s1.6.8); NotAcceptable if none fits Accept."""
    header = request.headers.get("Accept", "*/*") or "*/*"
    for kind, params in _media_ranges(header):
        if kind in ("*/*", "application/*"):
            return TAXII_MEDIA_TYPE
        chosen = _is_ours(kind, params, allow_stix)
        if chosen:
            return chosen
    raise NotAcceptable(
        f"this endpoint answers {TAXII_MEDIA_TYPE}; Accept asked for {header[:200]}"
    )


def require_content_type(request: web.Request, *, allow_stix: bool = False) -> None:
    """Refuse a body that is not TAXII (or STIX, where allowed) JSON of version 2.1."""
    header = request.headers.get("Content-Type", "")
    ranges = _media_ranges(header)
    if len(ranges) != 1 or not _is_ours(*ranges[0], allow_stix):
        raise UnsupportedMediaType(f"send the body as {TAXII_MEDIA_TYPE}")


async def read_body(request: web.Request) -> bytes:
    """The request body, refused with 413 as soon as it passes max_content_length."""
    return await read_bounded(request, request.app[SETTINGS].max_content_length)


def taxii_response(
    payload: object | bytes, media_type: str = TAXII_MEDIA_TYPE, *, status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A JSON response with a TAXII (or STIX) media type."""
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return web.Response(
        status=status, body=body, headers={"Content-Type": media_type, **(headers or {})}
    )


def date_added_headers(first: datetime | None, last: datetime | None) -> dict[str, str]:
    """X-TAXII-Date-Added-First/Last for a page (TAXII 2.1 s3.3.1)."""
    if first is None or last is None:
        return {}
    return {
        "X-TAXII-Date-Added-First": format_timestamp(first),
        "X-TAXII-Date-Added-Last": format_timestamp(last),
    }
