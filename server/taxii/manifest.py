"""TAXII 2.1 Manifest resource (s5.3 manifest): one record per visible object version."""

from __future__ import annotations

from aiohttp import web

from schemas.cursors import CursorCodec
from schemas.taxii import STIX_MEDIA_TYPE, ObjectQuery, format_timestamp
from server.store.objects import Projection
from server.store.records import ManifestRow, Page
from server.taxii import paging
from server.taxii.collections import COLLECTION
from server.web.apis import TAXII_API, RouteTable
from server.web.cursors import CURSORS
from server.web.taxii import negotiate, taxii_response

routes = RouteTable(TAXII_API)

PRODUCER_WITHHELD = "withheld"



def _record(row: ManifestRow) -> dict:
    record = {
        "id": row.stix_id,
        "date_added": format_timestamp(row.date_added),
        "version": row.version_text,
        "media_type": STIX_MEDIA_TYPE,
        # Accord's provenance (README "Sharing policy"): the member organisation that posted
        # this version, whatever its created_by_ref claims, or "withheld". TAXII clients
        # ignore properties they do not know; the STIX object itself is untouched.
        "x_accord_producer": row.producer_name or PRODUCER_WITHHELD,
    }
    if row.producer_identity:
        record["x_accord_producer_ref"] = row.producer_identity
    return record


def manifest_body(page: Page[ManifestRow], query: ObjectQuery, cursors: CursorCodec) -> dict:
    """A manifest resource of a page of stored versions, each with its producer."""
    body = paging.paging_members(page, query, cursors)
    if page.rows:
        body["objects"] = [_record(row) for row in page.rows]
    return body


@routes.get(COLLECTION + "/manifest/")
async def get_manifest(request: web.Request) -> web.Response:
    """Manifest records (id, date_added, version, media_type) of the visible objects."""
    media = negotiate(request)
    query = paging.parse_query(request, paging.FILTERS)
    page, _ = await paging.read(request, query, Projection.MANIFEST)
    body = manifest_body(page, query, request.app[CURSORS])
    return taxii_response(body, media, headers=paging.page_headers(page))
