"""An organisation's own exclusion list: its feeds and exports leave matching values out,
its lookups flag them, other organisations are untouched, and the ETag moves with it."""

from __future__ import annotations

import asyncio

import orjson

from tests.feed_helpers import create_feed, json_auth
from tests.helpers import TLP_GREEN, auth, get_json, indicator, post
from tests.privacy.test_group_privacy import _accord
from tests.test_exports import Poller
from tests.test_lookup import _lookup

SHA256 = "a" * 63 + "b"


async def _put(http, base_url, key, *entries: dict) -> tuple[int, dict]:
    async with http.put(f"{base_url}/api/v1/exclusions", headers=json_auth(key),
                        data=orjson.dumps({"entries": list(entries)})) as resp:
        return resp.status, await resp.json()


def _domain(value: str) -> dict:
    return {**indicator(object_marking_refs=[TLP_GREEN]),
            "pattern": f"[domain-name:value = '{value}']"}


def _hash(value: str) -> dict:
    return {**indicator(object_marking_refs=[TLP_GREEN]),
            "pattern": f"[file:hashes.'SHA-256' = '{value}']"}


async def _feed_ids(http, base_url, key, feed_id: str) -> set[str]:
    status, body, _ = await get_json(
        http, f"{base_url}/taxii2/feeds/collections/{feed_id}/objects/", key)
    assert status == 200, body
    return {o["id"] for o in body.get("objects", [])}


async def test_an_organisations_exclusions_leave_its_feeds_and_flag_its_lookups(
        http, base_url, world):
    code, listed = await _put(http, base_url, world.bob.admin,
                              {"value": "45.33.7.9/16", "note": "our offices"},
                              {"value": "Partner.Example"}, {"value": SHA256.upper()})
    assert code == 200, listed
    assert [(e["kind"], e["value"], e["note"]) for e in listed["entries"]] == [
        ("domain", "partner.example", None), ("ipv4", "45.33.0.0/16", "our offices"),
        ("sha256", SHA256, None)]
    inside, wide, outside = (indicator(v, object_marking_refs=[TLP_GREEN])
                             for v in ("45.33.1.2", "45.0.0.0/8", "45.34.1.1"))
    sub, other, hashed = (_domain("mail.partner.example"), _domain("notpartner.example"),
                          _hash(SHA256))
    await post(http, base_url, world.collection_id, world.alice.contributor,
               inside, wide, outside, sub, other, hashed)
    excluded = {inside["id"], wide["id"], sub["id"], hashed["id"]}
    kept = {outside["id"], other["id"]}

    feeds = {}
    for who in ("bob", "alice"):
        key = getattr(world, who).reader
        feeds[who] = await create_feed(http, base_url, key, filter={
            "collections": [str(world.collection_id)], "types": ["indicator"]})
    assert await _feed_ids(http, base_url, world.bob.reader, feeds["bob"]["id"]) == kept
    assert await _feed_ids(http, base_url, world.alice.reader, feeds["alice"]["id"]) == (
        excluded | kept)  # another organisation's list changes nothing here
    bob = Poller(http, base_url, feeds["bob"]["id"], world.bob.reader)
    assert set(await bob.full()) == {"45.34.1.1", "notpartner.example"}

    results = await _lookup(http, base_url, world.bob.reader, "45.33.200.1", "45.34.1.1",
                            "www.partner.example", SHA256)
    assert [r["excluded"] for r in results] == [True, False, True, True]
    [theirs] = await _lookup(http, base_url, world.alice.reader, "45.33.1.2")
    assert theirs["excluded"] is False and theirs["matches"]

    # A change of the list moves the export's ETag, and a delta across it is a full answer.
    old_etag = bob.etag
    code, _ = await _put(http, base_url, world.bob.admin, {"value": "partner.example"})
    assert code == 200
    assert await bob.conditional() == 200
    bob.etag = old_etag
    kind, lines = await bob.delta()
    assert kind == "full" and set(lines) == {"45.33.1.2", "45.0.0.0/8", "45.34.1.1",
                                             "notpartner.example", SHA256}
    code, _ = await _put(http, base_url, world.bob.admin)  # an empty list: nothing excluded
    assert code == 200
    assert await _feed_ids(http, base_url, world.bob.reader, feeds["bob"]["id"]) == (
        excluded | kept)


async def test_the_exclusion_list_is_read_by_members_and_changed_by_org_admins(
        http, base_url, world):
    code, body = await _put(http, base_url, world.bob.reader, {"value": "45.33.0.0/16"})
    assert code == 403, body
    code, body = await _put(http, base_url, world.bob.admin, {"value": "45.33.0.0/16"},
                            {"value": "not a value at all"}, {"value": "two words"})
    assert code == 400, body
    assert [b["index"] for b in body["details"]["unrecognised"]] == [1, 2]
    async with http.get(f"{base_url}/api/v1/exclusions", headers=auth(world.bob.reader)) as r:
        assert r.status == 200 and (await r.json())["entries"] == []  # nothing stored
    async with http.put(f"{base_url}/api/v1/exclusions", data=b"{}",
                        headers={**auth(world.bob.admin), "Content-Type": "text/plain"}) as r:
        assert r.status == 415


async def test_exclusions_through_the_cli(base_url, world):
    token = world.bob.admin.token
    out = await _accord(base_url, token, "exclusions", "add", "45.33.0.0/16",
                        "partner.example", "--note", "ours")
    assert out.splitlines() == ["domain  partner.example  # ours", "ipv4    45.33.0.0/16  # ours"]
    out = await _accord(base_url, token, "exclusions", "remove", "partner.example")
    assert out.splitlines() == ["ipv4    45.33.0.0/16  # ours"]
    err = await _accord(base_url, token, "exclusions", "remove", "45.33.1.0/16", ok=False)
    assert "not on the list" in err and "45.33.1.0/16" in err
    assert await _accord(base_url, world.bob.reader.token, "exclusions") == out
    assert await _accord(base_url, token, "exclusions", "clear") == ""


async def _put_if(http, base_url, key, if_match: str, *values: str):
    async with http.put(f"{base_url}/api/v1/exclusions",
                        headers={**json_auth(key), "If-Match": if_match},
                        data=orjson.dumps({"entries": [{"value": v} for v in values]})) as r:
        return r.status, r.headers.get("ETag"), await r.json()


async def test_a_change_sent_with_if_match_is_refused_once_the_list_moved_on(
        http, base_url, world):
    async with http.get(f"{base_url}/api/v1/exclusions", headers=auth(world.bob.reader)) as r:
        assert r.status == 200
        first = r.headers["ETag"]
    status, second, body = await _put_if(http, base_url, world.bob.admin, first,
                                         "45.33.0.0/16")
    assert status == 200 and second not in (None, first), body
    # A second admin still holding the first ETag would undo that change: refused, and
    # nothing changes.
    status, _, body = await _put_if(http, base_url, world.bob.admin, first, "partner.example")
    assert status == 412 and body["details"]["etag"] == second, body
    status, _, body = await _put_if(http, base_url, world.bob.admin, f"W/{second}",
                                    "partner.example")
    assert status == 412, body  # If-Match compares strongly: a weak tag never matches
    async with http.get(f"{base_url}/api/v1/exclusions", headers=auth(world.bob.reader)) as r:
        assert r.headers["ETag"] == second
        assert [e["value"] for e in (await r.json())["entries"]] == ["45.33.0.0/16"]
    status, third, body = await _put_if(http, base_url, world.bob.admin, f'"x", {second}',
                                        "45.33.0.0/16", "partner.example")
    assert status == 200 and third != second, body
    status, _, body = await _put_if(http, base_url, world.bob.admin, "*")
    assert status == 200 and body["entries"] == []


async def test_cli_changes_made_at_once_are_all_kept(base_url, world):
    # Each run reads the list, changes it and sends it back with If-Match; a run that lost
    # the race (412) makes its change again to the list as it is now.
    token = world.bob.admin.token
    values = [f"45.{n}.0.0/16" for n in range(40, 46)]
    await asyncio.gather(*(_accord(base_url, token, "exclusions", "add", v) for v in values))
    listed = await _accord(base_url, token, "exclusions")
    assert sorted(line.split()[1] for line in listed.splitlines()) == sorted(values)


async def test_a_list_made_after_a_lookup_is_flagged_by_the_next(http, base_url, world):
    # The server remembers that the organisation had no list (and skips the check); the
    # next lookup learns of the new list in its own answer and looks again.
    [before] = await _lookup(http, base_url, world.bob.reader, "45.33.9.9")
    assert before["excluded"] is False
    code, _ = await _put(http, base_url, world.bob.admin, {"value": "45.33.0.0/16"})
    assert code == 200
    [after] = await _lookup(http, base_url, world.bob.reader, "45.33.9.9")
    assert after["excluded"] is True
    code, _ = await _put(http, base_url, world.bob.admin)
    assert code == 200
    [cleared] = await _lookup(http, base_url, world.bob.reader, "45.33.9.9")
    assert cleared["excluded"] is False
