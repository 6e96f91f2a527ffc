"""Bad input gets a clear TAXII error (or a per-object failure) and changes nothing."""

from __future__ import annotations

import asyncio
import gzip
import io
import re
import time
import uuid

import orjson
import pytest

from schemas.taxii import TAXII_MEDIA_TYPE
from tests.helpers import auth, envelope, get_json, indicator, objects_url, post


async def _stored_ids(http, base_url, world) -> list[str]:
    _, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id), world.alice.reader,
        **{"match[version]": "all"},
    )
    return [o["id"] for o in body.get("objects", [])]


async def _post_raw(http, base_url, world, data: bytes, **headers: str):
    async with http.post(
        objects_url(base_url, world.collection_id), data=data,
        headers=auth(world.alice.contributor, **headers),
    ) as resp:
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


def _nested(depth: int) -> bytes:
    return b'{"objects":[' + b"[" * depth + b"]" * depth + b"]}"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[]", "TAXII envelope"),
        (b'"objects"', "TAXII envelope"),
        (b'{"more": false}', "no 'objects'"),
        (b'{"objects": {}}', "must be a list"),
        (b'{"objects": []}', "is empty"),
        (b'{"objects": [NaN]}', "not valid JSON"),
        (b'{"objects": [1' + b"0" * 5000 + b"]}", "not valid JSON"),
        (b'{"objects": ["\\ud800"]}', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (_nested(5000), "not valid JSON"),
        (orjson.dumps({"objects": [indicator()]})[:-3] + b', "name": "again"}]}',
         "'name' occurs twice"),
        (b'{"objects" : [' + orjson.dumps(indicator()) + b'], "objects" : []}',
         "'objects' occurs twice"),
        (orjson.dumps({"objects": [indicator(external_references=[{"source_name": "a"}])]})
         .replace(b'"source_name":"a"', b'"source_name":"a","\\u0073ource_name":"b"'),
         "'source_name' occurs twice"),
    ],
    ids=["malformed", "empty-body", "list", "string", "no-objects", "objects-not-list",
         "empty-envelope", "nan", "5000-digit-int", "lone-surrogate", "not-utf8", "deep",
         "duplicate-property", "duplicate-objects", "duplicate-escaped-nested"],
)
async def test_envelope_errors_are_400_and_store_nothing(http, base_url, world, body, words):
    status, error, headers = await _post_raw(http, base_url, world, body)
    assert status == 400, error
    assert words in error["description"]
    assert error["http_status"] == "400"
    assert headers["Content-Type"] == TAXII_MEDIA_TYPE
    assert await _stored_ids(http, base_url, world) == []


BAD_OBJECTS = {
    "not-an-object": 42,
    "no-type": {k: v for k, v in indicator().items() if k != "type"},
    "bad-id": indicator(stix_id="indicator--not-a-uuid"),
    "wrong-id-prefix": indicator(stix_id=f"malware--{uuid.uuid4()}"),
    "timestamp-without-z": indicator(created="2026-01-01T00:00:00.000"),
    "impossible-date": indicator(created="2026-02-30T00:00:00.000Z"),
    "modified-before-created": indicator(modified="2025-01-01T00:00:00.000Z"),
    "far-future": indicator(created="2999-01-01T00:00:00.000Z"),
    "spec-version-2.0": {**indicator(), "spec_version": "2.0"},
    "bad-pattern": {**indicator(), "pattern": "[ipv4-addr:value = '1.2.3.4'"},
    "wrong-type-for-name": {**indicator(), "name": ["a", "list"]},
    "confidence-out-of-range": indicator(confidence=101),
}


@pytest.mark.parametrize("name", list(BAD_OBJECTS))
async def test_invalid_object_is_a_per_object_failure_beside_valid_ones(
    http, base_url, world, name
):
    good = indicator()
    status = await post(
        http, base_url, world.collection_id, world.alice.contributor, good, BAD_OBJECTS[name]
    )
    assert status["total_count"] == 2
    assert status["success_count"] == 1 and status["failure_count"] == 1
    assert status["failures"][0]["message"].startswith("objects[1]: ")
    assert await _stored_ids(http, base_url, world) == [good["id"]]


async def test_nul_character_is_stored_and_served_without_failing_the_envelope(
    http, base_url, world
):
    # In free text, in a label and in an IOC value (both also kept as search facets).
    obj = indicator(description="before\u0000after", labels=["c2\u0000x"],
                    pattern="[url:value = 'http://a.example/\u0000b']")
    status = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert status["success_count"] == 1, status
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id),
                                world.alice.reader)
    served = body["objects"][0]
    assert served["description"] == "before\u0000after" and served["labels"] == ["c2\u0000x"]
    assert served["pattern"] == obj["pattern"]


def _deep_envelope(depth: int) -> bytes:
    """An envelope with one indicator whose custom property nests `depth` objects deep."""
    flat = orjson.dumps(indicator())
    return (b'{"objects":[' + flat[:-1] + b',"x_nested":' + b'{"x_deeper":' * depth
            + b'"bottom"' + b"}" * depth + b"}]}")


@pytest.mark.parametrize("depth", [99, 150, 300, 1000])
async def test_deeply_nested_objects_are_a_400_not_a_crash(http, base_url, world, depth):
    status, error, _ = await _post_raw(http, base_url, world, _deep_envelope(depth))
    assert status == 400, error
    assert "nested deeper than 100 levels" in error["description"]
    assert await _stored_ids(http, base_url, world) == []


async def test_nesting_within_the_limit_is_stored(http, base_url, world):
    status, body, _ = await _post_raw(http, base_url, world, _deep_envelope(90))
    assert status == 202 and body["success_count"] == 1, body


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "application/taxii+json;version=2.0", ""],
)
async def test_wrong_content_type_is_415(http, base_url, world, content_type):
    status, error, _ = await _post_raw(
        http, base_url, world, envelope(indicator()), **{"Content-Type": content_type}
    )
    assert status == 415 and error["http_status"] == "415"
    assert await _stored_ids(http, base_url, world) == []


@pytest.mark.parametrize("accept", ["text/html", "application/json", "application/xml;q=1"])
async def test_unanswerable_accept_is_406(http, base_url, world, accept):
    status, error, _ = await _post_raw(
        http, base_url, world, envelope(indicator()), Accept=accept
    )
    assert status == 406 and error["http_status"] == "406"
    async with http.get(f"{base_url}/taxii2/",
                        headers=auth(world.alice.reader, Accept=accept)) as resp:
        assert resp.status == 406
    assert await _stored_ids(http, base_url, world) == []


async def test_stix_media_type_is_accepted_for_objects(http, base_url, world):
    stix = "application/stix+json;version=2.1"
    status, body, _ = await _post_raw(
        http, base_url, world, envelope(indicator()), **{"Content-Type": stix}
    )
    assert status == 202, body
    async with http.get(objects_url(base_url, world.collection_id),
                        headers=auth(world.alice.reader, Accept=stix)) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == stix


async def test_oversize_body_is_413_without_storing(http, base_url, world, settings):
    big = envelope(indicator(description="x" * settings.max_content_length))
    status, error, _ = await _post_raw(http, base_url, world, io.BytesIO(big))
    assert status == 413 and error["http_status"] == "413"
    assert await _stored_ids(http, base_url, world) == []


async def test_oversize_chunked_body_is_413(http, base_url, world, settings):
    async def chunks():
        yield b'{"objects": [{"description": "'
        for _ in range(settings.max_content_length // 65536 + 2):
            yield b"x" * 65536
        yield b'"}]}'

    status, error, _ = await _post_raw(http, base_url, world, chunks())
    assert status == 413 and error["http_status"] == "413"
    assert await _stored_ids(http, base_url, world) == []


async def test_a_slow_sender_is_refused_with_408_and_nothing_stored(
    http, base_url, world, settings
):
    """A sender that stops mid-body gets a TAXII error after the body timeout, instead of
    holding the request (and its connection) open for ever."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    path = objects_url("", world.collection_id)
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000\r\n"
            f"Authorization: Bearer {world.alice.contributor.token}\r\n"
            f"Content-Type: {TAXII_MEDIA_TYPE}\r\nAccept: {TAXII_MEDIA_TYPE}\r\n\r\n")
    writer.write(head.encode() + b'{"objects": [')
    await writer.drain()
    started = time.monotonic()
    try:
        status_line = await asyncio.wait_for(reader.readline(), settings.body_timeout_s + 10)
        waited = time.monotonic() - started
        headers = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(re.search(rb"(?i)content-length: (\d+)", headers).group(1))
        error = orjson.loads(await asyncio.wait_for(reader.readexactly(length), 5))
    finally:
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 408"), status_line
    assert waited >= settings.body_timeout_s * 0.9
    assert error["http_status"] == "408" and "did not arrive" in error["description"]
    assert TAXII_MEDIA_TYPE.encode() in headers
    assert await _stored_ids(http, base_url, world) == []


async def test_gzip_bomb_is_cut_off_at_the_limit(http, base_url, world, settings):
    bomb = gzip.compress(b'{"objects": ["' + b"0" * (settings.max_content_length * 4) + b'"]}')
    assert len(bomb) < settings.max_content_length // 10
    status, _, _ = await _post_raw(http, base_url, world, bomb, **{"Content-Encoding": "gzip"})
    assert status == 413
    assert await _stored_ids(http, base_url, world) == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"}, {"limit": "-1"}, {"limit": "ten"}, {"next": "garbage!"},
        {"next": "MTIz"}, {"added_after": "yesterday"}, {"added_after": "2026-13-01T00:00:00Z"},
        {"match[id]": "not-an-id"}, {"match[type]": "Bad Type"},
        {"match[version]": "newest"}, {"match[spec_version]": "latest"}, {"bogus": "1"},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
async def test_bad_query_parameters_are_400(http, base_url, world, params):
    code, error, _ = await get_json(
        http, objects_url(base_url, world.collection_id), world.alice.reader, **params
    )
    assert code == 400, error
    assert error["http_status"] == "400"


async def test_huge_limit_is_clamped_to_the_server_maximum(http, base_url, world, settings):
    code, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id), world.alice.reader,
        limit=str(10**12),
    )
    assert code == 200 and body["more"] is False


@pytest.mark.parametrize("collection", ["not-a-uuid", str(uuid.uuid4()), "%00", "..%2F"])
async def test_malformed_or_unknown_collection_is_404(http, base_url, world, collection):
    code, error, _ = await get_json(
        http, f"{base_url}/taxii2/root/collections/{collection}/objects/", world.alice.reader
    )
    assert code == 404 and error["http_status"] == "404"


@pytest.mark.parametrize("object_id", ["nonsense", f"indicator--{uuid.uuid4()}"])
async def test_unknown_object_is_404(http, base_url, world, object_id):
    code, _, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{object_id}/"), world.alice.reader
    )
    assert code == 404


async def test_unknown_route_and_method_are_taxii_errors(http, base_url, world):
    code, error, _ = await get_json(http, f"{base_url}/taxii2/nowhere/", world.alice.reader)
    assert code == 404 and error["http_status"] == "404"
    async with http.put(f"{base_url}/taxii2/", headers=auth(world.alice.reader)) as resp:
        assert resp.status == 405
        assert orjson.loads(await resp.read())["http_status"] == "405"
