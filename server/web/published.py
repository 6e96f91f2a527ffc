"""Documents the server publishes to anyone: the Accord extension's JSON Schema."""

from __future__ import annotations

from aiohttp import web

from schemas.accord_extension import schema_text
from server.web.apis import JSON_API, RouteTable
from server.web.auth import public

routes = RouteTable(JSON_API)


@routes.get("/api/v1/schemas/accord-extension.json")
@public
async def accord_extension_schema(request: web.Request) -> web.Response:
    """The JSON Schema of the Accord sharing-terms extension."""
    return web.Response(text=schema_text(), content_type="application/schema+json")
