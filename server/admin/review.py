"""Admin API: the privacy review queue (objects the screen held; README "Privacy")."""

from __future__ import annotations

from aiohttp import web

from schemas import admin as api
from server.admin import service
from server.db.pool import POOL
from server.errors import NotFound
from server.ingest.review import DECISIONS
from server.web.auth import principal_of
from server.web.json_api import body, query, respond
from server.web.params import uuid_segment
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
routes = admin.table

_ROLE = ("org-admin of the producer or of a reviewer organisation the trust group names,"
         " or platform-admin")


@admin.route("GET", "/review", role=_ROLE, query=api.ReviewQuery, response=api.HeldList,
             errors=(401, 403))
async def list_held(request: web.Request) -> web.Response:
    """List the objects held for privacy review, oldest first, with their findings."""
    q = query(request, api.ReviewQuery)
    return respond(await service.review_queue(request.app[POOL], principal_of(request), q))


@admin.route("GET", "/review/{held_id}", role=_ROLE, response=api.HeldObjectDetail)
async def show_held(request: web.Request) -> web.Response:
    """Show one held object as posted, with its findings."""
    held_id = uuid_segment(request, "held_id", "object in the review queue")
    return respond(await service.review_show(request.app[POOL], principal_of(request), held_id))


@admin.route("POST", "/review/{held_id}/{decision}", role=_ROLE,
             request=api.ReviewDecisionRequest, response=api.ReviewDecision,
             path_values={"decision": DECISIONS})
async def decide(request: web.Request) -> web.Response:
    """Release, release redacted, or reject a held object; audited with who and why."""
    held_id = uuid_segment(request, "held_id", "object in the review queue")
    decision = request.match_info["decision"]
    if decision not in DECISIONS:
        raise NotFound("no such review decision")
    req = await body(request, api.ReviewDecisionRequest)
    return respond(await service.review_decide(request.app[POOL], principal_of(request),
                                               held_id, decision, req.reason))
