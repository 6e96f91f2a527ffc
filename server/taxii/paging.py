"""One filtered, visible, keyset-paged read of a collection, as every TAXII list shares it."""

from __future__ import annotations

from aiohttp import web

from schemas.cursors import CursorCodec
from schemas.taxii import ObjectQuery, next_token, parse_object_query
from server.config import SETTINGS
from server.db.pool import POOL
from server.errors import NotFound
from server.store import objects as object_store
from server.store.collections import get_collection
from server.store.objects import Projection
from server.store.records import CollectionView, Page
from server.web.auth import principal_of
from server.web.cursors import CURSORS
from server.web.params import query_values, uuid_segment
from server.web.taxii import date_added_headers

FILTERS = frozenset(
    {"added_after", "limit", "next", "match[id]", "match[type]", "match[version]",
     "match[spec_version]"}
)
ONE_OBJECT_FILTERS = frozenset(
    {"added_after", "limit", "next", "match[version]", "match[spec_version]"}
)
VERSION_FILTERS = frozenset({"added_after", "limit", "next", "match[spec_version]"})


def parse_query(
    request: web.Request, allowed: frozenset[str], version_default: str = "last"
) -> ObjectQuery:
    """The request's TAXII filters, with limit clamped to the server maximum."""
    settings = request.app[SETTINGS]
    return parse_object_query(
        query_values(request),
        default_limit=settings.page_size,
        max_limit=settings.max_page_size,
        allowed=allowed,
        version_default=version_default,
        cursors=request.app[CURSORS],
    )


async def read(
    request: web.Request,
    query: ObjectQuery,
    projection: Projection,
    *,
    stix_id: str | None = None,
) -> tuple[Page, CollectionView]:
    """A page of the path's collection, and the collection; 404 if it (or the object) is not
    visible. Object bodies come with their TLP where the collection serves TLP 1.0 ids."""
    principal = principal_of(request)
    collection_id = uuid_segment(request, "collection_id", "collection")
    async with request.app[POOL].acquire() as conn:
        collection = await get_collection(conn, principal, collection_id)
        if collection.tlp1_markings and projection is Projection.BODY:
            projection = Projection.BODY_TLP
        page = await object_store.read_page(
            conn, principal, collection_id, query, projection, stix_id=stix_id
        )
        if (
            stix_id is not None
            and not page.rows
            and not await object_store.has_visible(conn, principal, collection_id, stix_id)
        ):
            raise NotFound("no such object")
    return page, collection


def page_headers(page: Page) -> dict[str, str]:
    """Date-added headers of the rows on this page; none at all on an empty page.

    TAXII 2.1 s3.3.1 defines them as the date_added of the first and last object returned,
    so an empty page has no value to give. EclecticIQ's ingestion of OpenCTI collections
    failed on `X-TAXII-Date-Added-First: undefined` on empty pages (OpenCTI issue #6973);
    Elastic's TAXII input and OpenCTI's ingester take X-TAXII-Date-Added-Last as their next
    added_after, so a made-up value would skip or repeat objects.
    """
    if not page.rows:
        return {}
    return date_added_headers(page.rows[0].date_added, page.rows[-1].date_added)


def paging_members(page: Page, query: ObjectQuery, cursors: CursorCodec) -> dict:
    """The `more` and (when more follow) `next` members of a paged TAXII resource."""
    if page.next is None:
        return {"more": False}
    return {"more": True, "next": next_token(cursors, page.next, query.carried)}


def page_fields(page: Page, query: ObjectQuery, cursors: CursorCodec) -> bytes:
    """The `more`/`next` members as JSON text, for envelopes assembled from stored text."""
    if page.next is None:
        return b'"more":false'
    # The token is base64url: nothing in it needs JSON escaping.
    token = next_token(cursors, page.next, query.carried)
    return b'"more":true,"next":"' + token.encode() + b'"'
