"""Admin API: organisations."""

from __future__ import annotations

from aiohttp import web

from schemas import admin as api
from server.admin import service
from server.db.pool import POOL
from server.web.auth import principal_of
from server.web.json_api import body, respond
from server.web.params import uuid_segment
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
routes = admin.table


@admin.route("GET", "/orgs", role="any key (a platform admin sees all)", response=api.OrgList,
             errors=(401,))
async def list_orgs(request: web.Request) -> web.Response:
    """List organisations: every one for a platform admin, else the caller's own."""
    return respond(await service.list_orgs(request.app[POOL], principal_of(request)))


@admin.route("POST", "/orgs", role="platform-admin", request=api.OrgCreate,
             response=api.Org, status=201, errors=(401, 403, 409))
async def create_org(request: web.Request) -> web.Response:
    """Create an organisation with a fresh STIX identity."""
    req = await body(request, api.OrgCreate)
    return respond(await service.create_org(request.app[POOL], principal_of(request), req), 201)


@admin.route("GET", "/orgs/{org_id}", role="any key of the organisation, or platform-admin",
             response=api.Org, errors=(401, 404))
async def get_org(request: web.Request) -> web.Response:
    """Show one organisation."""
    org_id = uuid_segment(request, "org_id", "organisation")
    return respond(await service.get_org(request.app[POOL], principal_of(request), org_id))
