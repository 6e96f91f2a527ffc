"""Sightings posted over TAXII: stored as STIX objects, shared no wider than their
indicator, aggregated for readers and anonymous unless the sighter chooses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from schemas.accord_extension import ACCORD_EXTENSION_ID
from tests.feed_helpers import create_feed, json_auth
from tests.helpers import (
    TLP_AMBER,
    TLP_CLEAR,
    TLP_GREEN,
    TLP_RED,
    auth,
    get_json,
    indicator,
    objects_url,
    release_withheld,
)
from tests.helpers import post as _post
from tests.test_lookup import _lookup, _unique_ip

CREDITED = {ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                                  "attribution": "credited"}}


_POOL: list = []


@pytest.fixture(autouse=True)
def _release_pool(pool) -> None:
    _POOL[:] = [pool]


async def post(http, base_url, collection_id, key, *objects, **kwargs):
    """Post, then run the server's release tick: sightings are withheld by default, and
    withheld objects are served only once a release batch takes them."""
    done = await _post(http, base_url, collection_id, key, *objects, **kwargs)
    await release_withheld(_POOL[0])
    return done


def sighting(of: str, **extra: object) -> dict:
    """A valid STIX 2.1 sighting of an indicator."""
    return {"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
            "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
            "sighting_of_ref": of, "count": 1, "last_seen": "2026-03-01T00:00:00.000Z",
            **extra}


async def _served(http, base_url, collection_id, key, stix_id: str) -> tuple[int, dict]:
    status, body, _ = await get_json(http, objects_url(base_url, collection_id, f"{stix_id}/"),
                                     key)
    return status, body


async def test_sightings_are_stored_aggregated_and_anonymous_by_default(
        http, base_url, world):
    ip = _unique_ip()
    obj = indicator(ip, object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    seen = sighting(obj["id"], count=3, where_sighted_refs=[world.bob.identity_id])
    done = await post(http, base_url, world.collection_id, world.bob.contributor, seen,
                      sighting(obj["id"], last_seen="2026-03-02T00:00:00.000Z"))
    assert done["success_count"] == 2, done
    done = await post(http, base_url, world.collection_id, world.carol.contributor,
                      sighting(obj["id"], labels=["false-positive"]))
    assert done["success_count"] == 1, done
    [result] = await _lookup(http, base_url, world.alice.reader, ip)
    summary = result["matches"][0]["sightings"]
    assert (summary["organizations"], summary["count"], summary["false_positives"],
            summary["credited"]) == (1, 4, 1, [])
    assert summary["last_seen"].startswith("2026-03-02")
    raw = orjson.dumps(result)
    assert world.bob.name.encode() not in raw and world.carol.name.encode() not in raw
    # An ordinary object, served to the group under the predicate: naming nobody.
    status, served = await _served(http, base_url, world.collection_id, world.alice.reader,
                                   seen["id"])
    assert status == 200
    [got] = served["objects"]
    assert got["sighting_of_ref"] == obj["id"] and got["count"] == 3
    assert world.bob.identity_id not in orjson.dumps(got).decode()
    # Outside the group it is not there.
    status, _ = await _served(http, base_url, world.collection_id, world.mallory.reader,
                              seen["id"])
    assert status == 404


async def test_a_bulk_lookup_split_over_two_queries_answers_each_value_alike(
        http, base_url, world):
    # Past 2,000 probes the values go, every other one, to two queries at once
    # (server.intel.lookup): an indicator reached from both halves carries the same
    # sightings in both, and every value keeps its place.
    ip, domain = _unique_ip(), f"split-{uuid.uuid4().hex[:10]}.example"
    obj = indicator(ip, object_marking_refs=[TLP_GREEN],
                    pattern=f"[ipv4-addr:value = '{ip}'] OR [domain-name:value = '{domain}']")
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    await post(http, base_url, world.collection_id, world.bob.contributor,
               sighting(obj["id"], count=5))
    [single] = await _lookup(http, base_url, world.carol.reader, ip)
    filler = [f"100.127.{i // 250}.{i % 250}" for i in range(2_400)]
    values = [*filler[:1200], ip, domain, *filler[1200:]]  # indices 1200 and 1201
    results = await _lookup(http, base_url, world.carol.reader, *values)
    assert [r["value"] for r in results] == values
    by_value = {r["value"]: r for r in results}
    assert [m["id"] for m in by_value[ip]["matches"]] == [obj["id"]]
    assert [m["id"] for m in by_value[domain]["matches"]] == [obj["id"]]
    assert by_value[ip]["matches"][0]["sightings"] == single["matches"][0]["sightings"]
    assert by_value[domain]["matches"][0]["sightings"] == single["matches"][0]["sightings"]
    assert single["matches"][0]["sightings"]["count"] == 5
    assert all(r["matches"] == [] for r in results if r["value"] not in (ip, domain))


async def test_a_sighter_may_choose_to_be_credited(http, base_url, world):
    ip = _unique_ip()
    obj = indicator(ip, object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    await post(http, base_url, world.collection_id, world.bob.contributor,
               sighting(obj["id"], extensions=CREDITED))
    await post(http, base_url, world.collection_id, world.carol.contributor,
               sighting(obj["id"]))
    [result] = await _lookup(http, base_url, world.alice.reader, ip)
    summary = result["matches"][0]["sightings"]
    assert summary["organizations"] == 2 and summary["credited"] == [world.bob.name]


async def test_sighting_an_invisible_indicator_is_refused_like_an_unknown_id(
        http, base_url, world, factory):
    ip = _unique_ip()
    # RED for carol: bob, in the same group, may not see it.
    hidden = indicator(ip, object_marking_refs=[TLP_RED], extensions={ACCORD_EXTENSION_ID: {
        "extension_type": "property-extension", "recipients": [world.carol.identity_id]}})
    await post(http, base_url, world.collection_id, world.alice.contributor, hidden)
    same_id = str(uuid.uuid4())
    refused = await post(http, base_url, world.collection_id, world.bob.contributor,
                         sighting(hidden["id"], id=f"sighting--{same_id}"))
    unknown = await post(http, base_url, world.collection_id, world.bob.contributor,
                         sighting(f"indicator--{uuid.uuid4()}", id=f"sighting--{same_id}"))
    assert refused["failure_count"] == unknown["failure_count"] == 1
    assert refused["failures"] == unknown["failures"]
    # An outsider sighting it from its own group: refused too.
    group = await factory.group(world.mallory)
    elsewhere = await factory.collection(group)
    outside = await post(http, base_url, elsewhere, world.mallory.contributor,
                         sighting(hidden["id"]))
    assert outside["failure_count"] == 1
    # Nothing was stored: the producer sees no sighting.
    [result] = await _lookup(http, base_url, world.alice.reader, ip)
    assert result["matches"][0]["sightings"]["organizations"] == 0


async def test_a_sighting_is_shared_no_wider_than_its_indicator(http, base_url, world):
    amber = indicator(_unique_ip(), object_marking_refs=[TLP_AMBER])
    red = indicator(_unique_ip(), object_marking_refs=[TLP_RED], extensions={
        ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                              "recipients": [world.bob.identity_id]}})
    await post(http, base_url, world.collection_id, world.alice.contributor, amber, red)
    wide = sighting(amber["id"], object_marking_refs=[TLP_CLEAR])
    of_red = sighting(red["id"])
    done = await post(http, base_url, world.collection_id, world.bob.contributor, wide, of_red)
    assert done["success_count"] == 2, done
    status, served = await _served(http, base_url, world.collection_id, world.carol.reader,
                                   wide["id"])
    assert status == 200 and served["objects"][0]["object_marking_refs"] == [TLP_AMBER]
    # The RED indicator's readers are bob and alice: carol never sees the sighting of it.
    assert (await _served(http, base_url, world.collection_id, world.carol.reader,
                          of_red["id"]))[0] == 404
    status, served = await _served(http, base_url, world.collection_id, world.alice.reader,
                                   of_red["id"])
    assert status == 200 and served["objects"][0]["object_marking_refs"] == [TLP_RED]


async def test_a_false_positive_report_lowers_the_score(http, base_url, world):
    ip = _unique_ip()
    obj = indicator(ip, confidence=80, object_marking_refs=[TLP_GREEN],
                    valid_from="2026-12-01T00:00:00.000Z")
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    [before] = await _lookup(http, base_url, world.bob.reader, ip)
    await post(http, base_url, world.collection_id, world.carol.contributor,
               sighting(obj["id"], labels=["false-positive"]))
    [after] = await _lookup(http, base_url, world.bob.reader, ip)
    assert after["matches"][0]["score"] < before["matches"][0]["score"]


async def test_sightings_need_a_contributor_key(http, base_url, world):
    obj = indicator(_unique_ip())
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    async with http.post(objects_url(base_url, world.collection_id),
                         data=orjson.dumps({"objects": [sighting(obj["id"])]}),
                         headers=auth(world.bob.reader)) as resp:
        assert resp.status in (401, 403, 404)


async def _feed_ids(http, base_url, key, feed_id: str) -> set[str]:
    url = f"{base_url}/taxii2/feeds/collections/{feed_id}/objects/"
    status, body, _ = await get_json(http, url, key)
    assert status == 200, body
    return {o["id"] for o in body.get("objects", [])}


async def test_a_false_positive_can_drop_an_indicator_from_a_min_score_feed(
        http, base_url, world):
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    kept = indicator(_unique_ip(), confidence=60, object_marking_refs=[TLP_GREEN],
                     valid_from=now)
    misfired = indicator(_unique_ip(), confidence=60, object_marking_refs=[TLP_GREEN],
                         valid_from=now)
    weak = indicator(_unique_ip(), confidence=20, object_marking_refs=[TLP_GREEN],
                     valid_from=now)
    await post(http, base_url, world.collection_id, world.alice.contributor,
               kept, misfired, weak)
    feed = await create_feed(http, base_url, world.bob.reader, filter={
        "collections": [str(world.collection_id)], "types": ["indicator"], "min_score": 50})
    assert await _feed_ids(http, base_url, world.bob.reader, feed["id"]) == {
        kept["id"], misfired["id"]}
    await post(http, base_url, world.collection_id, world.carol.contributor,
               sighting(misfired["id"], labels=["false-positive"]))
    assert await _feed_ids(http, base_url, world.bob.reader, feed["id"]) == {kept["id"]}
    async with http.get(f"{base_url}/api/v1/feeds/{feed['id']}/export.txt",
                        headers=auth(world.bob.reader)) as resp:
        assert resp.status == 200, await resp.text()
        exported = set((await resp.text()).split())
    value = kept["pattern"].split("'")[1]
    assert exported == {value}  # the blocklist applies the score too


async def test_a_producer_feed_receives_the_sightings_of_its_indicators(http, base_url, world):
    mine = indicator(_unique_ip(), object_marking_refs=[TLP_GREEN])
    theirs = indicator(_unique_ip(), object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, mine)
    await post(http, base_url, world.collection_id, world.bob.contributor, theirs)
    fed = sighting(mine["id"], labels=["false-positive"])
    await post(http, base_url, world.collection_id, world.carol.contributor, fed,
               sighting(theirs["id"]))
    feed = await create_feed(http, base_url, world.alice.reader, filter={
        "collections": [str(world.collection_id)], "sightings_of_mine": True})
    assert await _feed_ids(http, base_url, world.alice.reader, feed["id"]) == {fed["id"]}


async def test_a_group_sets_its_own_half_lives(http, base_url, world, factory):
    platform = await factory.platform_key()
    ip = _unique_ip()
    four_weeks = (datetime.now(UTC) - timedelta(days=28)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    obj = indicator(ip, confidence=80, object_marking_refs=[TLP_GREEN], valid_from=four_weeks)
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    feed = await create_feed(http, base_url, world.bob.reader, filter={
        "collections": [str(world.collection_id)], "types": ["indicator"], "min_score": 60})
    [result] = await _lookup(http, base_url, world.bob.reader, ip)
    assert result["matches"][0]["score"] == 20  # two half-lives of the default 14 days
    assert obj["id"] not in await _feed_ids(http, base_url, world.bob.reader, feed["id"])

    async def patch(policy: dict) -> tuple[int, dict]:
        async with http.patch(f"{base_url}/api/v1/groups/{world.group_id}",
                              headers=json_auth(platform),
                              data=orjson.dumps({"policy": policy})) as resp:
            return resp.status, await resp.json()

    code, group = await patch({"half_lives": {"ipv4": 280}})
    assert code == 200 and group["policy"]["half_lives"] == {"ipv4": 280.0}
    [result] = await _lookup(http, base_url, world.bob.reader, ip)
    assert result["matches"][0]["score"] == 75  # 80 x 0.5 ** (28 / 280)
    # The feed's threshold scores alike (in SQL).
    assert obj["id"] in await _feed_ids(http, base_url, world.bob.reader, feed["id"])
    for bad in ({"ipv4": 0}, {"colour": 3}, {"ipv4": "soon"}, {"ipv4": float("inf")}):
        code, body = await patch({"half_lives": bad})
        assert code == 400, (bad, body)
    code, group = await patch({"half_lives": {}})
    assert code == 200 and group["policy"]["half_lives"] == {}
    [result] = await _lookup(http, base_url, world.bob.reader, ip)
    assert result["matches"][0]["score"] == 20
