"""Feeds: CRUD, live stream with resume, webhooks with retries and signatures, exports."""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson
import pytest

from server.feeds.webhooks import UnsafeTarget, check_target, webhook_session
from server.store.groups import remove_member
from tests.feed_helpers import Receiver, SseReader, create_feed, json_auth, verify
from tests.helpers import TLP_GREEN, auth, indicator, post


async def test_feed_crud_and_isolation(http, base_url, world):
    feed = await create_feed(http, base_url, world.alice.reader, name="c2",
                             filter={"types": ["indicator"], "min_confidence": 50})
    assert feed["filter"]["min_confidence"] == 50 and feed["webhook_secret"] is None
    url = f"{base_url}/api/v1/feeds/{feed['id']}"
    async with http.get(url, headers=json_auth(world.alice.contributor)) as resp:
        assert resp.status == 200
    async with http.get(url, headers=json_auth(world.bob.admin)) as resp:
        assert resp.status == 404
    async with http.patch(url, data=orjson.dumps({"name": "renamed"}),
                          headers=json_auth(world.alice.reader)) as resp:
        assert resp.status == 200 and (await resp.json())["name"] == "renamed"
    async with http.get(f"{base_url}/api/v1/feeds", headers=json_auth(world.alice.reader)) as r:
        assert [f["id"] for f in (await r.json())["feeds"]] == [feed["id"]]
    async with http.delete(url, headers=json_auth(world.alice.reader)) as resp:
        assert resp.status == 204
    async with http.get(url, headers=json_auth(world.alice.reader)) as resp:
        assert resp.status == 404


@pytest.mark.parametrize("spec", [
    {"filter": {"tlp_max": "purple"}},
    {"filter": {"min_confidence": 101}},
    {"filter": {"observable_kinds": ["cidr"]}},
    {"filter": {"unknown": 1}},
    {"webhook": {"url": "ftp://example.org/"}},
], ids=["tlp", "confidence", "kind", "unknown", "scheme"])
async def test_bad_feed_specs_are_400(http, base_url, world, spec):
    async with http.post(f"{base_url}/api/v1/feeds", data=orjson.dumps({"name": "x", **spec}),
                         headers=json_auth(world.alice.reader)) as resp:
        assert resp.status == 400


async def test_unauthenticated_feed_routes_are_401(http, base_url):
    async with http.get(f"{base_url}/api/v1/feeds") as resp:
        assert resp.status == 401


@pytest.mark.parametrize("url", [
    "http://10.1.2.3/hook", "https://169.254.169.254/latest", "https://127.0.0.1/hook",
    "https://[::1]/hook", "https://192.168.1.1/", "http://example.invalid/",
])
async def test_webhook_targets_inside_the_network_are_refused(url):
    with pytest.raises((UnsafeTarget, OSError)):
        await check_target(url, allow_private=False)


@pytest.mark.parametrize("allow_private", [False, True])
async def test_webhook_connections_resolve_names_again_and_refuse_internal_ones(
    settings, allow_private
):
    """A name that passed check_target could resolve anew to an internal address when the
    connection is made (DNS rebinding): the delivery session checks at connect time too."""
    receiver = Receiver()
    url = (await receiver.start()).replace("127.0.0.1", "localhost")
    try:
        async with webhook_session(
            settings.model_copy(update={"webhook_allow_private": allow_private})
        ) as session:
            if allow_private:
                async with session.post(url, data=b"{}") as resp:
                    assert resp.status == 204
                assert len(receiver.requests) == 1
            else:
                with pytest.raises(UnsafeTarget, match="globally routable"):
                    await session.post(url, data=b"{}")
                assert receiver.requests == []
    finally:
        await receiver.close()


async def _open_stream(http, base_url, key, feed_id, **headers):
    resp = await http.get(f"{base_url}/api/v1/feeds/{feed_id}/stream",
                          headers={"Authorization": f"Bearer {key.token}", **headers},
                          timeout=None)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    return resp


async def test_stream_resumes_after_a_cut_with_no_gap_and_no_duplicate(http, base_url, world):
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    resp = await _open_stream(http, base_url, world.bob.reader, feed["id"])
    reader = SseReader(resp)
    await asyncio.sleep(0.2)
    first = [indicator(f"100.64.0.{i}") for i in range(5)]
    await post(http, base_url, world.collection_id, world.alice.contributor, *first)
    got = await reader.take(3)
    resp.close()  # the connection dies mid-stream
    second = [indicator(f"100.64.1.{i}") for i in range(4)]
    await post(http, base_url, world.collection_id, world.alice.contributor, *second)
    resp = await _open_stream(http, base_url, world.bob.reader, feed["id"],
                              **{"Last-Event-ID": got[-1].id})
    reader = SseReader(resp)
    got += await reader.take(6)
    assert await reader.next(timeout=1) is None
    resp.close()
    ids = [e.data["id"] for e in got]
    assert ids == [o["id"] for o in first + second]
    assert len({e.id for e in got}) == len(got)


async def test_stream_heartbeats_while_idle(http, base_url, world):
    feed = await create_feed(http, base_url, world.bob.reader)
    resp = await _open_stream(http, base_url, world.bob.reader, feed["id"])
    reader = SseReader(resp)
    assert await reader.next(timeout=1.6) is None
    resp.close()
    assert reader.heartbeats >= 2


async def test_removed_member_stream_stops_delivering_that_group(
    http, base_url, world, factory, pool
):
    other_group = await factory.group(world.alice, world.bob)
    other = await factory.collection(other_group)
    feed = await create_feed(http, base_url, world.bob.reader)
    resp = await _open_stream(http, base_url, world.bob.reader, feed["id"])
    reader = SseReader(resp)
    await asyncio.sleep(0.2)
    before = indicator("100.65.0.1")
    await post(http, base_url, world.collection_id, world.alice.contributor, before)
    assert (await reader.next()).data["id"] == before["id"]
    async with pool.acquire() as conn:
        await remove_member(conn, world.group_id, world.bob.org_id)
    hidden = indicator("100.65.0.2")
    await post(http, base_url, world.collection_id, world.alice.contributor, hidden)
    still = indicator("100.65.0.3")
    await post(http, base_url, other, world.alice.contributor, still)
    event = await reader.next()
    resp.close()
    assert event is not None and event.data["id"] == still["id"]


async def test_feed_filters_select_objects(http, base_url, world):
    feed = await create_feed(http, base_url, world.bob.reader, filter={
        "collections": [str(world.collection_id)], "observable_kinds": ["domain"],
        "min_confidence": 60, "tlp_max": "green", "labels": ["c2"]})
    match = indicator(pattern="[domain-name:value = 'c2.example']", confidence=80,
                      labels=["c2"], object_marking_refs=[TLP_GREEN])
    misses = [
        indicator(confidence=80, labels=["c2"], object_marking_refs=[TLP_GREEN]),  # ipv4
        {**match, "id": f"indicator--{uuid.uuid4()}", "confidence": 10},
        {**match, "id": f"indicator--{uuid.uuid4()}", "object_marking_refs": []},  # AMBER
        {**match, "id": f"indicator--{uuid.uuid4()}", "labels": ["spam"]},
    ]
    await post(http, base_url, world.collection_id, world.alice.contributor, match, *misses)
    url = f"{base_url}/taxii2/feeds/collections/{feed['id']}/objects/"
    async with http.get(url, headers=auth(world.bob.reader)) as resp:
        assert resp.status == 200
        body = orjson.loads(await resp.read())
    assert [o["id"] for o in body["objects"]] == [match["id"]]


async def test_webhook_retries_until_the_receiver_recovers(http, base_url, world):
    receiver = Receiver(fail_first=3)
    url = await receiver.start()
    try:
        feed = await create_feed(http, base_url, world.bob.reader,
                                 filter={"collections": [str(world.collection_id)]},
                                 webhook={"url": url, "max_attempts": 20})
        secret = feed["webhook_secret"]
        batches = [[indicator(f"100.66.{b}.{i}") for i in range(3)] for b in range(2)]
        for batch in batches:
            await post(http, base_url, world.collection_id, world.alice.contributor, *batch)
            await asyncio.sleep(0.3)
        deadline = time.monotonic() + 20
        wanted = {o["id"] for batch in batches for o in batch}
        while time.monotonic() < deadline:
            got = {o["id"] for _, b in receiver.accepted for o in orjson.loads(b)["objects"]}
            if got >= wanted:
                break
            await asyncio.sleep(0.1)
        assert len(receiver.requests) > len(receiver.accepted) >= 1
        delivered: dict[str, list[str]] = {}
        for headers, body in receiver.accepted:
            assert verify(secret, headers["X-Accord-Signature"], body)
            assert not verify("wrong-secret", headers["X-Accord-Signature"], body)
            payload = orjson.loads(body)
            assert payload["delivery"] == headers["X-Accord-Delivery"]
            delivered.setdefault(payload["delivery"], []).extend(
                o["id"] for o in payload["objects"])
        # Exactly the missing batches, each object once, in commit order.
        ids = [i for batch in delivered.values() for i in batch]
        assert sorted(ids) == sorted(wanted) and len(ids) == len(set(ids))
        failed = {h["X-Accord-Delivery"] for h, _ in receiver.requests[:3]}
        assert failed <= set(delivered)
        async with http.get(f"{base_url}/api/v1/feeds/{feed['id']}/deliveries",
                            headers=json_auth(world.bob.reader)) as resp:
            log = (await resp.json())["deliveries"]
        assert {d["state"] for d in log} == {"delivered"}
        assert max(d["attempts"] for d in log) >= 2
    finally:
        await receiver.close()


async def test_webhook_gives_up_after_max_attempts(http, base_url, world):
    receiver = Receiver(fail_first=10**6)
    url = await receiver.start()
    try:
        feed = await create_feed(http, base_url, world.bob.reader,
                                 filter={"collections": [str(world.collection_id)]},
                                 webhook={"url": url, "max_attempts": 3})
        await post(http, base_url, world.collection_id, world.alice.contributor, indicator())
        deadline = time.monotonic() + 15
        log = []
        while time.monotonic() < deadline:
            async with http.get(f"{base_url}/api/v1/feeds/{feed['id']}/deliveries",
                                headers=json_auth(world.bob.reader)) as resp:
                log = (await resp.json())["deliveries"]
            if log and log[0]["state"] == "dead":
                break
            await asyncio.sleep(0.1)
        assert log[0]["state"] == "dead" and log[0]["attempts"] == 3
        assert len(receiver.requests) == 3
    finally:
        await receiver.close()


async def test_blocklist_drops_revoked_indicators_and_honours_etag(http, base_url, world):
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    keep = indicator("198.51.100.10")
    gone = indicator("198.51.100.11")
    domain = indicator(pattern="[domain-name:value = 'bad.example']")
    await post(http, base_url, world.collection_id, world.alice.contributor, keep, gone, domain)
    url = f"{base_url}/api/v1/feeds/{feed['id']}/export.txt"
    async with http.get(url, headers=auth(world.bob.reader)) as resp:
        assert resp.status == 200
        # A blocklist is a set, streamed in storage order (README "Blocklists").
        assert sorted((await resp.text()).splitlines()) == ["198.51.100.10", "198.51.100.11",
                                                            "bad.example"]
        etag = resp.headers["ETag"]
    async with http.get(url, headers={**auth(world.bob.reader), "If-None-Match": etag}) as r:
        assert r.status == 304
    revoked = {**gone, "modified": "2026-06-01T00:00:00.000Z", "revoked": True}
    await post(http, base_url, world.collection_id, world.alice.contributor, revoked)
    async with http.get(url, headers={**auth(world.bob.reader), "If-None-Match": etag}) as r:
        assert r.status == 200 and r.headers["ETag"] != etag
        assert "198.51.100.11" not in await r.text()
    async with http.get(url, headers=auth(world.bob.reader), params={"kind": "domain"}) as r:
        assert (await r.text()).splitlines() == ["bad.example"]
    csv_url = f"{base_url}/api/v1/feeds/{feed['id']}/export.csv"
    async with http.get(csv_url, headers=auth(world.bob.reader)) as resp:
        lines = (await resp.text()).splitlines()
    assert lines[0] == "kind,value,indicator,tlp,confidence,valid_until,producer"
    assert any(line.startswith(f"ipv4,198.51.100.10,{keep['id']},amber") for line in lines)
    # The producer Accord vouches for (README "Sharing policy"), whatever created_by_ref says.
    assert all(line.endswith(f",{world.alice.name}") for line in lines[1:]), lines
    stix_url = f"{base_url}/api/v1/feeds/{feed['id']}/export.stix"
    async with http.get(stix_url, headers=auth(world.bob.reader)) as resp:
        bundle = orjson.loads(await resp.read())
    assert bundle["type"] == "bundle"
    assert gone["id"] not in {o["id"] for o in bundle["objects"]}


async def test_expired_indicators_drop_out_of_blocklists(http, base_url, world):
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    expired = indicator("198.51.100.20", valid_until="2026-01-02T00:00:00.000Z")
    live = indicator("198.51.100.21", valid_until="2099-01-01T00:00:00.000Z")
    await post(http, base_url, world.collection_id, world.alice.contributor, expired, live)
    async with http.get(f"{base_url}/api/v1/feeds/{feed['id']}/export.txt",
                        headers=auth(world.bob.reader)) as resp:
        assert (await resp.text()).splitlines() == ["198.51.100.21"]


async def test_webhook_secret_rotation(http, base_url, world):
    receiver = Receiver()
    url = await receiver.start()
    try:
        feed = await create_feed(http, base_url, world.bob.reader, webhook={"url": url})
        feed_url = f"{base_url}/api/v1/feeds/{feed['id']}"
        async with http.patch(feed_url, data=orjson.dumps({"rotate_secret": True}),
                              headers=json_auth(world.bob.reader)) as resp:
            rotated = await resp.json()
        assert rotated["webhook_secret"] and rotated["webhook_secret"] != feed["webhook_secret"]
        async with http.patch(feed_url, data=orjson.dumps({"name": "same secret"}),
                              headers=json_auth(world.bob.reader)) as resp:
            assert (await resp.json())["webhook_secret"] is None
    finally:
        await receiver.close()
