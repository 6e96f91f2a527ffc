"""Removal events that are not new versions (expiry, erasure), erasure itself, and the
retention purge (issues 12 and 14), against the real database and over real HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import orjson

from server.feeds.lifecycle import run_expiry, run_retention
from tests.feed_helpers import Receiver, SseReader, create_feed, json_auth, open_stream
from tests.helpers import auth, indicator, post, release_withheld, stamp
from tests.test_sightings import sighting

_EVENT_KEYS = {"id", "type", "reason", "time"}


async def _removals(receiver: Receiver, stix_id: str, timeout_s: float = 20) -> list[dict]:
    """The removals a webhook receiver got for an id, waiting a bounded time for one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [r for _, body in receiver.accepted
                 for r in orjson.loads(body).get("removals", []) if r["id"] == stix_id]
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def _erase(http, base_url, key, stix_id: str, reason: str = "data subject request 7"):
    async with http.post(f"{base_url}/api/v1/objects/{stix_id}/erase", headers=json_auth(key),
                         data=orjson.dumps({"reason": reason})) as resp:
        answer = await resp.json(content_type=None)
        answer.pop("error_id", None)  # unique to each answer
        return resp.status, answer


async def test_expiry_is_a_removal_event_on_the_stream_and_a_webhook_once(
        http, base_url, world, pool):
    receiver = Receiver()
    url = await receiver.start()
    try:
        spec = {"collections": [str(world.collection_id)], "valid_only": True}
        feed = await create_feed(http, base_url, world.bob.reader, filter=spec)
        hook = await create_feed(http, base_url, world.bob.reader, filter=spec,
                                 webhook={"url": url})
        outsider = await create_feed(http, base_url, world.mallory.reader, filter={})
        resp, reader = await open_stream(http, base_url, world.bob.reader, feed["id"])
        await asyncio.sleep(0.2)
        obj = indicator("100.64.21.1", valid_until=stamp(offset_s=1.0))
        await post(http, base_url, world.collection_id, world.alice.contributor, obj)
        first = await reader.next()
        assert first is not None and (first.kind, first.data["id"]) == ("object", obj["id"])
        await asyncio.sleep(1.2)
        await run_expiry(pool)
        await run_expiry(pool)  # a second run finds nothing new: one event per version
        gone = await reader.next()
        resp.close()
        assert gone is not None and gone.kind == "removed"
        assert set(gone.data) == _EVENT_KEYS
        assert (gone.data["id"], gone.data["type"], gone.data["reason"]) == (
            obj["id"], "indicator", "expired")
        removals = await _removals(receiver, obj["id"])
        assert [r["reason"] for r in removals] == ["expired"] and set(removals[0]) == _EVENT_KEYS
        assert hook["id"]
        async with pool.acquire() as conn:
            assert await conn.fetchval(
                "SELECT count(*) FROM removal_events WHERE stix_id = $1", obj["id"]) == 1
        # An organisation that could not see the indicator hears nothing of its expiry.
        resp, other = await open_stream(http, base_url, world.mallory.reader, outsider["id"],
                                    beginning=True)
        seen = []
        while (event := await other.next(timeout=1.0)) is not None:
            seen.append(event.data.get("id"))
        resp.close()
        assert obj["id"] not in seen
    finally:
        await receiver.close()


async def test_erasure_reaches_stream_webhook_and_export_and_deletes_every_row(
        http, base_url, world, pool):
    receiver = Receiver()
    url = await receiver.start()
    try:
        spec = {"collections": [str(world.collection_id)]}
        feed = await create_feed(http, base_url, world.bob.reader, filter=spec)
        await create_feed(http, base_url, world.bob.reader, filter=spec, webhook={"url": url})
        value, kept_value = "100.64.22.1", "100.64.22.2"
        obj, kept = indicator(value), indicator(kept_value)
        v2 = {**obj, "modified": "2026-02-01T00:00:00.000Z", "confidence": 80}
        await post(http, base_url, world.collection_id, world.alice.contributor, obj, kept)
        await post(http, base_url, world.collection_id, world.alice.contributor, v2)
        seen = sighting(obj["id"])
        done = await post(http, base_url, world.collection_id, world.bob.contributor, seen)
        assert done["success_count"] == 1, done
        # Sightings are anonymous by default: they wait for a withheld release.
        await release_withheld(pool)
        export = f"{base_url}/api/v1/feeds/{feed['id']}/export.txt"
        async with http.get(export, headers=auth(world.bob.reader)) as r:
            before_etag, before = r.headers["ETag"], set((await r.text()).splitlines())
        assert value in before
        resp, reader = await open_stream(http, base_url, world.bob.reader, feed["id"])
        await asyncio.sleep(0.2)

        status, answer = await _erase(http, base_url, world.alice.admin, obj["id"])
        assert status == 200, answer
        assert (answer["versions"], answer["sightings"]) == (2, 1)
        events = await reader.take(3)
        resp.close()
        assert all(e.kind == "removed" and set(e.data) == _EVENT_KEYS for e in events)
        assert sorted((e.data["id"], e.data["reason"]) for e in events) == sorted(
            [(obj["id"], "erased"), (obj["id"], "erased"), (seen["id"], "erased")])
        removals = await _removals(receiver, obj["id"])
        assert removals and {r["reason"] for r in removals} == {"erased"}

        async with http.get(export, headers=auth(world.bob.reader)) as r:
            assert r.headers["ETag"] != before_etag
            after = set((await r.text()).splitlines())
        assert value not in after and kept_value in after
        async with http.get(f"{base_url}/api/v1/lookup", params={"value": value},
                            headers=auth(world.bob.reader)) as r:
            found = await r.json()
        [result] = found["results"]
        assert r.status == 200 and obj["id"] not in {m["id"] for m in result["matches"]}, found

        async with pool.acquire() as conn:
            for table, column in (("objects", "stix_id"), ("blocklist_rows", "stix_id"),
                                  ("pending_objects", "stix_id"), ("withheld_queue", "stix_id")):
                assert await conn.fetchval(
                    f"SELECT count(*) FROM {table} WHERE {column} = $1", obj["id"]) == 0, table
            assert await conn.fetchval(
                "SELECT count(*) FROM objects WHERE stix_id = $1", seen["id"]) == 0
            # (The session's other tests may post the same value under other ids: only rows
            # of the erased objects count.)
            assert await conn.fetchval(
                "SELECT count(*) FROM objects WHERE ($1 = ANY(ioc_values)"
                " OR $1 = ANY(obs_values)) AND stix_id = ANY($2::text[])",
                value, [obj["id"], seen["id"]]) == 0
            assert await conn.fetchval(
                "SELECT count(*) FROM statuses WHERE strpos(successes, $1) > 0",
                obj["id"]) == 0
            rows = await conn.fetch(
                "SELECT actor_org, subject, details::text AS details FROM audit_log"
                " WHERE action = 'object.erased' AND subject = $1", obj["id"])
            everything = await conn.fetchval(
                "SELECT string_agg(coalesce(subject, '') || details::text, ' ') FROM audit_log")
        assert len(rows) == 1 and rows[0]["actor_org"] == world.alice.org_id
        details = orjson.loads(rows[0]["details"])
        assert details["reason"] == "data subject request 7" and details["versions"] == 2
        # The audit log says who, why and which id; never the erased content.
        assert value not in everything and obj["name"] not in everything
    finally:
        await receiver.close()


async def test_erasure_by_another_organisation_is_404_like_an_unknown_id(
        http, base_url, world, pool):
    obj = indicator("100.64.23.1")
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    unknown = await _erase(http, base_url, world.bob.admin, indicator()["id"])
    for key in (world.bob.admin, world.mallory.admin):
        assert await _erase(http, base_url, key, obj["id"]) == unknown
    assert unknown[0] == 404
    # A producer's own reader or contributor key lacks the role.
    assert (await _erase(http, base_url, world.alice.contributor, obj["id"]))[0] == 403
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM objects WHERE stix_id = $1", obj["id"]) == 1
    # A platform admin, on a data subject's request, may erase it.
    status, answer = await _erase(http, base_url, world.platform, obj["id"])
    assert (status, answer["versions"]) == (200, 1)


async def test_retention_purge_deletes_old_versions_and_their_sightings(
        http, base_url, world, factory, pool):
    # The group keeps versions 30 days; one collection keeps its own 100.
    async with http.patch(f"{base_url}/api/v1/groups/{world.group_id}",
                          headers=json_auth(world.platform),
                          data=orjson.dumps({"policy": {"retention_days": 30}})) as r:
        assert r.status == 200 and (await r.json())["policy"]["retention_days"] == 30
    collection, longer = (await factory.collection(world.group_id),
                          await factory.collection(world.group_id))
    async with http.patch(f"{base_url}/api/v1/collections/{longer}",
                          headers=json_auth(world.platform),
                          data=orjson.dumps({"retention_days": 100})) as r:
        assert r.status == 200 and (await r.json())["retention_days"] == 100
    old, new, kept = indicator("100.64.24.1"), indicator("100.64.24.2"), indicator("100.64.24.3")
    seen = sighting(old["id"])
    await post(http, base_url, collection, world.alice.contributor, old, new)
    await post(http, base_url, longer, world.alice.contributor, kept)
    await post(http, base_url, collection, world.bob.contributor, seen)
    await release_withheld(pool)
    async with pool.acquire() as conn:
        # Arranged: these were added 40 days ago.
        await conn.execute(
            "UPDATE objects SET date_added = $2 WHERE stix_id = ANY($1::text[])",
            [old["id"], kept["id"]], datetime.now(UTC) - timedelta(days=40))
    purged = await run_retention(pool)
    assert [(p.retention_days, p.versions, p.sightings) for p in purged
            if p.collection_id in (collection, longer)] == [(30, 1, 1)]
    async with pool.acquire() as conn:
        counts = {r["stix_id"]: r["n"] for r in await conn.fetch(
            "SELECT stix_id, count(*) AS n FROM objects WHERE collection_id = ANY($1::uuid[])"
            " AND stix_type IN ('indicator', 'sighting') GROUP BY stix_id",
            [collection, longer])}
        assert counts == {new["id"]: 1, kept["id"]: 1}
        assert await conn.fetchval(
            "SELECT count(*) FROM blocklist_rows WHERE stix_id = $1", old["id"]) == 0
        entry = await conn.fetchval(
            "SELECT details::text FROM audit_log WHERE action = 'collection.retention_purged'"
            " AND subject = $1", str(collection))
    assert orjson.loads(entry) == {"retention_days": 30, "versions": 1, "sightings": 1}


async def test_removal_events_resume_with_last_event_id(http, base_url, world):
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    before, obj, after = (indicator("100.64.25.1"), indicator("100.64.25.2"),
                          indicator("100.64.25.3"))
    await post(http, base_url, world.collection_id, world.alice.contributor, before)
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert (await _erase(http, base_url, world.alice.admin, obj["id"]))[0] == 200
    await post(http, base_url, world.collection_id, world.alice.contributor, after)
    resp, reader = await open_stream(http, base_url, world.bob.reader, feed["id"], beginning=True)
    events = await reader.take(3)
    resp.close()
    # The erased version itself is gone from the replay; its removal stands in its order.
    assert [(e.kind, e.data["id"]) for e in events] == [
        ("object", before["id"]), ("removed", obj["id"]), ("object", after["id"])]
    # Resumed after an object: the removal comes next; after the removal: what follows it.
    for n in (0, 1):
        url = f"{base_url}/api/v1/feeds/{feed['id']}/stream"
        resp = await http.get(url, timeout=None, headers={
            "Authorization": f"Bearer {world.bob.reader.token}",
            "Last-Event-ID": events[n].id})
        first = await SseReader(resp).next()
        resp.close()
        # Event ids are sealed afresh each time: the event is known by what it says.
        assert first is not None and (first.kind, first.data) == (
            events[n + 1].kind, events[n + 1].data)


async def test_an_erasure_is_no_event_for_who_could_not_see_the_object(
        http, base_url, world, factory):
    # A group of alice and carol only: bob, reading every feed he may, never saw its objects.
    private = await factory.collection(await factory.group(world.alice, world.carol))
    feed = await create_feed(http, base_url, world.bob.reader, filter={})
    hidden, shared = indicator("100.64.26.1"), indicator("100.64.26.2")
    await post(http, base_url, private, world.alice.contributor, hidden)
    await post(http, base_url, world.collection_id, world.alice.contributor, shared)
    for obj in (hidden, shared):
        assert (await _erase(http, base_url, world.alice.admin, obj["id"]))[0] == 200
    resp, reader = await open_stream(http, base_url, world.bob.reader, feed["id"], beginning=True)
    seen = []
    while (event := await reader.next(timeout=1.0)) is not None:
        if event.kind == "removed":  # objects: the reference group's, the shared one
            seen.append(event.data["id"])
    resp.close()
    assert seen == [shared["id"]]


async def test_erasure_deletes_a_copy_held_for_privacy_review(http, base_url, world, pool):
    from tests.privacy.test_review import held_world

    flagged, _, status = await held_world(http, base_url, world, pool)
    assert status["pending_count"] == 1, status
    async with pool.acquire() as conn:
        held = "SELECT count(*) FROM held_objects WHERE stix_id = $1"
        assert await conn.fetchval(held, flagged["id"]) == 1

        code, answer = await _erase(http, base_url, world.alice.admin, flagged["id"])
        assert code == 200, answer
        assert (answer["versions"], answer["pending"]) == (0, 1)
        assert await conn.fetchval(held, flagged["id"]) == 0
