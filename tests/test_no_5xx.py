"""No 5xx, ever: each input an adversarial review answered with a 500 gets a 4xx (or a
per-object failure), and an unreadable credential is exactly as unknown as an unknown key."""

from __future__ import annotations

import asyncio
import base64
import uuid
import zlib
from urllib.parse import urlsplit

import orjson
import pytest

from tests.helpers import auth, envelope, get_json, indicator, objects_url, post


async def _raw_get(base_url: str, path: str, authorization: bytes) -> tuple[int, bytes]:
    """A GET with a header sent as raw bytes (clients refuse to send non-ASCII ones)."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Accept: application/taxii+json;version=2.1\r\n"
                     b"Authorization: " + authorization + b"\r\n\r\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _without_request_id(body: bytes) -> dict:
    data = orjson.loads(body)
    data.pop("error_id", None)
    return data


@pytest.mark.parametrize("path", ["/taxii2/", "/api/v1/orgs"])
async def test_non_ascii_credentials_answer_exactly_like_an_unknown_key(
    base_url, world, path
):
    real_id = world.alice.reader.token.split(".")[0].encode()
    unknown = await _raw_get(base_url, path, b"Bearer ak_0000000000000000.secret")
    assert unknown[0] == 401
    for header in (
        b"Bearer \xe9\xe9.x",
        b"Bearer " + real_id + b".\xe9\xe9",
        b"Basic " + base64.b64encode(b"\xe9:\xe9"),
        b"Basic " + base64.b64encode(real_id + ":\u00e9".encode()),
        b"Basic " + base64.b64encode(real_id + b"\x00:x"),
    ):
        status, body = await _raw_get(base_url, path, header)
        assert status == 401, header
        assert _without_request_id(body) == _without_request_id(unknown[1]), header


async def test_year_zero_is_a_per_object_failure(http, base_url, world):
    bad = indicator(created="0000-01-01T00:00:00.000Z")
    good = indicator()
    async with http.post(objects_url(base_url, world.collection_id),
                         data=envelope(bad, good), headers=auth(world.alice.contributor)) as r:
        status = await r.json(content_type=None)
        assert r.status == 202, status
    assert status["success_count"] == 1
    assert [f["id"] for f in status["failures"]] == [bad["id"]]


@pytest.mark.parametrize("limit", ["²", "①", "\u0661", "+1", " 1", "0" * 5000])
async def test_non_ascii_or_huge_limit_is_400(http, base_url, world, limit):
    status, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id), world.alice.reader, limit=limit
    )
    assert status == 400, body


def _token(micros: int, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{micros}.{seq}".encode()).decode().rstrip("=")


@pytest.mark.parametrize("suffix", ["", "{id}/", "{id}/versions/", "../manifest/"])
@pytest.mark.parametrize("token", [_token(0, 2**63), _token(0, 10**30), _token(10**19, 1),
                                   _token(-(10**19), 1)])
async def test_out_of_range_next_token_is_400(http, base_url, world, suffix, token):
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    url = objects_url(base_url, world.collection_id, suffix.format(id=obj["id"]))
    status, body, _ = await get_json(http, url, world.alice.reader, next=token)
    assert status == 400, body


@pytest.mark.parametrize("params", [{"after": str(10**23)}, {"action": "\x00"},
                                    {"after": "²"}, {"org": "\x00"}])
async def test_audit_query_extremes_are_400(http, base_url, world, params):
    async with http.get(f"{base_url}/api/v1/audit", params=params,
                        headers={"Authorization": f"Bearer {world.platform.token}"}) as r:
        assert r.status == 400, await r.text()


async def _json(http, method, url, key, payload):
    async with http.request(method, url, data=orjson.dumps(payload), headers={
        "Authorization": f"Bearer {key.token}", "Content-Type": "application/json",
    }) as r:
        return r.status, await r.read()


@pytest.mark.parametrize("case", [
    "org-name", "group-name", "group-description", "collection-title",
    "collection-description", "invite", "manager", "member", "feed-name", "feed-label",
    "feed-indicator-type",
])
async def test_nul_in_admin_and_feed_strings_is_400(http, base_url, world, case):
    api = f"{base_url}/api/v1"
    group = f"{api}/groups/{world.group_id}"
    nul = "a\x00b"
    method, url, key, payload = {
        "org-name": ("POST", f"{api}/orgs", world.platform, {"name": nul, "sector": "private"}),
        "group-name": ("POST", f"{api}/groups", world.alice.admin, {"name": nul}),
        "group-description": ("PATCH", group, world.platform, {"description": nul}),
        "collection-title": ("POST", f"{group}/collections", world.platform, {"title": nul}),
        "collection-description": ("PATCH", f"{api}/collections/{world.collection_id}",
                                   world.platform, {"description": nul}),
        "invite": ("POST", f"{group}/invitations", world.platform, {"org": nul}),
        "manager": ("POST", f"{group}/managers", world.platform, {"org": nul}),
        "member": ("POST", f"{group}/members", world.platform, {"org": nul}),
        "feed-name": ("POST", f"{api}/feeds", world.alice.reader, {"name": nul}),
        "feed-label": ("POST", f"{api}/feeds", world.alice.reader,
                       {"name": "f", "filter": {"labels": [nul]}}),
        "feed-indicator-type": ("POST", f"{api}/feeds", world.alice.reader,
                                {"name": "f", "filter": {"indicator_types": [nul]}}),
    }[case]
    status, body = await _json(http, method, url, key, payload)
    assert status == 400, body


@pytest.mark.parametrize("key_id", ["ak_%00", "%C3%A9", "a" * 3000])
async def test_odd_key_id_paths_are_4xx(http, base_url, world, key_id):
    url = f"{base_url}/api/v1/orgs/{world.alice.org_id}/keys/{key_id}"
    async with http.delete(url, headers={"Authorization": f"Bearer {world.platform.token}"}) as r:
        assert r.status == 404, await r.text()


@pytest.mark.parametrize("host", ["a..localhost", "xn--a.example", "-a-.example", "\u00e9" * 70])
async def test_idna_failing_webhook_hosts_are_400(http, base_url, world, host):
    status, body = await _json(http, "POST", f"{base_url}/api/v1/feeds", world.alice.reader,
                               {"name": "hook", "webhook": {"url": f"https://{host}/x"}})
    assert status == 400, body


@pytest.mark.parametrize("encoding", ["deflate", "gzip", "br"])
async def test_garbage_compressed_body_is_400(http, base_url, world, encoding):
    async with http.post(objects_url(base_url, world.collection_id),
                         data=b"\x00garbage" * 50,
                         headers=auth(world.alice.contributor, **{"Content-Encoding": encoding})
                         ) as r:
        # An encoding aiohttp does not decode (br without brotli) is refused by its parser.
        assert r.status == 400, await r.text()


async def test_truncated_deflate_body_is_400(http, base_url, world):
    data = zlib.compress(envelope(indicator()))[:-6]
    async with http.post(objects_url(base_url, world.collection_id), data=data,
                         headers=auth(world.alice.contributor, **{"Content-Encoding": "deflate"})
                         ) as r:
        assert r.status == 400, await r.text()


async def test_uuid_looking_segments_with_newlines_are_404(http, base_url, world):
    status, _, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"indicator--{uuid.uuid4()}%0A/"),
        world.alice.reader,
    )
    assert status == 404


async def test_a_limit_too_long_for_int_is_clamped(http, base_url, world):
    status, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id), world.alice.reader, limit="9" * 5000
    )
    assert status == 200, body


async def test_a_header_that_is_not_utf8_is_quoted_in_the_error_not_a_500(base_url, world):
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: \x80\r\n"
                 b"Authorization: Bearer " + world.alice.reader.token.encode() + b"\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert raw.split()[1] == b"406", raw[:300]
