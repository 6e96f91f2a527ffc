"""TAXII 2.1 Objects (s5.3, s5.4), Object (s5.5, s5.6) and Object Versions (s5.7)."""

from __future__ import annotations

from aiohttp import web

from schemas.cursors import CursorCodec
from schemas.taxii import ObjectQuery
from schemas.tlp import with_tlp1_marking
from server import policy
from server.db.pool import POOL
from server.errors import Forbidden
from server.ingest.envelope import ingest_envelope
from server.ingest.patterns import PATTERNS
from server.ops.metrics import INGESTED
from server.store.objects import Projection
from server.store.records import Page
from server.taxii import paging
from server.taxii.collections import COLLECTION, readable_collection
from server.taxii.deletion import delete_object as delete_versions
from server.taxii.status import status_resource
from server.web.apis import TAXII_API, RouteTable
from server.web.auth import principal_of
from server.web.cursors import CURSORS
from server.web.params import stix_id_segment, uuid_segment
from server.web.taxii import (
    negotiate,
    read_body,
    require_content_type,
    taxii_response,
)

routes = RouteTable(TAXII_API)


def envelope_bytes(page: Page, query: ObjectQuery, cursors: CursorCodec, *,
                   tlp1: bool = False) -> bytes:
    """A TAXII envelope of a page of stored objects (with TLP 1.0 ids too if `tlp1`)."""
    # Stored JSON text goes out as it was stored: no per-object parse or serialise.
    fields = paging.page_fields(page, query, cursors)
    if not page.rows:
        return b"{" + fields + b"}"
    if tlp1:
        objects = ",".join([with_tlp1_marking(r.body, r.tlp) for r in page.rows]).encode()
    else:
        objects = ",".join([row.body for row in page.rows]).encode()
    return b"{" + fields + b',"objects":[' + objects + b"]}"


@routes.get(COLLECTION + "/objects/")
async def get_objects(request: web.Request) -> web.Response:
    """A page of the collection's objects the caller may see."""
    media = negotiate(request, allow_stix=True)
    query = paging.parse_query(request, paging.FILTERS)
    page, collection = await paging.read(request, query, Projection.BODY)
    body = envelope_bytes(page, query, request.app[CURSORS], tlp1=collection.tlp1_markings)
    return taxii_response(body, media, headers=paging.page_headers(page))


@routes.post(COLLECTION + "/objects/")
async def add_objects(request: web.Request) -> web.Response:
    """Validate and store an envelope; answer 202 with its (complete) status resource."""
    media = negotiate(request)
    require_content_type(request, allow_stix=True)
    collection = await readable_collection(request)
    if not policy.can_write_collection(principal_of(request), collection.is_member,
                                       collection.archived):
        if collection.archived:
            # Say what is wrong: the collection, not the key's role.
            raise Forbidden(f"the collection {collection.title!r} is read-only (archived, or"
                            " the platform's reference collection): it takes no posts",
                            details={"read_only": True})
        raise Forbidden("posting to this collection needs the contributor role",
                        details={"needed_role": "contributor"})
    body = await read_body(request)
    status = await ingest_envelope(request.app[POOL], principal_of(request), collection, body,
                                   request.app.get(PATTERNS))
    request[INGESTED] = (len(status.successes), len(status.failures))
    return taxii_response(status_resource(status), media, status=202)


@routes.get(COLLECTION + "/objects/{object_id}/")
async def get_object(request: web.Request) -> web.Response:
    """Versions of one object (last by default), as an envelope."""
    media = negotiate(request, allow_stix=True)
    object_id = stix_id_segment(request)
    query = paging.parse_query(request, paging.ONE_OBJECT_FILTERS)
    page, collection = await paging.read(request, query, Projection.BODY, stix_id=object_id)
    body = envelope_bytes(page, query, request.app[CURSORS], tlp1=collection.tlp1_markings)
    return taxii_response(body, media, headers=paging.page_headers(page))


@routes.delete(COLLECTION + "/objects/{object_id}/")
async def delete_object(request: web.Request) -> web.Response:
    """Delete the matched versions (all by default); only the producer or a platform admin."""
    negotiate(request, allow_stix=True)
    object_id = stix_id_segment(request)
    query = paging.parse_query(
        request, frozenset({"match[version]", "match[spec_version]"}), version_default="all"
    )
    collection_id = uuid_segment(request, "collection_id", "collection")
    await delete_versions(
        request.app[POOL], principal_of(request), collection_id, object_id, query
    )
    return web.Response(status=200)


@routes.get(COLLECTION + "/objects/{object_id}/versions/")
async def get_versions(request: web.Request) -> web.Response:
    """The version timestamps of one object that the caller may see."""
    media = negotiate(request)
    object_id = stix_id_segment(request)
    query = paging.parse_query(request, paging.VERSION_FILTERS, version_default="all")
    page, _ = await paging.read(request, query, Projection.VERSION, stix_id=object_id)
    body = {**paging.paging_members(page, query, request.app[CURSORS]),
            "versions": [r.version_text for r in page.rows]}
    return taxii_response(body, media, headers=paging.page_headers(page))
