"""Feeds: list, create with a preview of what they would deliver now, webhook, delivery log."""

from __future__ import annotations

import uuid

import orjson
from aiohttp import web
from pydantic import ValidationError

from schemas.feeds import FeedCreate, FeedFilter, FeedUpdate, WebhookSpec
from server.config import SETTINGS
from server.console.pages import ROOT, field, form_of, not_found, page, render, session_of, table
from server.console.views import TLP_LABELS
from server.db.pool import POOL
from server.errors import BadRequest
from server.feeds import service
from server.store import collections, console

routes = table()
_TYPES = ("indicator", "malware", "threat-actor", "attack-pattern", "campaign",
          "vulnerability", "report", "relationship", "sighting", "identity")


def _filter(request: web.Request) -> FeedFilter:
    form = form_of(request)
    values: dict[str, object] = {}
    types = [t for t in form.getall("types", []) if t in _TYPES]
    if types:
        values["types"] = types
    collection_ids = form.getall("collections", [])
    if collection_ids:
        values["collections"] = collection_ids
    tlp = field(request, "tlp_max", required=False, limit=20)
    if tlp:
        values["tlp_max"] = tlp
    confidence = field(request, "min_confidence", required=False, limit=3)
    if confidence:
        values["min_confidence"] = confidence
    labels = [x.strip() for x in field(request, "labels", required=False).split(",") if x.strip()]
    if labels:
        values["labels"] = labels
    values["valid_only"] = form.get("valid_only") == "on"
    values["include_warninglisted"] = form.get("include_warninglisted") == "on"
    try:
        return FeedFilter.model_validate(values)
    except ValidationError as exc:
        raise BadRequest("the filter is not valid: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None


async def _form(request: web.Request, **context: object) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        readable = await collections.list_collections(conn, session_of(request).principal)
    context.setdefault("preview", None)
    context.setdefault("name", "")
    context.setdefault("chosen", FeedFilter())
    context.setdefault("webhook", "")
    context.setdefault("feed_id", None)
    return render(request, "feed_new.html", types=_TYPES, tlps=list(TLP_LABELS),
                  collections=readable, tlp_labels=TLP_LABELS, **context)


@routes.get(ROOT + "feeds")
@page()
async def feeds(request: web.Request) -> web.Response:
    """The organisation's feeds."""
    found = await service.list_feeds(request.app[POOL], session_of(request).principal)
    return render(request, "feeds.html", feeds=found.feeds)


@routes.get(ROOT + "feeds/new")
@page()
async def new_feed(request: web.Request) -> web.Response:
    """The feed form."""
    return await _form(request)


@routes.post(ROOT + "feeds/new")
@page()
async def create_feed(request: web.Request) -> web.Response:
    """Preview what the filter would deliver now, or save the feed (secret shown once)."""
    chosen = _filter(request)
    name = field(request, "name", required=False, limit=200)
    webhook = field(request, "webhook", required=False, limit=2000)
    principal = session_of(request).principal
    if form_of(request).get("action") != "save":
        async with request.app[POOL].acquire() as conn:
            counts, more, sample = await console.preview(conn, principal, chosen)
        preview = {"counts": sorted(counts.items()), "total": sum(counts.values()),
                   "more": more, "sample": [orjson.loads(b) for b in sample]}
        return await _form(request, preview=preview, name=name, chosen=chosen,
                           webhook=webhook)
    if not name:
        raise BadRequest("name the feed")
    try:
        spec = FeedCreate(name=name, filter=chosen,
                          webhook=WebhookSpec(url=webhook) if webhook else None)
    except ValidationError:
        raise BadRequest("the webhook address is not a valid http(s) URL") from None
    created = await service.create_feed(request.app[POOL], request.app[SETTINGS], principal,
                                        spec)
    return render(request, "feed.html", feed=created, secret=created.webhook_secret,
                  deliveries=[])


def _feed_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["feed_id"])
    except ValueError:
        raise not_found() from None


@routes.get(ROOT + "feeds/{feed_id}/edit")
@page()
async def edit_feed(request: web.Request) -> web.Response:
    """The feed form, filled with the feed's filter."""
    found = await service.get_feed(request.app[POOL], session_of(request).principal,
                                   _feed_id(request))
    return await _form(request, name=found.name, chosen=found.filter,
                       webhook=found.webhook_url or "", feed_id=found.id)


@routes.post(ROOT + "feeds/{feed_id}/edit")
@page()
async def change_feed(request: web.Request) -> web.Response:
    """Preview the changed filter, or save it (a new webhook URL or a rotation shows the new
    secret once)."""
    feed_id = _feed_id(request)
    principal = session_of(request).principal
    current = await service.get_feed(request.app[POOL], principal, feed_id)
    chosen = _filter(request)
    name = field(request, "name", required=False, limit=200) or current.name
    webhook = field(request, "webhook", required=False, limit=2000)
    form = form_of(request)
    if form.get("action") != "save":
        async with request.app[POOL].acquire() as conn:
            counts, more, sample = await console.preview(conn, principal, chosen)
        preview = {"counts": sorted(counts.items()), "total": sum(counts.values()),
                   "more": more, "sample": [orjson.loads(b) for b in sample]}
        return await _form(request, preview=preview, name=name, chosen=chosen,
                           webhook=webhook, feed_id=feed_id)
    try:
        spec = FeedUpdate(
            name=name, filter=chosen,
            webhook=(WebhookSpec(url=webhook) if webhook and webhook != current.webhook_url
                     else None),
            remove_webhook=not webhook and current.webhook_url is not None,
            rotate_secret=form.get("rotate_secret") == "on" and bool(webhook),
        )
    except ValidationError:
        raise BadRequest("the webhook address is not a valid http(s) URL") from None
    changed = await service.update_feed(request.app[POOL], request.app[SETTINGS], principal,
                                        feed_id, spec)
    log = await service.deliveries(request.app[POOL], principal, feed_id)
    return render(request, "feed.html", feed=changed, secret=changed.webhook_secret,
                  deliveries=log.deliveries)


@routes.get(ROOT + "feeds/{feed_id}")
@page()
async def feed(request: web.Request) -> web.Response:
    """One feed: its filter, its export and TAXII paths, its delivery log."""
    feed_id = _feed_id(request)
    principal = session_of(request).principal
    found = await service.get_feed(request.app[POOL], principal, feed_id)
    log = await service.deliveries(request.app[POOL], principal, feed_id)
    return render(request, "feed.html", feed=found, secret=None, deliveries=log.deliveries)
