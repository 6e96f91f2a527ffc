"""TAXII 2.1 Status resource (s4.3): readable only by the organisation that posted."""

from __future__ import annotations

from aiohttp import web

from schemas.taxii import format_timestamp
from server.appkeys import POOL, SETTINGS, principal_of
from server.ingest.envelope import read_status
from server.store.statuses import Status
from server.taxii.common import API_ROOT, negotiate, parse_uuid, taxii_response

routes = web.RouteTableDef()


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
    status_id = parse_uuid(request.match_info["status_id"], "status")
    found = await read_status(request.app[POOL], principal_of(request), status_id,
                              request.app[SETTINGS].status_retention_hours)
    return taxii_response(status_resource(found), media)
