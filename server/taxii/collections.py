"""TAXII 2.1 Collections (s5.1) and Collection (s5.2) resources."""

from __future__ import annotations

from aiohttp import web

from schemas.principal import Principal
from schemas.taxii import STIX_MEDIA_TYPE
from server import policy
from server.db.pool import POOL
from server.store.collections import get_collection, list_collections
from server.store.records import CollectionView
from server.taxii.discovery import API_ROOT
from server.web.apis import TAXII_API, RouteTable
from server.web.auth import principal_of
from server.web.params import uuid_segment
from server.web.taxii import negotiate, taxii_response

COLLECTION = API_ROOT + "/collections/{collection_id}"

routes = RouteTable(TAXII_API)


async def readable_collection(request: web.Request) -> CollectionView:
    """The path's collection, or 404 alike for absent and not-readable."""
    collection_id = uuid_segment(request, "collection_id", "collection")
    async with request.app[POOL].acquire() as conn:
        return await get_collection(conn, principal_of(request), collection_id)


def collection_resource(principal: Principal, c: CollectionView) -> dict:
    """A collection as TAXII shows it, with the caller's can_read/can_write."""
    resource = {
        "id": str(c.id),
        "title": c.title,
        "can_read": policy.can_read_collection(principal, c.is_member),
        "can_write": policy.can_write_collection(principal, c.is_member, c.archived),
        "media_types": [STIX_MEDIA_TYPE],
    }
    if c.description:
        resource["description"] = c.description
    return resource


@routes.get(API_ROOT + "/collections/")
async def collections(request: web.Request) -> web.Response:
    """Every collection the caller may read; others are not mentioned at all."""
    media = negotiate(request)
    principal = principal_of(request)
    async with request.app[POOL].acquire() as conn:
        found = await list_collections(conn, principal)
    return taxii_response({"collections": [collection_resource(principal, c) for c in found]},
                          media)


@routes.get(COLLECTION + "/")
async def collection(request: web.Request) -> web.Response:
    """One collection, or 404 alike for absent and not readable."""
    media = negotiate(request)
    found = await readable_collection(request)
    return taxii_response(collection_resource(principal_of(request), found), media)
