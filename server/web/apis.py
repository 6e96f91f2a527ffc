"""The server's APIs (TAXII, the JSON API, the operations endpoints) and route tables
marked with the one they belong to.

`add_routes` records each resource's API, so the error middleware answers in that API's
media type without guessing from the path.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from schemas.taxii import TAXII_MEDIA_TYPE

PREFIX = "/api/v1"


@dataclass(frozen=True, slots=True)
class Api:
    """One of the server's APIs: where its routes live and how it answers errors."""

    name: str
    root: str  # every route of the API lies under it
    error_media_type: str


TAXII_API = Api("taxii", "/taxii2/", TAXII_MEDIA_TYPE)
JSON_API = Api("json", PREFIX + "/", "application/json")
OPERATIONS_API = Api("operations", "/", "application/json")


class RouteTable(web.RouteTableDef):
    """A RouteTableDef marked with the API its routes belong to."""

    def __init__(self, api: Api) -> None:
        super().__init__()
        self.api = api


# Which API each registered resource belongs to; filled by add_routes.
ROUTE_APIS = web.AppKey("route_apis", dict)


def add_routes(app: web.Application, table: RouteTable) -> None:
    """Add a marked table's routes to the app and record their API."""
    apis = app.setdefault(ROUTE_APIS, {})
    for route in app.add_routes(table):
        if not route.resource.canonical.startswith(table.api.root):
            raise ValueError(f"{route.resource.canonical} lies outside {table.api.root}")
        apis[route.resource] = table.api


def api_of(request: web.Request) -> Api:
    """The API of the matched route; for a request no route matched (404, 405), the API
    whose root holds its path."""
    apis: dict = request.app.get(ROUTE_APIS, {})
    api = apis.get(request.match_info.route.resource)
    if api is not None:
        return api
    roots = {a.root: a for a in apis.values()}
    under = [root for root in roots if request.path.startswith(root)]
    return roots[max(under, key=len)] if under else OPERATIONS_API
