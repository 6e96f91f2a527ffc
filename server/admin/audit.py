"""Admin API: the audit log."""

from __future__ import annotations

from aiohttp import web

from schemas import admin as api
from server.admin import service
from server.db.pool import POOL
from server.web.auth import principal_of
from server.web.cursors import CURSORS
from server.web.json_api import query, respond
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
routes = admin.table


@admin.route("GET", "/audit", role="org-admin (own organisation's entries) or platform-admin",
             query=api.AuditQuery, response=api.AuditPage, errors=(401, 403))
async def audit_log(request: web.Request) -> web.Response:
    """Query the audit log by time, organisation and action, oldest first."""
    q = query(request, api.AuditQuery)
    return respond(await service.audit_query(request.app[POOL], principal_of(request), q,
                                             request.app[CURSORS]))
