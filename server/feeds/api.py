"""/api/v1/feeds: an organisation's saved feeds, their stream, exports and delivery log."""

from __future__ import annotations

from aiohttp import web

from schemas.feeds import (
    Delivery,
    DeliveryList,
    Feed,
    FeedCreate,
    FeedCreated,
    FeedList,
    FeedUpdate,
)
from server.config import SETTINGS
from server.db.pool import POOL
from server.errors import BadRequest
from server.feeds import exports
from server.feeds.stream import stream
from server.feeds.webhooks import UnsafeTarget, check_target
from server.store import audit
from server.store import feeds as feed_store
from server.web.auth import principal_of
from server.web.json_api import body, respond
from server.web.params import uuid_segment
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
routes = admin.table
_ANY = "any role of the feed's organisation"


def feed_model(row: feed_store.FeedRow, model: type[Feed] = Feed, **extra: object) -> Feed:
    """The wire form of a stored feed."""
    return model(
        id=row.id, name=row.name, filter=row.filter, webhook_url=row.webhook_url,
        webhook_max_attempts=row.webhook_max_attempts, created=row.created, updated=row.updated,
        taxii_collection=f"/taxii2/feeds/collections/{row.id}/",
        stream=f"/api/v1/feeds/{row.id}/stream", **extra,
    )


async def _safe_webhook(request: web.Request, url: str | None) -> None:
    if url is None:
        return
    try:
        await check_target(url, request.app[SETTINGS].webhook_allow_private)
    except (UnsafeTarget, OSError) as exc:
        raise BadRequest(f"webhook URL refused: {exc}") from None


@admin.route("GET", "/feeds", role=_ANY, response=FeedList)
async def list_feeds(request: web.Request) -> web.Response:
    """List your organisation's feeds."""
    async with request.app[POOL].acquire() as conn:
        rows = await feed_store.list_feeds(conn, principal_of(request).org_id)
    return respond(FeedList(feeds=[feed_model(r) for r in rows]))


@admin.route("POST", "/feeds", role=_ANY, request=FeedCreate, response=FeedCreated,
             status=201)
async def create_feed(request: web.Request) -> web.Response:
    """Save a feed; a webhook's signing secret is shown this once."""
    spec = await body(request, FeedCreate)
    url = str(spec.webhook.url) if spec.webhook else None
    await _safe_webhook(request, url)
    principal = principal_of(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await feed_store.create_feed(
            conn, principal.org_id, spec.name, spec.filter, url,
            spec.webhook.max_attempts if spec.webhook else 8,
        )
        await audit.record(conn, [audit.entry(principal, "feed.created", principal.org_id,
                                              str(row.id), webhook=url)])
    return respond(feed_model(row, FeedCreated, webhook_secret=row.webhook_secret), 201)


@admin.route("GET", "/feeds/{feed_id}", role=_ANY, response=Feed)
async def get_feed(request: web.Request) -> web.Response:
    """Describe one of your organisation's feeds."""
    feed_id = uuid_segment(request, "feed_id", "feed")
    async with request.app[POOL].acquire() as conn:
        row = await feed_store.get_feed(conn, principal_of(request).org_id, feed_id)
    return respond(feed_model(row))


@admin.route("PATCH", "/feeds/{feed_id}", role=_ANY, request=FeedUpdate, response=FeedCreated)
async def update_feed(request: web.Request) -> web.Response:
    """Change a feed's name, filter or webhook; a new URL or rotate_secret issues a new secret."""
    feed_id = uuid_segment(request, "feed_id", "feed")
    spec = await body(request, FeedUpdate)
    url = str(spec.webhook.url) if spec.webhook else None
    await _safe_webhook(request, url)
    principal = principal_of(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row, secret = await feed_store.update_feed(
            conn, principal.org_id, feed_id, name=spec.name, f=spec.filter, webhook_url=url,
            max_attempts=spec.webhook.max_attempts if spec.webhook else None,
            remove_webhook=spec.remove_webhook, rotate_secret=spec.rotate_secret,
        )
        await audit.record(conn, [audit.entry(principal, "feed.changed", principal.org_id,
                                              str(row.id), webhook=row.webhook_url)])
    return respond(feed_model(row, FeedCreated, webhook_secret=secret))


@admin.route("DELETE", "/feeds/{feed_id}", role=_ANY, status=204)
async def delete_feed(request: web.Request) -> web.Response:
    """Delete a feed with its delivery log."""
    feed_id = uuid_segment(request, "feed_id", "feed")
    principal = principal_of(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await feed_store.delete_feed(conn, principal.org_id, feed_id)
        await audit.record(conn, [audit.entry(principal, "feed.deleted", principal.org_id,
                                              str(feed_id))])
    return respond(None)


@admin.route("GET", "/feeds/{feed_id}/deliveries", role=_ANY, response=DeliveryList)
async def list_deliveries(request: web.Request) -> web.Response:
    """The feed's webhook delivery log, newest first."""
    feed_id = uuid_segment(request, "feed_id", "feed")
    async with request.app[POOL].acquire() as conn:
        await feed_store.get_feed(conn, principal_of(request).org_id, feed_id)
        rows = await feed_store.deliveries(conn, feed_id)
    return respond(DeliveryList(deliveries=[Delivery.model_validate(r, from_attributes=True)
                                            for r in rows]))


@admin.route("GET", "/feeds/{feed_id}/stream", role=_ANY)
async def stream_feed(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events of every new object the feed selects; resume with Last-Event-ID."""
    return await stream(request, uuid_segment(request, "feed_id", "feed"))


@admin.route("GET", "/feeds/{feed_id}/export.{fmt}", role=_ANY)
async def export_feed(request: web.Request) -> web.Response:
    """Blocklist (txt, csv) or STIX bundle (stix) of current indicators; honours If-None-Match."""
    return await exports.export(request, uuid_segment(request, "feed_id", "feed"),
                                request.match_info["fmt"])
