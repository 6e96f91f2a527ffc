"""Feeds as TAXII 2.1: a second API root whose collections are the caller's saved feeds.

TAXII clients in SIEMs poll a feed like any collection (objects, manifest, added_after and
next paging); every page goes through the visibility predicate as the caller, now.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from schemas.taxii import STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, ObjectQuery
from server.config import SETTINGS
from server.db.pool import POOL
from server.feeds import service
from server.feeds.channels import DeliveryChannel
from server.store.feeds import FeedRow
from server.store.objects import Projection
from server.store.records import Page
from server.taxii import paging
from server.taxii.manifest import manifest_body
from server.taxii.objects import envelope_bytes
from server.web.apis import TAXII_API, RouteTable
from server.web.auth import principal_of
from server.web.cursors import CURSORS
from server.web.params import uuid_segment
from server.web.taxii import negotiate, taxii_response

FEEDS_ROOT = service.TAXII_FEEDS_ROOT
FEED = FEEDS_ROOT + "/collections/{feed_id}"

routes = RouteTable(TAXII_API)
CHANNEL = DeliveryChannel("taxii", routes=(routes,))


def _resource(feed: FeedRow) -> dict:
    return {"id": str(feed.id), "title": feed.name, "can_read": True, "can_write": False,
            "description": "Saved Accord feed (read-only)", "media_types": [STIX_MEDIA_TYPE]}


@routes.get(FEEDS_ROOT + "/")
async def feeds_root(request: web.Request) -> web.Response:
    """The feeds API root."""
    media = negotiate(request)
    return taxii_response({
        "title": "Accord feeds",
        "description": "Your organisation's saved feeds, each as a read-only collection",
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": request.app[SETTINGS].max_content_length,
    }, media)


@routes.get(FEEDS_ROOT + "/collections/")
async def feed_collections(request: web.Request) -> web.Response:
    """The caller's organisation's feeds as collections."""
    media = negotiate(request)
    feeds = await service.feeds_of(request.app[POOL], principal_of(request))
    return taxii_response({"collections": [_resource(f) for f in feeds]}, media)


def _feed_id(request: web.Request) -> uuid.UUID:
    return uuid_segment(request, "feed_id", "collection")


@routes.get(FEED + "/")
async def feed_collection(request: web.Request) -> web.Response:
    """One feed as a collection."""
    media = negotiate(request)
    feed = await service.own_feed(request.app[POOL], principal_of(request), _feed_id(request))
    return taxii_response(_resource(feed), media)


async def _read(request: web.Request,
                projection: Projection) -> tuple[Page, ObjectQuery, FeedRow]:
    query = paging.parse_query(request, paging.FILTERS)
    page, feed = await service.page(request.app[POOL], principal_of(request),
                                    _feed_id(request), query, projection)
    return page, query, feed


@routes.get(FEED + "/objects/")
async def feed_objects(request: web.Request) -> web.Response:
    """A page of the feed's objects."""
    media = negotiate(request, allow_stix=True)
    page, query, feed = await _read(request, Projection.BODY)
    body = envelope_bytes(page, query, request.app[CURSORS], tlp1=feed.tlp1_markings)
    return taxii_response(body, media, headers=paging.page_headers(page))


@routes.get(FEED + "/manifest/")
async def feed_manifest(request: web.Request) -> web.Response:
    """Manifest records of the feed's objects."""
    media = negotiate(request)
    page, query, _ = await _read(request, Projection.MANIFEST)
    body = manifest_body(page, query, request.app[CURSORS])
    return taxii_response(body, media, headers=paging.page_headers(page))
