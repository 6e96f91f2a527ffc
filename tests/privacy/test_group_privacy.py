"""A trust group's privacy settings: the policy a group of mixed sectors holds by default,
the reviewer organisations it names (their org-admins review its held objects, another
organisation's admin still gets 404), and the address ranges it marks as victim-side."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import orjson

from server.privacy import rules, screening
from server.store import audit
from server.store import groups as group_store
from tests.helpers import get_json, indicator, objects_url, post

PHONE = "+44 20 7946 0958"


async def _call(http, base_url, method, path, key=None, json=None):
    headers = {"Authorization": f"Bearer {key.token}"} if key else {}
    data = None
    if json is not None:
        data = orjson.dumps(json)
        headers["Content-Type"] = "application/json"
    async with http.request(method, f"{base_url}/api/v1{path}", data=data,
                            headers=headers) as resp:
        raw = await resp.read()
        return resp.status, orjson.loads(raw) if raw else {}


async def _policy(http, base_url, group_id, key, **changes) -> dict:
    code, body = await _call(http, base_url, "PATCH", f"/groups/{group_id}", key,
                             {"policy": changes})
    assert code == 200, body
    return body["policy"]


def _flagged(n: int) -> dict:
    return indicator(f"198.51.100.{n}", description=f"The victim's phone is {PHONE}.")


def test_the_default_policy_is_decided_by_the_members_sectors() -> None:
    assert rules.effective_policy(None, ["private", "government"]) == "hold"
    assert rules.effective_policy(None, ["private", "private"]) == "pass"
    assert rules.effective_policy(None, []) == "pass"
    assert rules.effective_policy("refuse", ["private"]) == "refuse"
    assert rules.effective_policy("pass", ["private", "academic"]) == "pass"


async def test_a_group_of_mixed_sectors_holds_unless_its_policy_is_set(http, base_url, world,
                                                                       factory, pool):
    platform = await factory.platform_key()
    # world: alice and carol (private), bob (government), the policy never set.
    code, group = await _call(http, base_url, "GET", f"/groups/{world.group_id}",
                              world.alice.reader)
    assert code == 200
    assert group["policy"]["privacy_policy"] == "hold"
    assert group["policy"]["privacy_policy_set"] is False
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        _flagged(51))
    assert status["pending_count"] == 1 and status["success_count"] == 0, status
    # One sector: flagged posts pass (the findings audited) until another sector joins.
    private = await factory.group(world.alice, world.carol)
    collection = await factory.collection(private)
    status = await post(http, base_url, collection, world.alice.contributor, _flagged(52))
    assert status["success_count"] == 1 and status["pending_count"] == 0, status
    async with pool.acquire() as conn:
        await group_store.add_member(conn, private, world.bob.org_id)
    status = await post(http, base_url, collection, world.alice.contributor, _flagged(53))
    assert status["pending_count"] == 1, status
    # Set explicitly, it no longer follows the sectors; "default" unsets it.
    policy = await _policy(http, base_url, private, platform, privacy_policy="pass")
    assert policy["privacy_policy"] == "pass" and policy["privacy_policy_set"] is True
    status = await post(http, base_url, collection, world.alice.contributor, _flagged(54))
    assert status["success_count"] == 1, status
    policy = await _policy(http, base_url, private, platform, privacy_policy="default")
    assert policy["privacy_policy"] == "hold" and policy["privacy_policy_set"] is False


async def test_a_named_reviewer_organisation_reviews_the_groups_held_objects(
        http, base_url, world, factory, pool):
    platform = await factory.platform_key()
    await _policy(http, base_url, world.group_id, platform, privacy_policy="hold")
    flagged = _flagged(61)
    status = await post(http, base_url, world.collection_id, world.alice.contributor, flagged)
    assert status["pending_count"] == 1, status
    # Not yet named: carol's admin sees nothing of it.
    code, queue = await _call(http, base_url, "GET", "/review", world.carol.admin)
    assert code == 200 and flagged["id"] not in {h["stix_id"] for h in queue["objects"]}
    code, body = await _call(http, base_url, "PATCH", f"/groups/{world.group_id}",
                             platform, {"policy": {"privacy_reviewers": [str(uuid.uuid4())]}})
    assert code == 404, body
    policy = await _policy(http, base_url, world.group_id, platform,
                           privacy_reviewers=[str(world.carol.org_id)])
    assert policy["privacy_reviewers"] == [str(world.carol.org_id)]
    code, queue = await _call(http, base_url, "GET", "/review", world.carol.admin)
    [held] = [h for h in queue["objects"] if h["stix_id"] == flagged["id"]]
    code, shown = await _call(http, base_url, "GET", f"/review/{held['id']}", world.carol.admin)
    assert code == 200 and shown["object"] == flagged
    # Another organisation's admin (bob: a member, not named) gets 404, as for an unknown
    # id; carol's reader is refused for its role.
    other = await _call(http, base_url, "GET", f"/review/{held['id']}", world.bob.admin)
    unknown = await _call(http, base_url, "GET", f"/review/{uuid.uuid4()}", world.bob.admin)
    assert other[0] == unknown[0] == 404 and other[1]["title"] == unknown[1]["title"]
    assert flagged["id"] not in {h["stix_id"] for h in
                                 (await _call(http, base_url, "GET", "/review",
                                              world.bob.admin))[1]["objects"]}
    assert (await _call(http, base_url, "POST", f"/review/{held['id']}/reject",
                        world.bob.admin, {"reason": "x"}))[0] == 404
    assert (await _call(http, base_url, "GET", "/review", world.carol.reader))[0] == 403
    code, done = await _call(http, base_url, "POST", f"/review/{held['id']}/redact",
                             world.carol.admin, {"reason": "the victim's number"})
    assert code == 200 and done["stored_version"], done
    _, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    [served] = body["objects"]
    assert PHONE not in orjson.dumps(served).decode()
    async with pool.acquire() as conn:  # (the API shows alice no other organisation's key)
        entries = await audit.query(conn, org_id=world.alice.org_id, action="review.redacted")
    [entry] = [e for e in entries if e.subject == flagged["id"]]
    assert entry.actor_org == world.carol.org_id and entry.actor_key == world.carol.admin.key.id
    assert entry.details["reason"] == "the victim's number"
    # Unnamed again: carol's admin gets 404 for the group's next held object.
    await _policy(http, base_url, world.group_id, platform, privacy_reviewers=[])
    later = _flagged(62)
    await post(http, base_url, world.collection_id, world.alice.contributor, later)
    code, queue = await _call(http, base_url, "GET", "/review", world.alice.admin)
    [held] = [h for h in queue["objects"] if h["stix_id"] == later["id"]]
    assert (await _call(http, base_url, "GET", f"/review/{held['id']}",
                        world.carol.admin))[0] == 404


async def _accord(base_url: str, token: str, *args: str, ok: bool = True) -> str:
    # Not subprocess.run: the test server shares this event loop and must keep answering.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", *args[:1], "--url", base_url, "--key", token,
        *args[1:], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k not in ("ACCORD_URL", "ACCORD_KEY")},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert (proc.returncode == 0) is ok, (out, err)
    return (out if ok else err).decode().strip()


async def test_reviewers_and_victim_ranges_through_the_cli(http, base_url, world, factory):
    platform = await factory.platform_key()
    shown = orjson.loads(await _accord(
        base_url, platform.token, "admin", "group", "policy", str(world.group_id),
        "--privacy", "hold", "--reviewer", str(world.carol.org_id),
        "--victim-range", "10.20.0.0/16", "--victim-range", "2001:db8:aa::/48"))
    assert shown["privacy_reviewers"] == [str(world.carol.org_id)]
    assert shown["victim_ranges"] == ["10.20.0.0/16", "2001:db8:aa::/48"]
    err = await _accord(base_url, platform.token, "admin", "group", "policy",
                        str(world.group_id), "--victim-range", "10.20.0.0/33", ok=False)
    assert "victim_ranges" in err
    flagged = _flagged(71)
    await post(http, base_url, world.collection_id, world.alice.contributor, flagged)
    listing = await _accord(base_url, world.carol.admin.token, "review", "list")
    [line] = [x for x in listing.splitlines() if flagged["id"] in x]
    assert "phone-number in description" in line and PHONE not in listing
    held_id = line.split()[0]
    err = await _accord(base_url, world.bob.admin.token, "review", "show", held_id, ok=False)
    assert "no such object in the review queue" in err
    out = await _accord(base_url, world.carol.admin.token, "review", "release", held_id,
                        "--reason", "the attacker's call centre")
    assert f"release: stored {flagged['id']}" in out
    shown = orjson.loads(await _accord(
        base_url, platform.token, "admin", "group", "policy", str(world.group_id),
        "--no-reviewers", "--no-victim-ranges"))
    assert shown["privacy_reviewers"] == [] and shown["victim_ranges"] == []


def _observation(victim: str, other: str) -> list[dict]:
    """An observed-data of traffic from a victim's address to another, with its SCOs."""
    ids = {v: f"ipv4-addr--{uuid.uuid4()}" for v in (victim, other)}
    traffic = f"network-traffic--{uuid.uuid4()}"
    stamp = "2026-11-30T10:00:00.000Z"
    return [
        {"type": "ipv4-addr", "spec_version": "2.1", "id": ids[victim], "value": victim},
        {"type": "ipv4-addr", "spec_version": "2.1", "id": ids[other], "value": other},
        {"type": "network-traffic", "spec_version": "2.1", "id": traffic,
         "src_ref": ids[victim], "dst_ref": ids[other], "protocols": ["tcp"]},
        {"type": "observed-data", "spec_version": "2.1", "id": f"observed-data--{uuid.uuid4()}",
         "created": stamp, "modified": stamp, "first_observed": stamp, "last_observed": stamp,
         "number_observed": 1, "object_refs": [traffic]},
    ]


def test_victim_side_addresses_are_findings_where_they_are_observed() -> None:
    ranges = rules.networks(["10.20.0.0/16", "2001:db8:aa::/48"])
    objects = _observation("10.20.3.4", "203.0.113.9")
    stamp = "2026-11-30T10:00:00.000Z"
    sighting = {"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
                "created": stamp, "modified": stamp, "sighting_of_ref": "indicator--x",
                "description": "beaconing from 2001:db8:aa::17 and 198.51.100.1"}
    # The same victim address as an indicator's SCO, observed by nothing: not a finding.
    loose = {"type": "ipv4-addr", "spec_version": "2.1", "id": f"ipv4-addr--{uuid.uuid4()}",
             "value": "10.20.9.9"}
    found = screening.screen_envelope([*objects, sighting, loose], ranges)
    assert {k: [f.as_dict() for f in v] for k, v in found.items()} == {
        objects[0]["id"]: [{"property": "value", "reason": "victim-ip-addr"}],
        sighting["id"]: [{"property": "description", "reason": "victim-ip-addr"}],
    }
    assert screening.screen_envelope([*objects, sighting, loose]) == {}  # no ranges: none
    redacted = screening.redact(sighting, found[sighting["id"]], ranges)
    assert redacted["description"] == "beaconing from 2001:db8:aa::/48 and 198.51.100.1"
    assert screening.redact(objects[0], found[objects[0]["id"]], ranges)["value"] \
        == "10.20.0.0/16"


async def test_a_victim_address_in_an_observation_is_held_and_redacted_to_its_range(
        http, base_url, world, factory):
    platform = await factory.platform_key()
    policy = await _policy(http, base_url, world.group_id, platform, privacy_policy="hold",
                           victim_ranges=["10.20.0.0/16"])
    assert policy["victim_ranges"] == ["10.20.0.0/16"]
    code, body = await _call(http, base_url, "PATCH", f"/groups/{world.group_id}", platform,
                             {"policy": {"victim_ranges": ["not a range"]}})
    assert code == 400, body
    objects = _observation("10.20.3.4", "203.0.113.9")
    status = await post(http, base_url, world.collection_id, world.alice.contributor, *objects)
    assert status["pending_count"] == 1 and status["success_count"] == 3, status
    assert status["pendings"][0]["id"] == objects[0]["id"]
    code, _, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                  f"{objects[0]['id']}/"), world.bob.reader)
    assert code == 404
    code, queue = await _call(http, base_url, "GET", "/review", world.alice.admin)
    [held] = [h for h in queue["objects"] if h["stix_id"] == objects[0]["id"]]
    assert held["findings"] == [{"property": "value", "reason": "victim-ip-addr"}]
    assert "10.20.3.4" not in orjson.dumps(queue).decode()
    code, done = await _call(http, base_url, "POST", f"/review/{held['id']}/redact",
                             world.alice.admin, {"reason": "a customer's address"})
    assert code == 200 and done["message"] is None, done
    code, body, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                     f"{objects[0]['id']}/"), world.bob.reader)
    assert code == 200 and body["objects"][0]["value"] == "10.20.0.0/16"
    # The same observation in a group that marks no range: nothing held.
    other = await factory.collection(await factory.group(world.alice, world.carol))
    status = await post(http, base_url, other, world.alice.contributor,
                        *_observation("10.20.3.5", "203.0.113.9"))
    assert status["success_count"] == 4, status


async def test_a_victim_range_is_text_in_cidr_notation(http, base_url, world):
    # pydantic's network type alone would read `true` as 0.0.0.1/32 and 167772160 as
    # 10.0.0.0/32: such a policy is refused, and the group's ranges stay as they were.
    for bad in ([True], [167772160], ["10.20.0.0/33"], "10.20.0.0/16"):
        code, body = await _call(http, base_url, "PATCH", f"/groups/{world.group_id}",
                                 world.alice.admin, {"policy": {"victim_ranges": bad}})
        assert code == 400, (bad, body)
    code, body = await _call(http, base_url, "GET", f"/groups/{world.group_id}",
                             world.alice.admin)
    assert code == 200 and body["policy"]["victim_ranges"] == [], body
