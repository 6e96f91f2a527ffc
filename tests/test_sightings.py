"""Sightings: reported on a member's behalf, aggregated for readers, anonymous by default."""

from __future__ import annotations

import re
import uuid

import orjson

from schemas.accord_extension import ACCORD_EXTENSION_ID
from tests.feed_helpers import json_auth
from tests.helpers import TLP_RED, indicator, post
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
