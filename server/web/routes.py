"""The JSON API route table with what the OpenAPI document needs to know of each route.

JSON API modules register their handlers through `JsonApiRoutes.route`, which adds them to
a route table and records method, path, summary (the handler's docstring), request, query
and response models and the role needed; `server.admin.openapi` builds the document from
these records, so nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from server.web.apis import JSON_API, PREFIX, RouteTable
from server.web.auth import Handler, public


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
