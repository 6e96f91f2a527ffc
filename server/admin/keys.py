"""Admin API: an organisation's API keys."""

from __future__ import annotations

from aiohttp import web

from schemas import admin as api
from server.admin import service
from server.db.pool import POOL
from server.web.auth import forget_keys, principal_of
from server.web.json_api import body, respond
from server.web.params import key_id_segment, uuid_segment
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
routes = admin.table

_ROLE = "org-admin of the organisation, or platform-admin"


@admin.route("GET", "/orgs/{org_id}/keys", role=_ROLE, response=api.KeyList)
async def list_keys(request: web.Request) -> web.Response:
    """List an organisation's API keys (never their secrets)."""
    org_id = uuid_segment(request, "org_id", "organisation")
    return respond(await service.list_keys(request.app[POOL], principal_of(request), org_id))


@admin.route("POST", "/orgs/{org_id}/keys", role=_ROLE + " (platform-admin keys: platform-admin)",
             request=api.KeyCreate, response=api.KeyCreated, status=201)
async def create_key(request: web.Request) -> web.Response:
    """Create an API key; the answer carries its token, shown this once."""
    org_id = uuid_segment(request, "org_id", "organisation")
    req = await body(request, api.KeyCreate)
    made = await service.create_key(request.app[POOL], principal_of(request), org_id, req)
    return respond(made, 201)


@admin.route("DELETE", "/orgs/{org_id}/keys/{key_id}", role=_ROLE, response=api.Key)
async def revoke_key(request: web.Request) -> web.Response:
    """Revoke an API key; it is refused from the next request on."""
    org_id = uuid_segment(request, "org_id", "organisation")
    key_id = key_id_segment(request)
    key = await service.revoke_key(request.app[POOL], principal_of(request), org_id, key_id)
    forget_keys(request.app)
    return respond(key)
