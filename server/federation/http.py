"""Admin API: federation peers and their pull and push agreements (platform-admin)."""

from __future__ import annotations

from aiohttp import web

from schemas import admin as admin_api
from schemas import peers as api
from server.db.pool import POOL
from server.federation import peers as service
from server.web.auth import forget_keys, principal_of
from server.web.json_api import body, respond
from server.web.params import uuid_segment
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
_ROLE = "platform-admin"


@admin.route("GET", "/peers", role=_ROLE, response=api.PeerList, errors=(401, 403))
async def list_peers(request: web.Request) -> web.Response:
    """List the peer exchanges."""
    return respond(await service.list_peers(request.app[POOL], principal_of(request)))


@admin.route("POST", "/peers", role=_ROLE, request=api.PeerCreate, response=api.Peer,
             status=201, errors=(401, 403, 409))
async def add_peer(request: web.Request) -> web.Response:
    """Register a peer exchange, with an organisation of its own."""
    req = await body(request, api.PeerCreate)
    return respond(await service.add_peer(request.app[POOL], principal_of(request), req), 201)


@admin.route("GET", "/peers/{name}", role=_ROLE, response=api.PeerDetail)
async def show_peer(request: web.Request) -> web.Response:
    """Show a peer, its agreements and its latest push attempts."""
    return respond(await service.show_peer(request.app[POOL], principal_of(request),
                                           request.match_info["name"]))


@admin.route("PATCH", "/peers/{name}", role=_ROLE, request=api.PeerPatch, response=api.Peer)
async def change_peer(request: web.Request) -> web.Response:
    """Change how a peer is reached: URL, credential, hop limit, onward sharing."""
    req = await body(request, api.PeerPatch)
    return respond(await service.change_peer(request.app[POOL], principal_of(request),
                                             request.match_info["name"], req))


@admin.route("POST", "/peers/{name}/pause", role=_ROLE, request=admin_api.Empty,
             response=api.Peer)
async def pause_peer(request: web.Request) -> web.Response:
    """Pause every agreement with a peer (cursors and queued pushes are kept)."""
    await body(request, admin_api.Empty, optional=True)
    return respond(await service.set_paused(request.app[POOL], principal_of(request),
                                            request.match_info["name"], True))


@admin.route("POST", "/peers/{name}/resume", role=_ROLE, request=admin_api.Empty,
             response=api.Peer)
async def resume_peer(request: web.Request) -> web.Response:
    """Resume a paused peer."""
    await body(request, admin_api.Empty, optional=True)
    return respond(await service.set_paused(request.app[POOL], principal_of(request),
                                            request.match_info["name"], False))


@admin.route("DELETE", "/peers/{name}", role=_ROLE, response=None, status=204)
async def remove_peer(request: web.Request) -> web.Response:
    """Remove a peer: every agreement with it ends at once; its objects stay."""
    await service.remove_peer(request.app[POOL], principal_of(request),
                              request.match_info["name"])
    forget_keys(request.app)  # the peer's keys were revoked with it
    return respond(None)


@admin.route("POST", "/peers/{name}/pulls", role=_ROLE, request=api.PullCreate,
             response=api.Pull, status=201, errors=(401, 403, 404, 409))
async def add_pull(request: web.Request) -> web.Response:
    """Agree to pull a remote collection into a local one."""
    req = await body(request, api.PullCreate)
    return respond(await service.add_pull(request.app[POOL], principal_of(request),
                                          request.match_info["name"], req), 201)


@admin.route("POST", "/peers/{name}/pushes", role=_ROLE, request=api.PushCreate,
             response=api.Push, status=201, errors=(401, 403, 404, 409))
async def add_push(request: web.Request) -> web.Response:
    """Agree to push a local collection to a remote one."""
    req = await body(request, api.PushCreate)
    return respond(await service.add_push(request.app[POOL], principal_of(request),
                                          request.match_info["name"], req), 201)


@admin.route("DELETE", "/peers/{name}/agreements/{agreement_id}", role=_ROLE, response=None,
             status=204)
async def remove_agreement(request: web.Request) -> web.Response:
    """End one pull or push agreement at once."""
    agreement = uuid_segment(request, "agreement_id", "agreement")
    await service.remove_agreement(request.app[POOL], principal_of(request),
                                   request.match_info["name"], agreement)
    return respond(None)
