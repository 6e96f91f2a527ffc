"""The submission policy over HTTP: ownership of versions, re-sharing, attribution, RED."""

from __future__ import annotations

import orjson

from schemas.accord_extension import ACCORD_EXTENSION_ID
from tests.helpers import TLP_GREEN, TLP_RED, auth, indicator, objects_url, post, release_withheld


async def _second_collection(factory, world):
    group = await factory.group(world.alice, world.bob)
    return await factory.collection(group)


async def test_only_the_producer_posts_new_versions(http, base_url, world):
    v1 = indicator(modified="2026-01-01T00:00:00.000Z")
    await post(http, base_url, world.collection_id, world.alice.contributor, v1)
    takeover = {**v1, "modified": "2026-02-01T00:00:00.000Z", "revoked": True}
    status = await post(http, base_url, world.collection_id, world.bob.contributor, takeover)
    assert status["failure_count"] == 1
    assert "first posted" in status["failures"][0]["message"]
    own = {**v1, "modified": "2026-02-01T00:00:00.000Z", "revoked": True}
    status = await post(http, base_url, world.collection_id, world.alice.contributor, own)
    assert status["success_count"] == 1


async def test_identical_green_version_may_be_reshared_into_another_group(
    http, base_url, world, factory
):
    other = await _second_collection(factory, world)
    green = indicator(object_marking_refs=[TLP_GREEN], created_by_ref=world.alice.identity_id)
    await post(http, base_url, world.collection_id, world.alice.contributor, green)
    async with http.get(objects_url(base_url, world.collection_id, f"{green['id']}/"),
                        headers=auth(world.bob.reader)) as resp:
        [served] = orjson.loads(await resp.read())["objects"]
    status = await post(http, base_url, other, world.bob.contributor, served)
    assert status["success_count"] == 1, status
    async with http.get(objects_url(base_url, other, f"{green['id']}/"),
                        headers=auth(world.bob.reader)) as resp:
        assert orjson.loads(await resp.read())["objects"] == [served]


async def test_amber_objects_never_leave_their_group(http, base_url, world, factory):
    other = await _second_collection(factory, world)
    amber = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, amber)
    async with http.get(objects_url(base_url, world.collection_id, f"{amber['id']}/"),
                        headers=auth(world.bob.reader)) as resp:
        [served] = orjson.loads(await resp.read())["objects"]
    status = await post(http, base_url, other, world.bob.contributor, served)
    assert status["failure_count"] == 1
    assert "re-shared" in status["failures"][0]["message"]
    async with http.get(objects_url(base_url, other), headers=auth(world.alice.reader)) as r:
        assert "objects" not in orjson.loads(await r.read())


async def test_another_members_exact_duplicate_is_a_success_that_stores_nothing(
    http, base_url, world
):
    """TAXII 2.1 s5.5: an exact duplicate is no error, even of an AMBER object one did not
    produce and that names its producer; it is stored once and stays its producer's."""
    amber = indicator(created_by_ref=world.alice.identity_id)
    await post(http, base_url, world.collection_id, world.alice.contributor, amber)
    url = objects_url(base_url, world.collection_id, f"{amber['id']}/")
    async with http.get(url, headers=auth(world.bob.reader)) as resp:
        [served] = orjson.loads(await resp.read())["objects"]
    status = await post(http, base_url, world.collection_id, world.bob.contributor, served)
    assert status["success_count"] == 1 and status["failure_count"] == 0, status
    async with http.get(url, headers=auth(world.bob.reader),
                        params={"match[version]": "all"}) as resp:
        assert orjson.loads(await resp.read())["objects"] == [served]
    # Not identical: the version still belongs to alice.
    changed = {**served, "name": "bob's idea"}
    status = await post(http, base_url, world.collection_id, world.bob.contributor, changed)
    assert status["failure_count"] == 1 and "first posted" in status["failures"][0]["message"]


async def test_no_member_publishes_an_identity_or_definition_it_does_not_own(
    http, base_url, world
):
    """Identity ids of organisations and groups, and the platform's reference objects, are
    reserved platform-wide: an impostor's identity object is refused."""
    async with http.get(f"{base_url}/api/v1/groups/{world.group_id}",
                        headers=auth(world.bob.reader)) as resp:
        group_identity = orjson.loads(await resp.read())["identity_id"]

    def identity(stix_id: str, name: str) -> dict:
        return {"type": "identity", "spec_version": "2.1", "id": stix_id, "name": name,
                "identity_class": "organization", "created": "2026-01-01T00:00:00.000Z",
                "modified": "2026-06-01T00:00:00.000Z"}

    forged = [identity(world.alice.identity_id, "Not Alice"),
              identity(group_identity, "Not the group"),
              {"type": "extension-definition", "spec_version": "2.1",
               "id": ACCORD_EXTENSION_ID, "created_by_ref": world.bob.identity_id,
               "created": "2026-01-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
               "name": "fake terms", "schema": "https://example.org/", "version": "9",
               "extension_types": ["property-extension"]}]
    status = await post(http, base_url, world.collection_id, world.bob.contributor, *forged)
    assert status["failure_count"] == 3, status
    assert all("reserved" in f["message"] for f in status["failures"]), [
        f["message"] for f in status["failures"]]
    own = await post(http, base_url, world.collection_id, world.alice.contributor,
                     identity(world.alice.identity_id, "Alice, as she says"))
    assert own["success_count"] == 1, own


async def test_created_by_ref_of_another_member_is_refused(http, base_url, world):
    forged = indicator(created_by_ref=world.bob.identity_id)
    status = await post(http, base_url, world.collection_id, world.alice.contributor, forged)
    assert status["failure_count"] == 1
    assert "created_by_ref" in status["failures"][0]["message"]
    mine = indicator(created_by_ref=world.alice.identity_id)
    status = await post(http, base_url, world.collection_id, world.alice.contributor, mine)
    assert status["success_count"] == 1


async def test_red_needs_recipients(http, base_url, world):
    red = indicator(object_marking_refs=[TLP_RED])
    status = await post(http, base_url, world.collection_id, world.alice.contributor, red)
    assert status["failure_count"] == 1
    assert "recipients" in status["failures"][0]["message"]
    unknown = indicator(object_marking_refs=[TLP_RED], extensions={ACCORD_EXTENSION_ID: {
        "extension_type": "property-extension",
        "recipients": ["identity--00000000-0000-4000-8000-000000000000"]}})
    status = await post(http, base_url, world.collection_id, world.alice.contributor, unknown)
    assert status["failure_count"] == 1


async def test_refusals_are_audited(http, base_url, world, pool):
    from server.store import audit

    forged = indicator(created_by_ref=world.bob.identity_id)
    await post(http, base_url, world.collection_id, world.alice.contributor, forged)
    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.alice.org_id, action="object.refused")
    assert any(r["id"] == forged["id"] for e in entries for r in e.details["refused"])


async def test_confidential_groups_withhold_attribution_by_default(
    http, base_url, world, factory, pool
):
    from server.store.groups import set_group

    group = await factory.group(world.alice, world.bob)
    async with pool.acquire() as conn:
        await set_group(conn, group, {"confidential_roster": True})
    collection = await factory.collection(group)
    obj = indicator(created_by_ref=world.alice.identity_id)
    await post(http, base_url, collection, world.alice.contributor, obj)
    await release_withheld(pool)
    async with http.get(objects_url(base_url, collection, f"{obj['id']}/"),
                        headers=auth(world.bob.reader)) as resp:
        [served] = orjson.loads(await resp.read())["objects"]
    assert served["created_by_ref"] != world.alice.identity_id
    credited = indicator(created_by_ref=world.alice.identity_id, extensions={
        ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                              "attribution": "credited"}})
    await post(http, base_url, collection, world.alice.contributor, credited)
    async with http.get(objects_url(base_url, collection, f"{credited['id']}/"),
                        headers=auth(world.bob.reader)) as resp:
        [served] = orjson.loads(await resp.read())["objects"]
    assert served["created_by_ref"] == world.alice.identity_id
