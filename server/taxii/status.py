"""TAXII 2.1 Status resource (s4.3): readable only by the organisation that posted."""

from __future__ import annotations

from aiohttp import web

from schemas.taxii import format_timestamp
from server.config import SETTINGS
from server.db.pool import POOL
from server.ingest.envelope import read_status
from server.store.statuses import Status
from server.taxii.discovery import API_ROOT
from server.web.apis import TAXII_API, RouteTable
from server.web.auth import principal_of
from server.web.params import uuid_segment
from server.web.taxii import negotiate, taxii_response

routes = RouteTable(TAXII_API)


def status_resource(status: Status) -> dict:
    """The status resource of one POST."""
    return {
        "id": str(status.id),
        "status": "pending" if status.pending else "complete",
        "request_timestamp": format_timestamp(status.created),
        "total_count": status.total,
        "success_count": len(status.successes),
        "successes": status.successes,
        "failure_count": len(status.failures),
        "failures": status.failures,
        "pending_count": status.pending,
        "pendings": status.pendings,
    }


@routes.get(API_ROOT + "/status/{status_id}/")
async def status(request: web.Request) -> web.Response:
    """A status of the caller's organisation; 404 for any other."""
    media = negotiate(request)
    status_id = uuid_segment(request, "status_id", "status")
    found = await read_status(request.app[POOL], principal_of(request), status_id,
                              request.app[SETTINGS].status_retention_hours)
    return taxii_response(status_resource(found), media)
