"""Privacy review: a trust group that holds flagged objects keeps them pending (shared with
nobody, on no read path or feed) until the producer's org-admin releases or rejects them;
each decision moves the status and is audited with who and why."""

from __future__ import annotations

import pytest

from schemas.principal import Principal
from server.errors import Forbidden, NotFound
from server.ingest import review
from server.store import audit
from server.store import keys as key_store
from server.store import review as review_store
from tests.helpers import as_served, get_json, indicator, objects_url, post

PHONE = "+44 20 7946 0958"


async def _principal(pool, key) -> Principal:
    async with pool.acquire() as conn:
        found = await key_store.authenticate(conn, key.key.id, key.secret)
    assert found is not None
    return found


async def _held_world(http, base_url, world, pool, policy="hold"):
    async with pool.acquire() as conn:
        await review_store.set_group_policy(conn, world.group_id, policy)
    flagged = indicator(description=f"The victim's phone is {PHONE}.")
    clean = indicator()
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        flagged, clean)
    return flagged, clean, status


async def _status(http, base_url, status, key) -> dict:
    _, body, _ = await get_json(http, f"{base_url}/taxii2/root/status/{status['id']}/", key)
    return body


async def test_a_held_object_is_pending_and_invisible_until_released(http, base_url, world,
                                                                     pool):
    flagged, clean, status = await _held_world(http, base_url, world, pool)
    assert status["success_count"] == 1 and status["pending_count"] == 1, status
    assert status["pendings"] == [{"id": flagged["id"], "version": flagged["modified"]}]
    for key in (world.bob.reader, world.alice.reader, world.carol.reader):
        code, body, _ = await get_json(http, objects_url(base_url, world.collection_id), key)
        assert code == 200 and [o["id"] for o in body["objects"]] == [clean["id"]]
        code, _, _ = await get_json(
            http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), key)
        assert code == 404
        _, manifest, _ = await get_json(
            http, objects_url(base_url, world.collection_id).replace("/objects/", "/manifest/"),
            key)
        assert [o["id"] for o in manifest["objects"]] == [clean["id"]]
    admin = await _principal(pool, world.alice.admin)
    [held] = [h for h in await review.list_held(pool, admin) if h.stix_id == flagged["id"]]
    assert held.findings == [{"property": "description", "reason": "phone-number"}]
    # Neither another member's admin nor the producer's contributor decides.
    with pytest.raises(NotFound):
        await review.release(pool, await _principal(pool, world.bob.admin),
                             status["id"], flagged["id"], "not mine")
    with pytest.raises(Forbidden):
        await review.release(pool, await _principal(pool, world.alice.contributor),
                             status["id"], flagged["id"], "mine")
    assert await review.release(pool, admin, status["id"], flagged["id"],
                                "the number is the attacker's call centre")
    after = await _status(http, base_url, status, world.alice.reader)
    assert after["pending_count"] == 0 and after["success_count"] == 2, after
    code, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    assert code == 200 and body["objects"] == [as_served(flagged)]
    async with pool.acquire() as conn:
        [entry] = [e for e in await audit.query(conn, org_id=world.alice.org_id,
                                                action="review.released")
                   if e.subject == flagged["id"]]
    assert entry.details["reason"] == "the number is the attacker's call centre"
    assert entry.actor_key == admin.key_id
    with pytest.raises(NotFound):  # decided once
        await review.reject(pool, admin, status["id"], flagged["id"], "again")


async def test_a_rejected_object_fails_and_is_never_shared(http, base_url, world, pool):
    flagged, _, status = await _held_world(http, base_url, world, pool)
    platform = await _principal(pool, world.platform)
    await review.reject(pool, platform, status["id"], flagged["id"], "victim data")
    after = await _status(http, base_url, status, world.alice.reader)
    assert after["pending_count"] == 0 and after["failure_count"] == 1, after
    assert "rejected in privacy review" in after["failures"][0]["message"]
    code, _, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    assert code == 404
    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.alice.org_id, action="review.rejected")
        assert any(e.subject == flagged["id"] and e.details["reason"] == "victim data"
                   for e in entries)
        assert PHONE not in str([e.details for e in entries])
        left = await conn.fetchval("SELECT count(*) FROM pending_objects WHERE stix_id = $1",
                                   flagged["id"])
    assert left == 0


async def test_a_refusing_group_refuses_flagged_objects(http, base_url, world, pool):
    flagged, _, status = await _held_world(http, base_url, world, pool, policy="refuse")
    assert status["failures"][0]["id"] == flagged["id"]
    assert status["success_count"] == 1 and status["failure_count"] == 1, status
    assert "personal data (phone-number in description)" in status["failures"][0]["message"]
    assert PHONE not in status["failures"][0]["message"]
