"""What every TAXII handler shares: media types, bounded bodies, responses, collection lookup."""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson
from aiohttp import web

from schemas.taxii import STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, format_timestamp
from server.config import SETTINGS
from server.db.pool import POOL
from server.errors import (
    BadRequest,
    NotAcceptable,
    NotFound,
    UnsupportedMediaType,
)
from server.store.collections import get_collection
from server.store.records import Collection
from server.web.auth import principal_of
from server.web.bodies import read_bounded

API_ROOT = "/taxii2/root"
COLLECTION = API_ROOT + "/collections/{collection_id}"


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


def query_params(request: web.Request) -> dict[str, str]:
    """Query parameters, each given once."""
    params: dict[str, str] = {}
    for key, value in request.query.items():
        if key in params:
            raise BadRequest(f"query parameter {key} is given more than once")
        params[key] = value
    return params


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


def parse_uuid(value: str, what: str) -> uuid.UUID:
    """A UUID from a path segment; a malformed one is as absent as an unknown one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {what}") from None


async def readable_collection(request: web.Request) -> Collection:
    """The path's collection, or 404 alike for absent and not-readable."""
    collection_id = parse_uuid(request.match_info["collection_id"], "collection")
    async with request.app[POOL].acquire() as conn:
        return await get_collection(conn, principal_of(request), collection_id)

