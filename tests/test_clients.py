"""Every TAXII client in the field: each one's request sequence, headers exactly as it sends them.

Where the client is a Python library (taxii2-client, and with it OpenCTI's TAXII 2 connector and
Cortex XSOAR's TAXII 2 feed, both built on it) the real library runs against the server. The
others cannot be installed here, so their sequences are replayed from their own code:

- OpenCTI's built-in TAXII ingester (opencti-graphql src/manager/ingestionManager.ts):
  `Accept: application/taxii+json;version=2.1`, `Authorization: Bearer <value>`, params
  `next` and the original `added_after` on every page; the next poll's added_after is the
  last page's X-TAXII-Date-Added-Last. OpenCTI 5.10 sent axios' default
  `Accept: application/json, text/plain, */*` (OpenCTI issue #4246: medallion answered 406).
- Elastic's threat-intel TAXII input (elastic/integrations packages/ti_custom,
  data_stream/indicator/agent/stream/cel.yml.hbs): `<url>/?added_after=<cursor>&limit=N`,
  then `<url>/?limit=N&next=<token>` while the body has a non-empty `next` (it never looks
  at `more`), and X-Taxii-Date-Added-Last of each response as the cursor of the next poll.
- EclecticIQ: broke on invalid X-TAXII-Date-Added-* headers on empty pages (OpenCTI #6973).
"""

from __future__ import annotations

import asyncio
import gzip
import time
import uuid

import aiohttp
import orjson
import pytest
import stix2
from taxii2client.common import TokenAuth
from taxii2client.v21 import Server, as_pages

from schemas.accord_extension import ACCORD_EXTENSION_ID
from schemas.taxii import TAXII_MEDIA_TYPE
from schemas.tlp import TLP1_ID_OF, TLP2_ID_OF, Tlp, with_tlp1_marking
from server.web.middleware import accepts_gzip
from tests.feed_helpers import Receiver, SseReader, create_feed
from tests.helpers import indicator, objects_url, post
from tests.test_interop import _assert_valid

ELASTIC_ACCEPT = "application/taxii+json;version=2.1"  # the input's default accept_header
OPENCTI_510_ACCEPT = "application/json, text/plain, */*"
XSOAR_TAXII20_PROBE = "application/vnd.oasis.taxii+json; version=2.0"


def _ids(body: dict) -> list[str]:
    return [o["id"] for o in body.get("objects", [])]


async def _get(http, url: str, headers: dict[str, str], params: dict | None = None):
    async with http.get(url, headers=headers, params=params) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


# ------------------------------------------------------------------ Authorization: Token


def _token_tour(base_url: str, token: str, title: str, expected: list[str]) -> list[str]:
    # As OpenCTI's connector and XSOAR do: TokenAuth, the default API root, the collection
    # found by its title, then every page.
    server = Server(f"{base_url}/taxii2/", auth=TokenAuth(token))
    [collection] = [c for c in server.default.collections if c.title == title]
    seen = []
    for page in as_pages(collection.get_objects, per_request=4):
        seen += _ids(page)
    assert sorted(seen) == sorted(expected)
    return seen


async def _title(http, base_url, world) -> str:
    headers = {"Accept": TAXII_MEDIA_TYPE, "Authorization": f"Bearer {world.bob.reader.token}"}
    url = f"{base_url}/taxii2/root/collections/{world.collection_id}/"
    status, body, _ = await _get(http, url, headers)
    assert status == 200
    return body["title"]


async def test_taxii2client_token_auth_reads_like_bearer(http, base_url, world):
    objs = [indicator(f"203.0.113.{i}") for i in range(9)]
    await post(http, base_url, world.collection_id, world.alice.contributor, *objs)
    title = await _title(http, base_url, world)
    await asyncio.to_thread(_token_tour, base_url, world.bob.reader.token, title,
                            [o["id"] for o in objs])


async def test_a_bad_token_is_refused_like_a_bad_bearer(http, base_url, world):
    url = objects_url(base_url, world.collection_id)
    answers = []
    for scheme in ("Token", "Bearer"):
        headers = {"Accept": TAXII_MEDIA_TYPE, "Authorization": f"{scheme} nokey.nosecret"}
        status, body, resp_headers = await _get(http, url, headers)
        answers.append((status, body["title"], resp_headers.get("WWW-Authenticate")))
    assert answers[0] == answers[1] and answers[0][0] == 401


# ------------------------------------------------------------------ Accept


async def test_opencti_510_accept_header_gets_taxii(http, base_url, world):
    ind = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, ind)
    headers = {"Accept": OPENCTI_510_ACCEPT, "Authorization": f"Bearer {world.bob.reader.token}"}
    status, body, resp_headers = await _get(http, objects_url(base_url, world.collection_id),
                                            headers)
    assert status == 200
    assert resp_headers["Content-Type"] == TAXII_MEDIA_TYPE
    assert _ids(body) == [ind["id"]]


@pytest.mark.parametrize("accept", [XSOAR_TAXII20_PROBE, "application/json", "text/html"])
async def test_accept_headers_admitting_nothing_we_serve_are_406(http, base_url, world, accept):
    # XSOAR tries TAXII 2.0 first and switches to 2.1 only on "406 Client Error"
    # (TAXII2ApiModule.py init_roots): a 200 here would strand it on 2.0.
    headers = {"Accept": accept, "Authorization": f"Bearer {world.bob.reader.token}"}
    for url in (f"{base_url}/taxii2/", objects_url(base_url, world.collection_id)):
        status, body, _ = await _get(http, url, headers)
        assert status == 406, (url, body)


# ------------------------------------------------------------------ paging sequences


async def _post_batches(http, base_url, world, *counts: int) -> list[str]:
    ids = []
    for count in counts:
        objs = [indicator(f"198.18.{len(ids) // 250}.{len(ids) % 250 + i}") for i in range(count)]
        await post(http, base_url, world.collection_id, world.alice.contributor, *objs)
        ids += [o["id"] for o in objs]
    return ids


async def _elastic_poll(http, url: str, token: str, cursor: str | None, initial: str,
                        limit: int = 10) -> tuple[list[str], str | None, int]:
    """One interval of Elastic's CEL program: the first request, then next until none."""
    headers = {"Accept": ELASTIC_ACCEPT, "Authorization": f"Bearer {token}"}
    request_url = url.rstrip("/") + "/"
    params: dict[str, str] = {"added_after": cursor or initial, "limit": str(limit)}
    seen: list[str] = []
    for requests in range(1, 101):  # bounded
        status, body, resp_headers = await _get(http, request_url, headers, params)
        assert status == 200, body
        seen += _ids(body)
        # cursor: {last_timestamp: resp.Header[?"X-Taxii-Date-Added-Last"][0]}: from every
        # response, and absent when the header is.
        cursor = resp_headers.get("X-TAXII-Date-Added-Last")
        if not body.get("next"):
            return seen, cursor, requests
        params = {"next": body["next"], "limit": str(limit)}  # added_after dropped
    raise AssertionError("the next chain did not end")


async def test_elastic_sequence_never_repeats_or_skips(http, base_url, world):
    url = objects_url(base_url, world.collection_id)
    token = world.bob.reader.token
    first = await _post_batches(http, base_url, world, 12, 13)
    seen, cursor, requests = await _elastic_poll(http, url, token, None,
                                                 "2020-01-01T00:00:00.000Z")
    assert seen == first and requests == 3 and cursor is not None
    later = await _post_batches(http, base_url, world, 7)
    seen, cursor2, _ = await _elastic_poll(http, url, token, cursor, "unused")
    assert seen == later
    # A quiet interval: an empty page, no date-added headers at all (Elastic then falls back
    # to its initial interval: it re-reads, it never skips).
    seen, cursor3, _ = await _elastic_poll(http, url, token, cursor2, "unused")
    assert seen == [] and cursor3 is None


async def test_opencti_ingester_sequence_never_repeats_or_skips(http, base_url, world):
    url = objects_url(base_url, world.collection_id)
    headers = {"Accept": TAXII_MEDIA_TYPE, "Authorization": f"Bearer {world.bob.reader.token}"}
    first = await _post_batches(http, base_url, world, 9, 9)
    added_after, cursor, seen = "2020-01-01T00:00:00.000Z", None, []
    for _ in range(20):  # one request per run of the ingestion manager, bounded
        params = {"added_after": added_after, "limit": "5"}
        if cursor:
            params["next"] = cursor  # sent together with the unchanged added_after
        status, body, resp_headers = await _get(http, url, headers, params)
        assert status == 200
        if not body.get("objects"):
            break
        seen += _ids(body)
        if body.get("more") and body.get("next"):
            cursor = body["next"]
        else:
            cursor, added_after = None, resp_headers["X-TAXII-Date-Added-Last"]
    assert seen == first
    later = await _post_batches(http, base_url, world, 3)
    status, body, _ = await _get(http, url, headers, {"added_after": added_after, "limit": "5"})
    assert _ids(body) == later


async def test_next_token_keeps_the_filters_of_its_query(http, base_url, world):
    url = objects_url(base_url, world.collection_id)
    headers = {"Accept": ELASTIC_ACCEPT, "Authorization": f"Bearer {world.bob.reader.token}"}
    wanted = await _post_batches(http, base_url, world, 4)
    others = [indicator(f"198.51.100.{i}") for i in range(4)]
    await post(http, base_url, world.collection_id, world.alice.contributor, *others)
    filters = {"match[id]": ",".join([*wanted, f"indicator--{uuid.uuid4()}"])}
    status, body, _ = await _get(http, url, headers, {**filters, "limit": "3"})
    assert status == 200 and body["more"]
    seen = _ids(body)
    # next alone, as Elastic and OpenCTI's connector send it: still the filtered query.
    status, body, _ = await _get(http, url, headers, {"next": body["next"], "limit": "3"})
    assert status == 200
    assert seen + _ids(body) == wanted and not body["more"]
    # next with the filters repeated (taxii2-client's as_pages) is the same query.
    _, first, _ = await _get(http, url, headers, {**filters, "limit": "3"})
    _, again, _ = await _get(http, url, headers, {**filters, "limit": "3", "next": first["next"]})
    assert _ids(again) == wanted[3:]
    # ...but another filter in the middle of the sequence is refused, clearly.
    status, body, _ = await _get(http, url, headers, {"next": first["next"],
                                                      "match[type]": "identity"})
    assert status == 400 and "match[type]" in body["description"]


def _connector_poll(base_url: str, token: str, title: str) -> list[str]:
    # OpenCTI's TAXII 2 connector poll(): get_objects(limit), then while more: drop
    # added_after, get_objects(next=..., limit=...).
    server = Server(f"{base_url}/taxii2/", auth=TokenAuth(token))
    [collection] = [c for c in server.default.collections if c.title == title]
    filters: dict = {"limit": 4, "added_after": "2020-01-01T00:00:00.000Z"}
    response = collection.get_objects(**filters)
    objects = _ids(response)
    for _ in range(50):
        if response.get("more") is not True:
            break
        filters.pop("added_after", None)
        filters["next"] = response["next"]
        response = collection.get_objects(**filters)
        objects += _ids(response)
    return objects


async def test_opencti_connector_sequence(http, base_url, world):
    ids = await _post_batches(http, base_url, world, 6, 5)
    title = await _title(http, base_url, world)
    seen = await asyncio.to_thread(_connector_poll, base_url, world.bob.reader.token, title)
    assert seen == ids


# ------------------------------------------------------------------ empty pages


async def test_empty_pages_carry_no_date_added_headers(http, base_url, world):
    ind = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, ind)
    headers = {"Accept": TAXII_MEDIA_TYPE, "Authorization": f"Bearer {world.bob.reader.token}"}
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    feed_root = f"{base_url}/taxii2/feeds/collections/{feed['id']}"
    urls = [
        objects_url(base_url, world.collection_id),
        f"{base_url}/taxii2/root/collections/{world.collection_id}/manifest/",
        objects_url(base_url, world.collection_id, f"{ind['id']}/versions/"),
        objects_url(base_url, world.collection_id, f"{ind['id']}/"),
        f"{feed_root}/objects/",
        f"{feed_root}/manifest/",
    ]
    for url in urls:
        status, body, resp_headers = await _get(http, url, headers)
        assert status == 200, (url, body)
        last = resp_headers["X-TAXII-Date-Added-Last"]
        assert resp_headers["X-TAXII-Date-Added-First"] <= last
        status, body, resp_headers = await _get(http, url, headers, {"added_after": last})
        assert status == 200, (url, body)
        assert body["more"] is False and not body.get("objects"), (url, body)
        assert not any(h.lower().startswith("x-taxii-date-added") for h in resp_headers), url


# ------------------------------------------------------------------ Accept-Encoding: gzip


@pytest.mark.parametrize(("header", "admits"), [
    ("gzip, deflate", True), ("gzip", True), ("gzip, compress, deflate, br", True),
    ("deflate, gzip;q=0.5", True), ("*", True), ("identity", False), ("", False),
    ("gzip;q=0", False), ("gzip;q=0, *", False), ("br, *;q=0", False), ("GZIP;Q=1", True),
])
def test_accepts_gzip(header, admits):
    assert accepts_gzip(header) is admits


async def test_gzip_answers_every_large_taxii_and_json_resource(http, base_url, world):
    objs = [indicator(f"198.19.{i // 250}.{i % 250}", description="d" * 200) for i in range(60)]
    status = await post(http, base_url, world.collection_id, world.alice.contributor, *objs)
    root = f"{base_url}/taxii2/root"
    urls = [
        objects_url(base_url, world.collection_id),
        f"{root}/collections/{world.collection_id}/manifest/",
        f"{root}/status/{status['id']}/",
        f"{root}/collections/",
        f"{base_url}/api/v1/openapi.json",
        f"{base_url}/api/v1/feeds",
    ]
    reader = {"Accept": TAXII_MEDIA_TYPE, "Authorization": f"Bearer {world.bob.reader.token}"}
    poster = {**reader, "Authorization": f"Bearer {world.alice.contributor.token}"}
    compressed = []
    async with aiohttp.ClientSession(auto_decompress=False) as raw:
        for url in urls:
            headers = poster if "/status/" in url else reader
            if "/api/v1/" in url:
                headers = {"Authorization": reader["Authorization"]}
            async with raw.get(url, headers={**headers, "Accept-Encoding": "identity"}) as r:
                assert r.status == 200, url
                plain = await r.read()
                assert "Content-Encoding" not in r.headers
                vary = r.headers.get("Vary", "")
            if len(plain) < 1024:
                continue  # small bodies stay as they are, whatever the client accepts
            assert "Accept-Encoding" in vary, url
            async with raw.get(url, headers={**headers, "Accept-Encoding": "gzip, deflate"}) as r:
                assert r.status == 200
                assert r.headers["Content-Encoding"] == "gzip", url
                assert "Accept-Encoding" in r.headers["Vary"]
                packed = await r.read()
            assert len(packed) < len(plain) / 2, url
            assert gzip.decompress(packed) == plain, url
            compressed.append(url)
        assert len(compressed) >= 4, compressed  # objects, manifest, status, OpenAPI at least
        # The versions of one object and the discovery document are small: never gzipped.
        small = objects_url(base_url, world.collection_id, f"{objs[0]['id']}/versions/")
        async with raw.get(small, headers={**reader, "Accept-Encoding": "gzip"}) as r:
            assert r.status == 200 and "Content-Encoding" not in r.headers


async def test_gzip_objects_page_is_the_same_envelope(http, base_url, world):
    objs = [indicator(f"198.20.0.{i}") for i in range(40)]
    await post(http, base_url, world.collection_id, world.alice.contributor, *objs)
    url = objects_url(base_url, world.collection_id)
    headers = {"Accept": TAXII_MEDIA_TYPE, "Authorization": f"Bearer {world.bob.reader.token}",
               "Accept-Encoding": "gzip"}
    # aiohttp's client decompresses as any client library does.
    async with http.get(url, headers=headers, params={"limit": "30"}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        body = await resp.json(content_type=None)
        assert resp.headers["X-TAXII-Date-Added-Last"]
    assert _ids(body) == [o["id"] for o in objs[:30]] and body["more"]


# ------------------------------------------------------------------ TLP 1.0 ids (XSOAR)

# Cortex XSOAR's TAXII 2 feed (TAXII2ApiModule.py): the first of these ids in
# object_marking_refs is the indicator's TLP; anything else falls back to the instance default.
XSOAR_MARKING_DEFINITION_TO_TLP = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "WHITE",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
}


def _xsoar_tlp(obj: dict) -> str:
    for ref in obj.get("object_marking_refs", ""):
        if tlp := XSOAR_MARKING_DEFINITION_TO_TLP.get(ref):
            return tlp
    return ""


def _canonical(obj: dict) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


@pytest.mark.parametrize("level", list(Tlp))
def test_tlp1_splice_is_the_canonical_serialisation(level):
    obj = indicator(object_marking_refs=[f"marking-definition--{uuid.uuid4()}",
                                         TLP2_ID_OF[level]], description="x" * 50)
    served = with_tlp1_marking(_canonical(obj), level.value)
    expected = {**obj, "object_marking_refs": [TLP1_ID_OF[level], *obj["object_marking_refs"]]}
    assert served == _canonical(expected)


def test_tlp1_splice_takes_the_exact_path_when_the_text_is_ambiguous():
    level = Tlp.RED
    nested = indicator(object_marking_refs=[TLP2_ID_OF[level]],
                       x_copy={"object_marking_refs": [TLP2_ID_OF[level]]})
    served = orjson.loads(with_tlp1_marking(_canonical(nested), level.value))
    assert served["object_marking_refs"] == [TLP1_ID_OF[level], TLP2_ID_OF[level]]
    assert served["x_copy"] == nested["x_copy"]
    # Already carrying the TLP 1.0 id: served unchanged.
    both = indicator(object_marking_refs=[TLP1_ID_OF[level], TLP2_ID_OF[level]])
    assert with_tlp1_marking(_canonical(both), level.value) == _canonical(both)
    # Mentioned elsewhere only (a description): the list still gets it, once.
    mention = indicator(object_marking_refs=[TLP2_ID_OF[level]],
                        description=f"see {TLP1_ID_OF[level]}")
    served = orjson.loads(with_tlp1_marking(_canonical(mention), level.value))
    assert served["object_marking_refs"] == [TLP1_ID_OF[level], TLP2_ID_OF[level]]
    # No object_marking_refs at all (reference objects): unchanged.
    plain = {"type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.uuid4()}",
             "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
             "name": "x"}
    assert with_tlp1_marking(_canonical(plain), "clear") == _canonical(plain)


def _red(world, value: str) -> dict:
    return indicator(value, object_marking_refs=[TLP2_ID_OF[Tlp.RED]], extensions={
        ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                              "recipients": [world.bob.identity_id]}})


async def test_tlp1_markings_option_serves_xsoar_a_tlp_it_knows(http, base_url, world):
    marked = {level: indicator(f"192.0.2.{i}", object_marking_refs=[TLP2_ID_OF[level]])
              for i, level in enumerate([Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT])}
    marked[Tlp.RED] = _red(world, "192.0.2.9")
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        *marked.values())
    assert status["success_count"] == 5, status
    url = objects_url(base_url, world.collection_id)
    headers = {"Accept": TAXII_MEDIA_TYPE, "Authorization": f"Bearer {world.bob.reader.token}"}
    _, before, _ = await _get(http, url, headers)
    assert {_xsoar_tlp(o) for o in before["objects"]} == {""}  # XSOAR sees no TLP at all

    admin = {"Authorization": f"Bearer {world.platform.token}",
             "Content-Type": "application/json"}
    async with http.patch(f"{base_url}/api/v1/collections/{world.collection_id}",
                          data=orjson.dumps({"tlp1_markings": True}), headers=admin) as resp:
        assert resp.status == 200 and (await resp.json())["tlp1_markings"] is True
    _, after, _ = await _get(http, url, headers)
    by_id = {o["id"]: o for o in after["objects"]}
    expected = {Tlp.CLEAR: "WHITE", Tlp.GREEN: "GREEN", Tlp.AMBER: "AMBER",
                Tlp.AMBER_STRICT: "AMBER", Tlp.RED: "RED"}
    for level, obj in marked.items():
        served = by_id[obj["id"]]
        assert _xsoar_tlp(served) == expected[level], level
        assert TLP2_ID_OF[level] in served["object_marking_refs"]  # the TLP 2.0 id stays
        # Otherwise the object is exactly what the collection served before.
        old = next(o for o in before["objects"] if o["id"] == obj["id"])
        assert {**served, "object_marking_refs": old["object_marking_refs"]} == old
    _assert_valid(after["objects"])
    one = objects_url(base_url, world.collection_id, f"{marked[Tlp.RED]['id']}/")
    _, single, _ = await _get(http, one, headers)
    assert _xsoar_tlp(single["objects"][0]) == "RED"

    # A feed with the option serves them too; one without does not.
    spec = {"filter": {"collections": [str(world.collection_id)]}}
    plain = await create_feed(http, base_url, world.bob.reader, **spec)
    tlp1 = await create_feed(http, base_url, world.bob.reader, tlp1_markings=True, **spec)
    assert tlp1["tlp1_markings"] is True and plain["tlp1_markings"] is False
    for feed, wanted in ((plain, {""}), (tlp1, set(expected.values()))):
        feed_url = f"{base_url}/taxii2/feeds/collections/{feed['id']}/objects/"
        _, body, _ = await _get(http, feed_url, headers)
        assert {_xsoar_tlp(o) for o in body["objects"]} == wanted


def _reference_tlp1(base_url: str, token: str) -> list[dict]:
    server = Server(f"{base_url}/taxii2/", auth=TokenAuth(token))
    [reference] = [c for c in server.default.collections if c.title == "Accord reference"]
    return reference.get_objects(type="marking-definition")["objects"]


async def test_reference_collection_serves_the_tlp1_definitions(base_url, world):
    served = await asyncio.to_thread(_reference_tlp1, base_url, world.bob.reader.token)
    by_id = {o["id"]: o for o in served}
    for constant in (stix2.TLP_WHITE, stix2.TLP_GREEN, stix2.TLP_AMBER, stix2.TLP_RED):
        assert by_id[constant.id] == orjson.loads(constant.serialize()), constant.id


async def test_tlp1_feed_stream_and_webhook_carry_the_tlp1_id(http, base_url, world):
    receiver = Receiver()
    hook = await receiver.start()
    try:
        feed = await create_feed(http, base_url, world.bob.reader, tlp1_markings=True,
                                 filter={"collections": [str(world.collection_id)]},
                                 webhook={"url": hook})
        headers = {"Authorization": f"Bearer {world.bob.reader.token}",
                   "Accept": "text/event-stream"}
        async with http.get(f"{base_url}/api/v1/feeds/{feed['id']}/stream",
                            headers=headers) as resp:
            assert resp.status == 200
            await asyncio.sleep(0.2)
            red = _red(world, "192.0.2.77")
            green = indicator("192.0.2.78", object_marking_refs=[TLP2_ID_OF[Tlp.GREEN]])
            await post(http, base_url, world.collection_id, world.alice.contributor, red, green)
            events = await SseReader(resp).take(2)
        assert [_xsoar_tlp(e.data) for e in events] == ["RED", "GREEN"]
        deadline, pushed = time.monotonic() + 20, []
        while time.monotonic() < deadline and len(pushed) < 2:
            await asyncio.sleep(0.1)
            pushed = [o for _, b in receiver.accepted for o in orjson.loads(b)["objects"]]
        assert [_xsoar_tlp(o) for o in pushed] == ["RED", "GREEN"]
    finally:
        await receiver.close()


async def test_next_token_of_long_filters_carries_their_digest(http, base_url, world):
    url = objects_url(base_url, world.collection_id)
    headers = {"Accept": ELASTIC_ACCEPT, "Authorization": f"Bearer {world.bob.reader.token}"}
    wanted = await _post_batches(http, base_url, world, 5)
    padding = [f"indicator--{uuid.uuid4()}" for _ in range(40)]
    filters = {"match[id]": ",".join(wanted + padding)}
    assert len(filters["match[id]"]) > 1500
    status, first, _ = await _get(http, url, headers, {**filters, "limit": "3"})
    assert status == 200 and first["more"] and len(first["next"]) < 200
    status, body, _ = await _get(http, url, headers, {"next": first["next"]})
    assert status == 400 and "repeat" in body["description"]
    status, body, _ = await _get(http, url, headers, {**filters, "next": first["next"]})
    assert status == 200 and _ids(first) + _ids(body) == wanted
