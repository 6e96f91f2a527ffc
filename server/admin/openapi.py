"""`GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the route table.

Paths, methods, summaries, roles and status codes come from the `JsonApiRoutes` records of
every JSON API module the application serves; every schema comes from `schemas.admin`
through pydantic's JSON Schema generation. Nothing here restates a route or a field by hand.
"""

from __future__ import annotations

import functools
import re
from http import HTTPStatus

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas import admin as api
from server.web.routes import PREFIX, JsonApiRoutes, Operation

admin = JsonApiRoutes()
routes = admin.table

# The operations the document describes: every JSON API route the application serves
# (set by the application, which lists the route tables).
DOCUMENTED = web.AppKey("documented_operations", tuple)
_PATH_PARAM = re.compile(r"\{(\w+)\}")
_REF = "#/components/schemas/{model}"


def _path_schema(name: str, values: dict[str, tuple[str, ...]]) -> dict:
    if name in values:
        return {"type": "string", "enum": list(values[name])}
    if name == "key_id":
        return {"type": "string"}
    return {"type": "string", "format": "uuid"}


def _path_parameters(path: str, values: dict[str, tuple[str, ...]]) -> list[dict]:
    return [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(name, values)}
        for name in _PATH_PARAM.findall(path)
    ]


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _json(ref: dict) -> dict:
    return {"application/json": {"schema": ref}}


def _operation(op: Operation, refs: dict) -> dict:
    doc: dict = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": f"Needs: {op.role}.",
        "x-required-role": op.role,
        "tags": [op.path.removeprefix(PREFIX).split("/")[1]],
        "parameters": _path_parameters(op.path, dict(op.path_values))
        + (_query_parameters(op.query) if op.query else []),
        "responses": {
            str(op.status): {"description": HTTPStatus(op.status).phrase}
            | ({"content": _json(refs[op.response, "serialization"])} if op.response else {}),
            **{str(code): {"description": HTTPStatus(code).phrase,
                           "content": _json(refs[api.ErrorBody, "serialization"])}
               for code in op.errors},
        },
    }
    if op.request is not None:
        doc["requestBody"] = {
            # Action bodies (api.Empty) may be left out altogether.
            "required": op.request is not api.Empty,
            "content": _json(refs[op.request, "validation"]),
        }
    if op.public:
        doc["security"] = []
    return doc


def build_document(ops: list[Operation]) -> dict:
    """The OpenAPI 3.1 document of these operations."""
    inputs = {op.request for op in ops if op.request}
    outputs = {op.response for op in ops if op.response} | {api.ErrorBody}
    keys_ = [(m, "validation") for m in sorted(inputs, key=lambda m: m.__name__)]
    keys_ += [(m, "serialization") for m in sorted(outputs, key=lambda m: m.__name__)]
    refs, defs = models_json_schema(keys_, ref_template=_REF)
    paths: dict[str, dict] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Accord admin API",
            "version": "1",
            "description": "Organisations, API keys, trust groups, collections and the audit"
                           " log of an Accord exchange. Errors use the TAXII 2.1 error shape.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "`Authorization: Bearer <key id>.<secret>`"},
                "basic": {"type": "http", "scheme": "basic",
                          "description": "key id as user name, secret as password"},
            },
        },
        "security": [{"bearer": []}, {"basic": []}],
    }


@functools.cache
def _document_bytes(ops: tuple[Operation, ...]) -> bytes:
    # The routes are fixed once the application is built, so the document is built once.
    return orjson.dumps(build_document(list(ops)))


@admin.route("GET", "/openapi.json", role="none (public)", is_public=True, errors=())
async def openapi(request: web.Request) -> web.Response:
    """This API's OpenAPI 3.1 document."""
    return web.Response(body=_document_bytes(request.app[DOCUMENTED]),
                        content_type="application/json")
