"""Route tables, each marked with the API it belongs to, and the JSON API's documented routes.

Every route table says which API it serves (TAXII, the JSON API, the operations endpoints),
and `add_routes` records that for each resource: the error middleware answers in that API's
media type without guessing from the path.

JSON API modules register their handlers through `JsonApiRoutes.route`, which adds them to
a route table and records method, path, summary (the handler's docstring), request, query
and response models and the role needed; `server.admin.openapi` builds the document from
these records, so nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

from schemas.taxii import TAXII_MEDIA_TYPE
from server.web.auth import Handler, public

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


@dataclass(frozen=True, slots=True)
class Operation:
    """One JSON API route as documented."""

    method: str
    path: str
    operation_id: str
    summary: str
    role: str
    request: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    public: bool
    errors: tuple[int, ...]
    # Path parameters that take one of a few values (e.g. an export format).
    path_values: tuple[tuple[str, tuple[str, ...]], ...] = ()


class JsonApiRoutes:
    """The JSON API route table of one resource module plus the operations it documents."""

    def __init__(self) -> None:
        self.table = RouteTable(JSON_API)
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        role: str,
        request: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        is_public: bool = False,
        errors: tuple[int, ...] = (401, 403, 404),
        path_values: dict[str, tuple[str, ...]] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a handler at PREFIX + path and record it for the OpenAPI document."""

        def register(handler: Handler) -> Handler:
            summary = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
            if is_public:
                handler = public(handler)
            self.operations.append(Operation(
                method.upper(), PREFIX + path, handler.__name__, summary, role, request, query,
                response, status, is_public,
                tuple(sorted({*errors, *((400, 413, 415) if request else ()),
                              *((400,) if query else ())})),
                tuple((path_values or {}).items()),
            ))
            self.table.route(method, PREFIX + path)(handler)
            return handler

        return register
