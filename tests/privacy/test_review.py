"""Privacy review: a trust group that holds flagged objects keeps them pending (shared with
nobody, on no read path or feed) until the producer's org-admin releases, redacts or rejects
them; each decision moves the status and is audited with who and why."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from schemas.principal import Principal
from server.errors import Forbidden, NotFound
from server.ingest import review
from server.privacy import screening
from server.store import audit
from server.store import keys as key_store
from server.store import review as review_store
from tests.feed_helpers import SseReader, create_feed
from tests.helpers import as_served, auth, get_json, indicator, objects_url, post

PHONE = "+44 20 7946 0958"


async def principal_of(pool, key) -> Principal:
    async with pool.acquire() as conn:
        found = await key_store.authenticate(conn, key.key.id, key.secret)
    assert found is not None
    return found


async def held_world(http, base_url, world, pool, policy="hold"):
    async with pool.acquire() as conn:
        await review_store.set_group_policy(conn, world.group_id, policy)
    flagged = indicator("198.51.100.31", description=f"The victim's phone is {PHONE}.")
    clean = indicator("198.51.100.32")
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        flagged, clean)
    return flagged, clean, status


async def _status(http, base_url, status, key) -> dict:
    _, body, _ = await get_json(http, f"{base_url}/taxii2/root/status/{status['id']}/", key)
    return body


async def _held_id(pool, world, stix_id):
    admin = await principal_of(pool, world.alice.admin)
    [held] = [h for h in await review.list_held(pool, admin) if h.stix_id == stix_id]
    return held


async def _visible_ids(http, base_url, world, key, feed) -> dict[str, set[str]]:
    """The ids each read path shows this reader."""
    seen: dict[str, set[str]] = {}
    url = objects_url(base_url, world.collection_id)
    _, body, _ = await get_json(http, url, key)
    seen["objects"] = {o["id"] for o in body.get("objects", [])}
    _, body, _ = await get_json(http, url.replace("/objects/", "/manifest/"), key)
    seen["manifest"] = {o["id"] for o in body.get("objects", [])}
    async with http.get(f"{base_url}/api/v1/feeds/{feed['id']}/export.txt",
                        headers=auth(key)) as resp:
        seen["export.txt"] = set((await resp.text()).splitlines())
    async with http.get(f"{base_url}/api/v1/feeds/{feed['id']}/export.stix",
                        headers=auth(key)) as resp:
        seen["export.stix"] = {o["id"] for o in orjson.loads(await resp.read())["objects"]}
    async with http.get(f"{base_url}/taxii2/root/collections/{world.collection_id}/objects/",
                        headers=auth(key), params={"match[type]": "indicator"}) as resp:
        seen["filtered"] = {o["id"] for o in (await resp.json(content_type=None))
                            .get("objects", [])}
    return seen


async def test_a_held_object_is_pending_and_invisible_until_released(http, base_url, world,
                                                                     pool):
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    stream = await http.get(f"{base_url}/api/v1/feeds/{feed['id']}/stream",
                            headers=auth(world.bob.reader), timeout=None)
    events = SseReader(stream)
    await asyncio.sleep(0.2)
    flagged, clean, status = await held_world(http, base_url, world, pool)
    assert status["success_count"] == 1 and status["pending_count"] == 1, status
    assert status["pendings"] == [{"id": flagged["id"], "version": flagged["modified"],
                                   "message": "held for privacy review"}]
    [first] = await events.take(1)
    assert first.data["id"] == clean["id"]
    for key in (world.bob.reader, world.alice.reader, world.carol.reader, world.platform):
        seen = await _visible_ids(http, base_url, world, key, feed) if key is world.bob.reader \
            else {}
        for path, ids in seen.items():
            assert flagged["id"] not in ids and "198.51.100.31" not in ids, path
        for suffix in (f"{flagged['id']}/", f"{flagged['id']}/versions/"):
            code, _, _ = await get_json(
                http, objects_url(base_url, world.collection_id, suffix), key)
            assert code == 404, (key, suffix)
    held = await _held_id(pool, world, flagged["id"])
    assert held.findings == [{"property": "description", "reason": "phone-number"}]
    # Neither another member's admin nor the producer's contributor decides.
    with pytest.raises(NotFound):
        await review.decide(pool, await principal_of(pool, world.bob.admin), held.id,
                            "release", "not mine")
    with pytest.raises(Forbidden):
        await review.decide(pool, await principal_of(pool, world.alice.contributor), held.id,
                            "release", "mine")
    admin = await principal_of(pool, world.alice.admin)
    done = await review.decide(pool, admin, held.id, "release",
                               "the number is the attacker's call centre")
    assert done.stored_version == flagged["modified"]
    after = await _status(http, base_url, status, world.alice.reader)
    assert after["pending_count"] == 0 and after["success_count"] == 2, after
    code, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    assert code == 200 and body["objects"] == [as_served(flagged)]
    [second] = await events.take(1)
    assert second.data["id"] == flagged["id"]
    stream.close()
    seen = await _visible_ids(http, base_url, world, world.bob.reader, feed)
    assert flagged["id"] in seen["objects"] and "198.51.100.31" in seen["export.txt"]
    async with pool.acquire() as conn:
        [entry] = [e for e in await audit.query(conn, org_id=world.alice.org_id,
                                                action="review.released")
                   if e.subject == flagged["id"]]
    assert entry.details["reason"] == "the number is the attacker's call centre"
    assert entry.actor_key == admin.key_id and entry.actor_org == world.alice.org_id
    assert PHONE not in orjson.dumps(entry.details).decode()
    with pytest.raises(NotFound):  # decided once
        await review.decide(pool, admin, held.id, "reject", "again")


async def test_a_redacted_release_is_a_new_version_without_the_values(http, base_url, world,
                                                                      pool):
    flagged, _, status = await held_world(http, base_url, world, pool)
    held = await _held_id(pool, world, flagged["id"])
    admin = await principal_of(pool, world.alice.admin)
    done = await review.decide(pool, admin, held.id, "redact", "victim's number")
    assert done.stored_version and done.stored_version > flagged["modified"]
    code, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    assert code == 200
    [served] = body["objects"]
    assert served["description"] == f"The victim's phone is {screening.PLACEHOLDER}."
    assert served["modified"] == done.stored_version and PHONE not in orjson.dumps(body).decode()
    _, versions, _ = await get_json(http, objects_url(
        base_url, world.collection_id, f"{flagged['id']}/versions/"), world.bob.reader)
    assert versions["versions"] == [done.stored_version]  # the original never shared
    after = await _status(http, base_url, status, world.alice.reader)
    assert after["pending_count"] == 0 and after["success_count"] == 2, after
    # Entries may carry a message (a warninglisted value's): id and version are compared.
    assert (flagged["id"], done.stored_version) in {(e["id"], e["version"])
                                                    for e in after["successes"]}
    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.alice.org_id, action="review.redacted")
    [entry] = [e for e in entries if e.subject == flagged["id"]]
    assert entry.details["reason"] == "victim's number"
    assert entry.details["stored_version"] == done.stored_version


async def test_a_rejected_object_fails_and_is_never_shared(http, base_url, world, pool):
    flagged, _, status = await held_world(http, base_url, world, pool)
    platform = await principal_of(pool, world.platform)
    held = await _held_id(pool, world, flagged["id"])
    await review.decide(pool, platform, held.id, "reject", "victim data")
    after = await _status(http, base_url, status, world.alice.reader)
    assert after["pending_count"] == 0 and after["failure_count"] == 1, after
    assert "rejected in privacy review" in after["failures"][0]["message"]
    code, _, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    assert code == 404
    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.alice.org_id, action="review.rejected")
        assert any(e.subject == flagged["id"] and e.details["reason"] == "victim data"
                   and e.actor_key == platform.key_id for e in entries)
        assert PHONE not in str([e.details for e in entries])
        left = await conn.fetchval("SELECT count(*) FROM held_objects WHERE stix_id = $1",
                                   flagged["id"])
    assert left == 0


async def test_a_refusing_group_refuses_flagged_objects(http, base_url, world, pool):
    flagged, _, status = await held_world(http, base_url, world, pool, policy="refuse")
    assert status["failures"][0]["id"] == flagged["id"]
    assert status["success_count"] == 1 and status["failure_count"] == 1, status
    assert "personal data (phone-number in description)" in status["failures"][0]["message"]
    assert PHONE not in status["failures"][0]["message"]


async def test_a_passing_group_shares_flagged_objects_and_audits_the_findings(
        http, base_url, world, pool):
    flagged, _, status = await held_world(http, base_url, world, pool, policy="pass")
    assert status["success_count"] == 2, status
    code, _, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    assert code == 200


async def test_an_object_nobody_reviews_in_time_fails(http, base_url, world, pool):
    flagged, _, status = await held_world(http, base_url, world, pool)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE held_objects SET deadline = now() - interval '1 second'"
                           " WHERE stix_id = $1", flagged["id"])
    assert await review.expire_held(pool) >= 1
    after = await _status(http, base_url, status, world.alice.reader)
    assert after["pending_count"] == 0 and after["failure_count"] == 1, after
    assert "not reviewed within 30 days" in after["failures"][0]["message"]
    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.alice.org_id, action="review.expired")
    assert any(e.subject == flagged["id"] for e in entries)


async def test_the_client_stops_polling_a_status_held_for_privacy_review(base_url, world, pool):
    # A review takes a person: the client returns the pending status (the held entry says
    # why) instead of polling it for its whole wait.
    from clients import AccordClient

    async with pool.acquire() as conn:
        await review_store.set_group_policy(conn, world.group_id, "hold")
    flagged = indicator("198.51.100.33", description=f"The victim's phone is {PHONE}.")
    async with AccordClient(base_url, world.alice.contributor.token) as client:
        status = await client.post_envelope(world.collection_id, [orjson.dumps(flagged)],
                                            wait_s=3600)
    assert status["status"] == "pending" and status["pending_count"] == 1, status
    assert status["pendings"] == [{"id": flagged["id"], "version": flagged["modified"],
                                   "message": "held for privacy review"}]
