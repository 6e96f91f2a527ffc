"""/api/v1/feeds: an organisation's saved feeds and their delivery log.

The stream and the exports serve their own routes (`stream`, `exports`): each delivery
channel is its own module.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from schemas.feeds import DeliveryList, Feed, FeedCreate, FeedCreated, FeedList, FeedUpdate
from server.config import SETTINGS
from server.db.pool import POOL
from server.feeds import service
from server.web.auth import principal_of
from server.web.json_api import body, respond
from server.web.params import uuid_segment
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
routes = admin.table
# Shared with the channels' own routes (stream, exports).
ANY_ROLE = "any role of the feed's organisation"


def feed_id(request: web.Request) -> uuid.UUID:
    """The {feed_id} path segment (404 if malformed)."""
    return uuid_segment(request, "feed_id", "feed")


@admin.route("GET", "/feeds", role=ANY_ROLE, response=FeedList)
async def list_feeds(request: web.Request) -> web.Response:
    """List your organisation's feeds."""
    return respond(await service.list_feeds(request.app[POOL], principal_of(request)))


@admin.route("POST", "/feeds", role=ANY_ROLE, request=FeedCreate, response=FeedCreated,
             status=201)
async def create_feed(request: web.Request) -> web.Response:
    """Save a feed; a webhook's signing secret is shown this once."""
    spec = await body(request, FeedCreate)
    made = await service.create_feed(request.app[POOL], request.app[SETTINGS],
                                     principal_of(request), spec)
    return respond(made, 201)


@admin.route("GET", "/feeds/{feed_id}", role=ANY_ROLE, response=Feed)
async def get_feed(request: web.Request) -> web.Response:
    """Describe one of your organisation's feeds."""
    return respond(await service.get_feed(request.app[POOL], principal_of(request),
                                          feed_id(request)))


@admin.route("PATCH", "/feeds/{feed_id}", role=ANY_ROLE, request=FeedUpdate, response=FeedCreated)
async def update_feed(request: web.Request) -> web.Response:
    """Change a feed's name, filter or webhook; a new URL or rotate_secret issues a new secret."""
    which = feed_id(request)
    spec = await body(request, FeedUpdate)
    return respond(await service.update_feed(request.app[POOL], request.app[SETTINGS],
                                             principal_of(request), which, spec))


@admin.route("DELETE", "/feeds/{feed_id}", role=ANY_ROLE, status=204)
async def delete_feed(request: web.Request) -> web.Response:
    """Delete a feed with its delivery log."""
    await service.delete_feed(request.app[POOL], principal_of(request), feed_id(request))
    return respond(None)


@admin.route("GET", "/feeds/{feed_id}/deliveries", role=ANY_ROLE, response=DeliveryList)
async def list_deliveries(request: web.Request) -> web.Response:
    """The feed's webhook delivery log, newest first."""
    return respond(await service.deliveries(request.app[POOL], principal_of(request),
                                            feed_id(request)))
