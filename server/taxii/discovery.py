"""TAXII 2.1 Discovery (s4.1) and API Root (s4.2) resources."""

from __future__ import annotations

from aiohttp import web

from schemas.taxii import TAXII_MEDIA_TYPE
from server.config import SETTINGS
from server.web.apis import TAXII_API, RouteTable
from server.web.taxii import negotiate, taxii_response

API_ROOT = "/taxii2/root"

routes = RouteTable(TAXII_API)


def _base_url(request: web.Request) -> str:
    configured = request.app[SETTINGS].public_url
    return configured.rstrip("/") if configured else str(request.url.origin())


@routes.get("/taxii2/")
async def discovery(request: web.Request) -> web.Response:
    """Server discovery: the one API root this server has."""
    media = negotiate(request)
    settings = request.app[SETTINGS]
    root = f"{_base_url(request)}{API_ROOT}/"
    return taxii_response(
        {
            "title": settings.title,
            "description": "Accord threat-intelligence exchange (TAXII 2.1)",
            "default": root,
            # The second root holds the caller's saved feeds as read-only collections.
            "api_roots": [root, f"{_base_url(request)}/taxii2/feeds/"],
        },
        media,
    )


@routes.get(API_ROOT + "/")
async def api_root(request: web.Request) -> web.Response:
    """The API root: versions served and the largest body accepted."""
    media = negotiate(request)
    settings = request.app[SETTINGS]
    return taxii_response(
        {
            "title": f"{settings.title} API root",
            "description": "Collections of the trust groups you belong to",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": settings.max_content_length,
        },
        media,
    )
