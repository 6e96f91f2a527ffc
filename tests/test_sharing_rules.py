"""The sharing rules of issue 9 over real HTTP (DESIGN.md "Sharing policy"): ownership per
trust group without an oracle, one id however spelt, refusals that claim nothing, withdrawal
that sticks, markings in any order and any form, authorship kept, producer shown."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import stix2

from schemas.accord_extension import ACCORD_EXTENSION_ID
from tests.helpers import (
    TLP_GREEN,
    as_served,
    auth,
    envelope,
    get_json,
    indicator,
    objects_url,
    post,
    release_withheld,
)

TLP2_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
MITRE = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
OASIS_SCO_NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1 s2.9


def ipv4(value: str) -> dict:
    """An ipv4-addr SCO with its deterministic id (UUIDv5 of the value)."""
    return {"type": "ipv4-addr", "spec_version": "2.1", "value": value,
            "id": f"ipv4-addr--{uuid.uuid5(OASIS_SCO_NS, orjson.dumps({'value': value}).decode())}"}


def opencti_indicator(value: str, **extra: object) -> dict:
    """An indicator whose id is derived from its pattern, as OpenCTI derives it."""
    pattern = f"[ipv4-addr:value = '{value}']"
    return indicator(value, stix_id=f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, pattern)}",
                     **extra)


def statement_marking(text: str = "Copyright 2026, The MITRE Corporation") -> dict:
    return {"type": "marking-definition", "spec_version": "2.1",
            "id": f"marking-definition--{uuid.uuid4()}", "created": "2017-06-01T00:00:00.000Z",
            "definition_type": "statement", "definition": {"statement": text}}


def custom_tlp(level: str) -> dict:
    """A marking-definition declaring a TLP 2.0 level under an id of its own."""
    return {"type": "marking-definition", "spec_version": "2.1",
            "id": f"marking-definition--{uuid.uuid4()}", "created": "2022-10-01T00:00:00.000Z",
            "name": f"TLP:{level.upper()} (ours)",
            "extensions": {TLP2_EXT: {"extension_type": "property-extension",
                                      "tlp_2_0": level}}}


def iep_red() -> dict:
    """An IEP 2.0 marking stating TLP:RED (FIRST IEP 2.0 as a STIX extension)."""
    return {"type": "marking-definition", "spec_version": "2.1",
            "id": f"marking-definition--{uuid.uuid4()}", "created": "2022-10-01T00:00:00.000Z",
            "name": "IEP 2.0 example",
            "extensions": {f"extension-definition--{uuid.uuid4()}": {
                "extension_type": "property-extension", "iep_version": "2.0",
                "tlp": "red", "attribution": "must", "unmodified_resale": "must-not"}}}


async def _collection_of(factory, *members):
    return await factory.collection(await factory.group(*members))


async def _post_raw(http, base_url, collection, key, objects) -> tuple[int, dict]:
    async with http.post(objects_url(base_url, collection), data=envelope(*objects),
                         headers=auth(key)) as resp:
        return resp.status, orjson.loads(await resp.read())


async def _visible_ids(http, base_url, collection, key) -> list[str]:
    _, body, _ = await get_json(http, objects_url(base_url, collection), key,
                                **{"match[version]": "all"})
    return [o["id"] for o in body.get("objects", [])]


def _normalised(status: dict, rename: dict[str, str], unversioned: set[str]) -> bytes:
    """A status with what must differ between two posts taken out: its id and time, the ids
    renamed onto the other post's, and the stored versions of SCOs (their date_added).
    Entries are sorted after renaming: the server lists them in id order, which follows
    the posted ids (known to the poster), not what is stored elsewhere."""
    text = orjson.dumps({k: v for k, v in status.items()
                         if k not in ("id", "request_timestamp")}).decode()
    for old, new in rename.items():
        text = text.replace(old, new)
    out = orjson.loads(text)
    for entries in (out["successes"], out["failures"], out["pendings"]):
        for entry in entries:
            if entry["id"] in unversioned:
                entry["version"] = "<date_added>"
        entries.sort(key=lambda e: (e["id"], e.get("version", "")))
    return orjson.dumps(out)


async def test_answers_never_depend_on_objects_in_groups_the_poster_cannot_read(
    http, base_url, world, factory
):
    """SECURITY.md: post ids that exist in group G from outside G, and the same objects
    renamed onto ids that exist nowhere; every answer is the same byte for byte."""
    hidden_values = ("198.51.100.7", "198.51.100.8")
    stored = [indicator("203.0.113.9", modified="2026-02-01T00:00:00.000Z"),
              ipv4(hidden_values[0]), opencti_indicator(hidden_values[1])]
    status = await post(http, base_url, world.collection_id, world.alice.contributor, *stored)
    assert status["success_count"] == 3, status
    outside = await _collection_of(factory, world.mallory)

    def probes(random_obj: dict, sco: dict, det: dict) -> list[dict]:
        return [
            random_obj,  # same content
            {**det, "name": "other content, same version"},
            {**random_obj, "id": random_obj["id"], "modified": "2026-03-01T00:00:00.000Z",
             "revoked": True},  # a later version ("revoking" it)
            {**det, "modified": "2025-12-31T00:00:00.000Z", "created":
             "2025-12-01T00:00:00.000Z", "valid_from": "2025-12-01T00:00:00.000Z"},
            sco,
        ]

    existing = probes(stored[0], stored[1], stored[2])
    fresh_random = {**stored[0], "id": f"indicator--{uuid.uuid4()}"}
    fresh = probes(fresh_random, ipv4("192.0.2.200"), opencti_indicator("192.0.2.201"))
    rename = {fresh_random["id"]: stored[0]["id"], ipv4("192.0.2.200")["id"]: stored[1]["id"],
              opencti_indicator("192.0.2.201")["id"]: stored[2]["id"],
              "192.0.2.200": hidden_values[0], "192.0.2.201": hidden_values[1]}
    unversioned = {stored[1]["id"]}
    for _ in range(2):  # first posts, then the same again (duplicates)
        code_a, answer_a = await _post_raw(http, base_url, outside, world.mallory.contributor,
                                           existing)
        code_b, answer_b = await _post_raw(http, base_url, outside, world.mallory.contributor,
                                           fresh)
        assert code_a == code_b == 202
        assert answer_a["success_count"] == len(existing), answer_a
        assert _normalised(answer_a, {}, unversioned) == _normalised(answer_b, rename,
                                                                     unversioned)
        for a, b in ((answer_a, answer_b),):
            _, read_a, _ = await get_json(http, f"{base_url}/taxii2/root/status/{a['id']}/",
                                          world.mallory.contributor)
            _, read_b, _ = await get_json(http, f"{base_url}/taxii2/root/status/{b['id']}/",
                                          world.mallory.contributor)
            assert _normalised(read_a, {}, unversioned) == _normalised(read_b, rename,
                                                                       unversioned)
    # Both members' copies stand, each in its own group, each its producer's.
    assert stored[0]["id"] in await _visible_ids(http, base_url, outside, world.mallory.reader)
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                  f"{stored[0]['id']}/"), world.bob.reader,
                                **{"match[version]": "all"})
    assert body["objects"] == [as_served(stored[0])]


async def test_two_members_in_unrelated_groups_post_the_same_public_bundle(
    http, base_url, world, factory
):
    bundle = [{"type": "identity", "spec_version": "2.1", "id": MITRE,
               "created": "2017-06-01T00:00:00.000Z", "modified": "2017-06-01T00:00:00.000Z",
               "name": "The MITRE Corporation", "identity_class": "organization"},
              indicator(created_by_ref=MITRE, object_marking_refs=[TLP_GREEN])]
    mine = await _collection_of(factory, world.mallory)
    for key, collection in ((world.alice.contributor, world.collection_id),
                            (world.mallory.contributor, mine)):
        status = await post(http, base_url, collection, key, *bundle)
        assert status["success_count"] == 2 and status["failure_count"] == 0, status


async def test_upper_case_uuids_are_refused_so_an_id_is_one_id(http, base_url, world):
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    prefix, _, value = obj["id"].partition("--")
    upper = {**obj, "id": f"{prefix}--{value.upper()}", "modified": "2026-05-01T00:00:00.000Z",
             "revoked": True}
    ref_upper = indicator(created_by_ref=world.bob.identity_id.upper().replace(
        "IDENTITY", "identity"))
    status = await post(http, base_url, world.collection_id, world.bob.contributor, upper,
                        ref_upper)
    assert status["failure_count"] == 2 and status["success_count"] == 0, status
    assert all("lower case" in f["message"] for f in status["failures"]), status
    assert await _visible_ids(http, base_url, world.collection_id, world.bob.reader) == [
        obj["id"]]


async def test_a_refused_object_claims_nothing(http, base_url, world):
    """mallory-free: alice's refused post (TLP:RED without recipients) leaves the id free
    for bob in the same group."""
    red_marked = indicator(object_marking_refs=["marking-definition--e828b379-4e03-4974-9ac4-"
                                                "e53a884c97c1"])
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        red_marked)
    assert status["failure_count"] == 1
    plain = {k: v for k, v in red_marked.items() if k != "object_marking_refs"}
    status = await post(http, base_url, world.collection_id, world.bob.contributor, plain)
    assert status["success_count"] == 1, status
    later = {**plain, "modified": "2026-06-01T00:00:00.000Z"}
    status = await post(http, base_url, world.collection_id, world.alice.contributor, later)
    assert status["failure_count"] == 1 and "first posted" in status["failures"][0]["message"]


async def test_a_withdrawn_object_stays_withdrawn(http, base_url, world):
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    url = f"{base_url}/api/v1/collections/{world.collection_id}/objects/{obj['id']}"
    platform = {"Authorization": f"Bearer {world.platform.token}"}
    async with http.post(url + "/withdraw", headers=platform) as resp:
        assert resp.status == 200
    later = {**obj, "modified": "2026-07-01T00:00:00.000Z", "name": "back again"}
    status = await post(http, base_url, world.collection_id, world.alice.contributor, later)
    assert status["success_count"] == 1, status
    for key in (world.bob.reader, world.alice.reader):
        assert obj["id"] not in await _visible_ids(http, base_url, world.collection_id, key)
    async with http.post(url + "/restore", headers=platform) as resp:
        assert resp.status == 200
    assert await _visible_ids(http, base_url, world.collection_id, world.bob.reader) == [
        obj["id"], obj["id"]]


async def test_custom_and_iep_tlp_red_definitions_make_objects_red(
    http, base_url, world, factory
):
    """Markings declaring TLP:RED under ids of their own: only the named recipients see the
    objects, which are served with the TLP 2.0 RED id beside their own marking."""
    terms = {"extensions": {ACCORD_EXTENSION_ID: {
        "extension_type": "property-extension", "recipients": [world.bob.identity_id]}}}
    for definition in (custom_tlp("red"), iep_red()):
        obj = indicator(object_marking_refs=[definition["id"]], **terms)
        status = await post(http, base_url, world.collection_id, world.alice.contributor, obj,
                            definition)
        assert status["success_count"] == 2, status
        assert obj["id"] in await _visible_ids(http, base_url, world.collection_id,
                                               world.bob.reader)
        assert obj["id"] not in await _visible_ids(http, base_url, world.collection_id,
                                                   world.carol.reader)
        _, body, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                      f"{obj['id']}/"), world.bob.reader)
        assert body["objects"][0]["object_marking_refs"] == [
            definition["id"], "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]
        # Without recipients such an object is refused, never shared wider.
        bare = indicator(object_marking_refs=[definition["id"]])
        status = await post(http, base_url, world.collection_id, world.alice.contributor, bare)
        assert status["failure_count"] == 1 and "recipients" in status["failures"][0]["message"]


async def test_markings_without_a_tlp_are_data(http, base_url, world):
    copyright_ = statement_marking()
    obj = indicator(object_marking_refs=[copyright_["id"]], created_by_ref=MITRE)
    status = await post(http, base_url, world.collection_id, world.alice.contributor, obj,
                        copyright_)
    assert status["success_count"] == 2, status
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                  f"{obj['id']}/"), world.bob.reader)
    assert body["objects"] == [as_served(obj) | {"object_marking_refs": [
        copyright_["id"], "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}]


async def test_marking_definitions_after_their_objects_in_one_envelope(http, base_url, world):
    green = custom_tlp("green")
    objs = [indicator(object_marking_refs=[green["id"]]) for _ in range(3)]
    status = await post(http, base_url, world.collection_id, world.alice.contributor, *objs,
                        green)
    assert status["success_count"] == 4 and status["pending_count"] == 0, status
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                  f"{objs[0]['id']}/"), world.bob.reader)
    assert body["objects"][0]["object_marking_refs"][-1] == TLP_GREEN


async def test_an_object_whose_definition_comes_in_a_later_envelope_waits_pending(
    http, base_url, world
):
    """Pending, served to nobody (not even at the collection default), until its definition
    arrives; then released at the level the definition declares."""
    strict = custom_tlp("amber+strict")
    # Not a documentation address: those are warninglisted, a success with a message.
    obj = indicator("93.184.216.10", object_marking_refs=[strict["id"]])
    first = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert first["status"] == "pending" and first["pending_count"] == 1, first
    assert first["pendings"] == [{"id": obj["id"], "version": obj["modified"]}]
    assert first["success_count"] == first["failure_count"] == 0
    for key in (world.alice.reader, world.bob.reader):
        assert obj["id"] not in await _visible_ids(http, base_url, world.collection_id, key)
    second = await post(http, base_url, world.collection_id, world.alice.contributor, strict)
    assert second["success_count"] == 1, second
    _, settled, _ = await get_json(http, f"{base_url}/taxii2/root/status/{first['id']}/",
                                   world.alice.contributor)
    assert settled["status"] == "complete" and settled["pending_count"] == 0, settled
    assert settled["successes"] == [{"id": obj["id"], "version": obj["modified"]}]
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                  f"{obj['id']}/"), world.bob.reader)
    assert body["objects"][0]["object_marking_refs"] == [
        strict["id"], "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"]


async def test_a_pending_object_whose_definition_never_comes_is_refused(
    http, base_url, world, pool
):
    obj = indicator(object_marking_refs=[f"marking-definition--{uuid.uuid4()}"])
    first = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert first["pending_count"] == 1
    async with pool.acquire() as conn:  # the wait is 15 minutes: let it have passed
        await conn.execute("UPDATE pending_objects SET deadline = now() - interval '1 second'"
                           " WHERE status_id = $1", uuid.UUID(first["id"]))
    _, settled, _ = await get_json(http, f"{base_url}/taxii2/root/status/{first['id']}/",
                                   world.alice.contributor)
    assert settled["failure_count"] == 1 and settled["pending_count"] == 0, settled
    assert "did not arrive" in settled["failures"][0]["message"]
    assert obj["id"] not in await _visible_ids(http, base_url, world.collection_id,
                                               world.alice.reader)


async def test_objects_naming_a_refused_definition_are_refused(http, base_url, world):
    bogus = custom_tlp("red")
    bogus["extensions"][TLP2_EXT]["tlp_2_0"] = "ultraviolet"
    obj = indicator(object_marking_refs=[bogus["id"]])
    status = await post(http, base_url, world.collection_id, world.alice.contributor, obj,
                        bogus)
    assert status["failure_count"] == 2 and status["success_count"] == 0, status
    assert await _visible_ids(http, base_url, world.collection_id, world.alice.reader) == []


async def test_created_by_ref_names_any_author_but_reserved_identities(http, base_url, world):
    mitre = indicator(created_by_ref=MITRE)
    status = await post(http, base_url, world.collection_id, world.alice.contributor, mitre)
    assert status["success_count"] == 1, status
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                  f"{mitre['id']}/"), world.bob.reader)
    assert body["objects"] == [as_served(mitre)]
    forged = indicator(created_by_ref=world.bob.identity_id)
    status = await post(http, base_url, world.collection_id, world.alice.contributor, forged)
    assert status["failure_count"] == 1 and "created_by_ref" in status["failures"][0]["message"]


async def test_readers_see_the_producer_of_every_object_in_the_manifest(
    http, base_url, world, pool
):
    credited = indicator(created_by_ref=MITRE)
    withheld = indicator(extensions={ACCORD_EXTENSION_ID: {
        "extension_type": "property-extension", "attribution": "withheld"}})
    await post(http, base_url, world.collection_id, world.alice.contributor, credited, withheld)
    await release_withheld(pool)
    _, manifest, _ = await get_json(
        http, f"{base_url}/taxii2/root/collections/{world.collection_id}/manifest/",
        world.bob.reader)
    by_id = {r["id"]: r for r in manifest["objects"]}
    assert by_id[credited["id"]]["x_accord_producer"] == world.alice.name
    assert by_id[credited["id"]]["x_accord_producer_ref"] == world.alice.identity_id
    assert by_id[withheld["id"]]["x_accord_producer"] == "withheld"
    assert "x_accord_producer_ref" not in by_id[withheld["id"]]
    assert world.alice.name not in orjson.dumps(by_id[withheld["id"]]).decode()


async def test_the_identities_served_objects_point_at_are_served(http, base_url, world, pool):
    own = indicator(created_by_ref=world.alice.identity_id)
    withheld = indicator(extensions={ACCORD_EXTENSION_ID: {
        "extension_type": "property-extension", "attribution": "withheld"}})
    status = await post(http, base_url, world.collection_id, world.alice.contributor, own,
                        withheld)
    assert status["success_count"] == 2 and status["total_count"] == 2, status
    await release_withheld(pool)
    async with http.get(f"{base_url}/api/v1/groups/{world.group_id}",
                        headers=auth(world.bob.reader)) as resp:
        group_identity = orjson.loads(await resp.read())["identity_id"]
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id),
                                world.bob.reader)
    served = {o["id"]: o for o in body["objects"]}
    for obj in served.values():
        stix2.parse(obj, allow_custom=True)
    assert served[withheld["id"]]["created_by_ref"] == group_identity
    for ref in (world.alice.identity_id, group_identity):
        assert served[ref]["type"] == "identity"
    assert world.alice.name not in orjson.dumps(served[group_identity]).decode()


async def test_a_pending_object_of_a_poster_who_left_the_group_is_refused(
    http, base_url, world, pool
):
    from server.store.groups import remove_member

    green = custom_tlp("green")
    obj = indicator(object_marking_refs=[green["id"]])
    first = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert first["pending_count"] == 1
    async with pool.acquire() as conn:
        await remove_member(conn, world.group_id, world.alice.org_id)
    status = await post(http, base_url, world.collection_id, world.bob.contributor, green)
    assert status["success_count"] == 1, status
    _, settled, _ = await get_json(http, f"{base_url}/taxii2/root/status/{first['id']}/",
                                   world.alice.contributor)
    assert settled["failure_count"] == 1 and "left" in settled["failures"][0]["message"]
    assert obj["id"] not in await _visible_ids(http, base_url, world.collection_id,
                                               world.bob.reader)


async def test_a_duplicate_of_a_stored_definition_refuses_nothing(http, base_url, world):
    copyright_ = statement_marking()
    first = indicator(object_marking_refs=[copyright_["id"]])
    await post(http, base_url, world.collection_id, world.alice.contributor, first, copyright_)
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                  f"{copyright_['id']}/"), world.bob.reader)
    [served] = body["objects"]
    second = indicator(object_marking_refs=[copyright_["id"]])
    status = await post(http, base_url, world.collection_id, world.bob.contributor, second,
                        served)
    assert status["success_count"] == 2 and status["failure_count"] == 0, status


async def test_an_identical_unmarked_copy_of_a_members_object_is_a_duplicate(
    http, base_url, world
):
    """TAXII 2.1 s5.5: Bob posts, unmarked, the same bytes Alice posted unmarked; what is
    stored carries the default TLP added at ingest, and his copy is that object, so it is a
    success that stores nothing, not a refusal of Alice's line."""
    author = {"type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.uuid4()}",
              "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
              "name": "An author both members import", "identity_class": "organization"}
    first = await post(http, base_url, world.collection_id, world.alice.contributor, author)
    assert first["success_count"] == 1, first
    again = await post(http, base_url, world.collection_id, world.bob.contributor, author)
    assert again["success_count"] == 1 and again["failure_count"] == 0, again
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                  f"{author['id']}/"), world.carol.reader,
                                **{"match[version]": "all"})
    assert len(body["objects"]) == 1
    changed = {**author, "name": "Someone else's edit"}
    refused = await post(http, base_url, world.collection_id, world.bob.contributor, changed)
    assert refused["failure_count"] == 1, refused  # a different body is still Alice's line


async def test_concurrent_envelopes_of_objects_and_their_definition_all_complete(
    http, base_url, world
):
    """A tool posts chunks over several connections: the objects naming a definition and
    the definition, in two envelopes posted at once, every round. Whichever commits second
    sees the other's rows, so no object is left pending on a stored definition."""
    for _ in range(20):
        strict = custom_tlp("amber+strict")
        objs = [indicator(f"198.51.100.{n}", object_marking_refs=[strict["id"]])
                for n in range(1, 6)]
        held, defined = await asyncio.gather(
            post(http, base_url, world.collection_id, world.alice.contributor, *objs),
            post(http, base_url, world.collection_id, world.alice.contributor, strict,
                 indicator("203.0.113.5")),
        )
        assert defined["success_count"] == 2, defined
        # Both posts have answered, so both transactions have committed: a short poll.
        for _ in range(5):
            _, settled, _ = await get_json(
                http, f"{base_url}/taxii2/root/status/{held['id']}/", world.alice.contributor)
            if settled["status"] == "complete":
                break
            await asyncio.sleep(0.1)
        assert settled["status"] == "complete", settled
        assert sorted(e["id"] for e in settled["successes"]) == sorted(o["id"] for o in objs)
        assert settled["failure_count"] == settled["pending_count"] == 0, settled
