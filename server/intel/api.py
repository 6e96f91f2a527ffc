"""/api/v1/lookup: "have we seen this?", for one value or up to 10,000."""

from __future__ import annotations

from aiohttp import web

from schemas.lookup import (
    ExclusionList,
    ExclusionsPut,
    LookupQuery,
    LookupRequest,
    LookupResponse,
)
from server.db.pool import GENERIC_POOL, POOL
from server.intel import exclusions
from server.intel.lookup import lookup
from server.intel.prefixes import PREFIX_LENGTHS
from server.web.auth import principal_of
from server.web.json_api import body, query, respond
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
routes = admin.table
ANY_ROLE = "any role"
# 10,000 values (or exclusions) of a few hundred bytes each, with room to spare.
MAX_BULK_BODY = 4 * 1024 * 1024


@admin.route("GET", "/lookup", role=ANY_ROLE, query=LookupQuery, response=LookupResponse,
             errors=(401,))
async def lookup_one(request: web.Request) -> web.Response:
    """Look up one value: the visible indicators and observables that match it."""
    q = query(request, LookupQuery)
    # A handful of index probes, on their generic plan: planning them cost three times
    # running them (server.db.pool.create_pool).
    return respond(await lookup(request.app[GENERIC_POOL], principal_of(request), [q.value],
                                request.app[PREFIX_LENGTHS]))


@admin.route("POST", "/lookup", role=ANY_ROLE, request=LookupRequest, response=LookupResponse,
             errors=(401,))
async def lookup_many(request: web.Request) -> web.Response:
    """Look up to 10,000 values at once, under one snapshot; results in the order given."""
    spec = await body(request, LookupRequest, limit=MAX_BULK_BODY)
    return respond(await lookup(request.app[POOL], principal_of(request), spec.values,
                                request.app[PREFIX_LENGTHS]))


def _with_etag(answer: tuple[ExclusionList, str]) -> web.Response:
    listed, etag = answer
    response = respond(listed)
    response.headers["ETag"] = etag
    return response


@admin.route("GET", "/exclusions", role=ANY_ROLE, response=ExclusionList, errors=(401,))
async def read_exclusions(request: web.Request) -> web.Response:
    """Your organisation's exclusion list: values its feeds and exports leave out (with an
    ETag, for the If-Match of a change)."""
    return _with_etag(await exclusions.read(request.app[POOL], principal_of(request)))


@admin.route("PUT", "/exclusions", role="org-admin", request=ExclusionsPut,
             response=ExclusionList, errors=(401, 403, 412))
async def replace_exclusions(request: web.Request) -> web.Response:
    """Replace your organisation's exclusion list (every entry at once); with If-Match, only
    if it is still the list of that ETag (412 otherwise)."""
    spec = await body(request, ExclusionsPut, limit=MAX_BULK_BODY)
    return _with_etag(await exclusions.replace(request.app[POOL], principal_of(request), spec,
                                               request.headers.get("If-Match")))
