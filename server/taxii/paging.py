"""One filtered, visible, keyset-paged read of a collection, as every TAXII list shares it."""

from __future__ import annotations

from aiohttp import web

from schemas.taxii import ObjectQuery, parse_object_query
from server.config import SETTINGS
from server.db.pool import POOL
from server.errors import NotFound
from server.store import objects as object_store
from server.store.collections import get_collection
from server.store.objects import Projection
from server.store.records import Page
from server.web.auth import principal_of
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
    )


async def read(
    request: web.Request,
    query: ObjectQuery,
    projection: Projection,
    *,
    stix_id: str | None = None,
) -> Page:
    """A page of the path's collection; 404 if the collection (or object) is not visible."""
    principal = principal_of(request)
    collection_id = uuid_segment(request, "collection_id", "collection")
    async with request.app[POOL].acquire() as conn:
        await get_collection(conn, principal, collection_id)
        page = await object_store.read_page(
            conn, principal, collection_id, query, projection, stix_id=stix_id
        )
        if (
            stix_id is not None
            and not page.rows
            and not await object_store.has_visible(conn, principal, collection_id, stix_id)
        ):
            raise NotFound("no such object")
    return page


def page_headers(page: Page) -> dict[str, str]:
    """Date-added headers of the rows on this page."""
    if not page.rows:
        return {}
    return date_added_headers(page.rows[0].date_added, page.rows[-1].date_added)


def paging_members(page: Page) -> dict:
    """The `more` and (when more follow) `next` members of a paged TAXII resource."""
    if page.next is None:
        return {"more": False}
    return {"more": True, "next": page.next.encode()}


def page_fields(page: Page) -> bytes:
    """The `more`/`next` members as JSON text, for envelopes assembled from stored text."""
    if page.next is None:
        return b'"more":false'
    return b'"more":true,"next":"' + page.next.encode().encode() + b'"'
