"""The OpenAPI 3.1 document is generated from the route table and the models, and is valid."""

from __future__ import annotations

from openapi_spec_validator import validate

from server.app import json_api_operations as operations


def _resolve(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: object):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


async def test_openapi_document_is_valid_and_complete(api):
    answer = await api("GET", "/openapi.json")  # public: it describes the API, holds no data
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/json")
    doc = answer.body
    assert doc["openapi"].startswith("3.1.")
    validate(doc)
    ops = operations()
    assert len(ops) >= 25
    for op in ops:
        documented = doc["paths"][op.path][op.method.lower()]
        assert documented["summary"] and documented["x-required-role"] == op.role
    assert len({op.operation_id for op in ops}) == len(ops)
    refs = set(_refs(doc))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/") and _resolve(doc, ref)
    create = doc["components"]["schemas"]["GroupCreate"]
    assert create["additionalProperties"] is False
    assert create["properties"]["name"]["description"]


async def test_routes_in_the_document_are_served(api, world):
    # Every documented path answers something other than 405 for its method.
    doc = (await api("GET", "/openapi.json")).body
    for path, methods in doc["paths"].items():
        for method in methods:
            url = path.removeprefix("/api/v1").replace("{org_id}", str(world.alice.org_id))
            answer = await api(method.upper(), url, world.alice.reader)
            assert answer.status != 405, (method, path)
