"""Path segments that name STIX objects, shared by the TAXII and admin handlers."""

from __future__ import annotations

from aiohttp import web

from schemas.taxii import is_stix_id
from server.errors import NotFound


def stix_id_segment(request: web.Request, name: str = "object_id") -> str:
    """A STIX id path segment; a malformed one is as absent as an unknown one (404)."""
    value = request.match_info[name]
    if not is_stix_id(value):
        raise NotFound("no such object")
    return value
