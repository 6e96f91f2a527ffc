"""Sightings: reported on a member's behalf, aggregated for readers, anonymous by default."""

from __future__ import annotations

import re
import uuid

import orjson

from schemas.accord_extension import ACCORD_EXTENSION_ID
from tests.feed_helpers import json_auth
from tests.helpers import TLP_RED, auth, indicator, post
from tests.test_lookup import _lookup, _unique_ip


async def _sight(http, base_url, key, indicator_id: str, **spec: object) -> tuple[int, bytes]:
    async with http.post(f"{base_url}/api/v1/sightings",
                         data=orjson.dumps({"indicator_id": indicator_id, **spec}),
                         headers=json_auth(key)) as resp:
        return resp.status, await resp.read()


def _masked(answer: bytes, stix_id: str) -> bytes:
    """The answer with the id asked for and the per-request error id masked."""
    return re.sub(rb'"error_id":"[0-9a-f]+"', b"", answer.replace(stix_id.encode(), b"X"))


async def test_sightings_are_aggregated_and_anonymous_by_default(http, base_url, world):
    ip = _unique_ip()
    obj = indicator(ip)
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert (await _sight(http, base_url, world.bob.contributor, obj["id"], count=3))[0] == 201
    assert (await _sight(http, base_url, world.bob.contributor, obj["id"]))[0] == 201
    assert (await _sight(http, base_url, world.carol.contributor, obj["id"],
                         kind="false-positive"))[0] == 201
    [result] = await _lookup(http, base_url, world.alice.reader, ip)
    summary = result["matches"][0]["sightings"]
    assert (summary["organizations"], summary["count"], summary["false_positives"],
            summary["credited"]) == (1, 4, 1, [])
    assert summary["last_seen"] is not None
    raw = orjson.dumps(result)
    assert world.bob.name.encode() not in raw and world.carol.name.encode() not in raw


async def test_a_sighter_may_choose_to_be_credited(http, base_url, world):
    ip = _unique_ip()
    obj = indicator(ip)
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    await _sight(http, base_url, world.bob.contributor, obj["id"], credited=True)
    await _sight(http, base_url, world.carol.contributor, obj["id"])
    [result] = await _lookup(http, base_url, world.alice.reader, ip)
    summary = result["matches"][0]["sightings"]
    assert summary["organizations"] == 2 and summary["credited"] == [world.bob.name]


async def test_sighting_an_invisible_indicator_answers_like_an_unknown_id(
        http, base_url, world):
    ip = _unique_ip()
    # RED for carol: bob, in the same group, may not see it.
    hidden = indicator(ip, object_marking_refs=[TLP_RED], extensions={ACCORD_EXTENSION_ID: {
        "extension_type": "property-extension", "recipients": [world.carol.identity_id]}})
    await post(http, base_url, world.collection_id, world.alice.contributor, hidden)
    unknown = f"indicator--{uuid.uuid4()}"
    status, refused = await _sight(http, base_url, world.bob.contributor, hidden["id"])
    status2, missing = await _sight(http, base_url, world.bob.contributor, unknown)
    assert status == status2 == 404
    assert _masked(refused, hidden["id"]) == _masked(missing, unknown)
    assert (await _sight(http, base_url, world.mallory.contributor, hidden["id"]))[0] == 404
    # Nothing was recorded: the producer sees no sighting.
    [result] = await _lookup(http, base_url, world.alice.reader, ip)
    assert result["matches"][0]["sightings"]["organizations"] == 0


async def test_sighting_needs_a_contributor_key_and_a_valid_body(http, base_url, world):
    obj = indicator(_unique_ip())
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert (await _sight(http, base_url, world.bob.reader, obj["id"]))[0] == 403
    assert (await _sight(http, base_url, world.bob.contributor, obj["id"], count=0))[0] == 400
    assert (await _sight(http, base_url, world.bob.contributor, "malware--x"))[0] == 400
    async with http.post(f"{base_url}/api/v1/sightings", data=b"{}") as resp:
        assert resp.status == 401


def _sighting(of: str, **extra: object) -> dict:
    return {"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
            "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
            "sighting_of_ref": of, "count": 5, "first_seen": "2026-02-01T00:00:00.000Z",
            "last_seen": "2026-02-28T00:00:00.000Z", **extra}


async def test_sighting_objects_over_taxii_become_anonymous_aggregates(
        http, base_url, world):
    ip = _unique_ip()
    obj = indicator(ip)
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    seen = _sighting(obj["id"], where_sighted_refs=[world.bob.identity_id])
    fp = _sighting(obj["id"], labels=["false-positive"], count=1)
    status = await post(http, base_url, world.collection_id, world.bob.contributor, seen, fp)
    assert status["success_count"] == 2, status
    # Posting the same sighting again replaces its report, it does not add to it.
    await post(http, base_url, world.collection_id, world.bob.contributor, seen)
    [result] = await _lookup(http, base_url, world.alice.reader, ip)
    summary = result["matches"][0]["sightings"]
    assert (summary["organizations"], summary["count"], summary["false_positives"]) == (1, 5, 1)
    assert summary["last_seen"].startswith("2026-02-28")
    # A report, not a shared object: nothing names bob to the group.
    async with http.get(f"{base_url}/taxii2/root/collections/{world.collection_id}/objects/"
                        f"{seen['id']}/", headers=auth(world.alice.reader)) as resp:
        assert resp.status == 404


async def test_a_taxii_sighting_of_an_invisible_indicator_fails_like_an_unknown_one(
        http, base_url, world, factory):
    group = await factory.group(world.mallory)
    elsewhere = await factory.collection(group)
    hidden = indicator(_unique_ip())
    await post(http, base_url, elsewhere, world.mallory.contributor, hidden)
    unknown = f"indicator--{uuid.uuid4()}"
    answers = []
    for target in (hidden["id"], unknown):
        sighting = _sighting(target, id="sighting--6b1e8d4f-3b7a-4f0e-9b55-0c1f8d1e2a3b")
        status = await post(http, base_url, world.collection_id, world.bob.contributor,
                            sighting)
        answers.append(status["failures"])
    assert answers[0] == answers[1] and answers[0][0]["message"].endswith(
        "sighting_of_ref names no indicator visible to you")


async def test_a_false_positive_report_lowers_the_score(http, base_url, world):
    ip = _unique_ip()
    obj = indicator(ip, confidence=90, valid_from="2026-11-30T00:00:00.000Z")
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    [before] = await _lookup(http, base_url, world.bob.reader, ip)
    await _sight(http, base_url, world.carol.contributor, obj["id"], kind="false-positive")
    [after] = await _lookup(http, base_url, world.bob.reader, ip)
    assert 0 < after["matches"][0]["score"] <= before["matches"][0]["score"] // 2 + 1
