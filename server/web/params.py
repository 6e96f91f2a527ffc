"""Request parameters, one helper per kind: UUID and STIX-id path segments, query strings."""

from __future__ import annotations

import re
import uuid

from aiohttp import web

from schemas.taxii import is_stix_id
from server.errors import BadRequest, NotFound


def stix_id_segment(request: web.Request, name: str = "object_id") -> str:
    """A STIX id path segment; a malformed one is as absent as an unknown one (404)."""
    value = request.match_info[name]
    if not is_stix_id(value):
        raise NotFound("no such object")
    return value


_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def key_id_segment(request: web.Request, name: str = "key_id") -> str:
    """An API key id path segment; one that cannot be a key id is as absent as unknown (404)."""
    value = request.match_info[name]
    if not _KEY_ID.fullmatch(value):
        raise NotFound(f"no API key {value[:64]!r}")
    return value


def uuid_segment(request: web.Request, name: str, what: str) -> uuid.UUID:
    """A UUID path segment; a malformed one is as absent as an unknown one (404)."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise NotFound(f"no such {what}") from None


def query_values(request: web.Request) -> dict[str, str]:
    """The query string's parameters; one given more than once is a 400."""
    values: dict[str, str] = {}
    for key, value in request.query.items():
        if key in values:
            raise BadRequest(f"query parameter {key} is given more than once")
        values[key] = value
    return values
