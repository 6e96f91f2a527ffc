"""Nothing of a hidden object shows through any read endpoint, for each sharing rule.

For each rule an entitled and a non-entitled member read every endpoint; the hidden
version must not appear in bodies (id, version), manifests, version lists, or the
X-TAXII-Date-Added headers.
"""

from __future__ import annotations

import uuid

import orjson

from schemas.accord_extension import ACCORD_EXTENSION_ID
from server.store.groups import remove_member
from tests.helpers import (
    TLP_GREEN,
    TLP_RED,
    auth,
    indicator,
    objects_url,
    post,
    release_withheld,
    revoke_and_hear,
)


def terms(**values: object) -> dict:
    return {"extensions": {ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                                                 **values}}}


async def _read_everything(http, base_url, collection_id, key, stix_id: str) -> dict:
    """Every read endpoint's raw answer for one reader."""
    coll = f"{base_url}/taxii2/root/collections/{collection_id}"
    urls = {
        "objects": (f"{coll}/objects/", {"match[version]": "all"}),
        "objects_last": (f"{coll}/objects/", {}),
        "object": (f"{coll}/objects/{stix_id}/", {"match[version]": "all"}),
        "object_last": (f"{coll}/objects/{stix_id}/", {}),
        "versions": (f"{coll}/objects/{stix_id}/versions/", {}),
        "manifest": (f"{coll}/manifest/", {"match[version]": "all"}),
        "collection": (f"{coll}/", {}),
        "collections": (f"{base_url}/taxii2/root/collections/", {}),
    }
    answers = {}
    for name, (url, params) in urls.items():
        async with http.get(url, headers=auth(key), params=params) as resp:
            answers[name] = (resp.status, await resp.read(), dict(resp.headers))
    return answers


def _assert_nothing_of(answers: dict, hidden_version: str, *, hidden_id: str | None = None):
    for name, (_status, raw, headers) in answers.items():
        text = raw.decode()
        assert hidden_version not in text, f"{name} shows the hidden version"
        if hidden_id:
            assert hidden_id not in text, f"{name} shows the hidden id"
        for header in ("X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last"):
            if header in headers:
                assert headers[header] != hidden_version, name


async def _date_added(http, base_url, collection_id, key, stix_id) -> set[str]:
    async with http.get(f"{base_url}/taxii2/root/collections/{collection_id}/manifest/",
                        headers=auth(key),
                        params={"match[id]": stix_id, "match[version]": "all"}) as resp:
        body = orjson.loads(await resp.read())
    return {r["date_added"] for r in body.get("objects", [])}


async def _check_rule(http, base_url, world, hidden: dict, entitled, excluded) -> None:
    visible = indicator("192.0.2.1")
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        visible, hidden)
    assert status["success_count"] == 2, status
    stamps = await _date_added(http, base_url, world.collection_id, entitled, hidden["id"])
    assert stamps, "the entitled reader must see the hidden object"
    seen = await _read_everything(http, base_url, world.collection_id, entitled, hidden["id"])
    assert hidden["id"].encode() in seen["objects"][1]
    blind = await _read_everything(http, base_url, world.collection_id, excluded, hidden["id"])
    _assert_nothing_of(blind, hidden["modified"], hidden_id=hidden["id"])
    for stamp in stamps:
        _assert_nothing_of(blind, stamp)
    assert blind["object"][0] == blind["versions"][0] == 404
    assert visible["id"].encode() in blind["objects"][1]


async def test_sector_limited_object_hidden_from_other_sectors(http, base_url, world):
    # bob is a government member; carol a private one (alice, the producer, sees its own).
    carol = world.carol
    hidden = indicator("203.0.113.50", modified="2026-03-03T03:03:03.333Z",
                       **terms(releasable_to_sectors=["government"]))
    await _check_rule(http, base_url, world, hidden, world.bob.reader, carol.reader)


async def test_red_hidden_from_non_recipients(http, base_url, world):
    carol = world.carol
    hidden = indicator("203.0.113.51", modified="2026-03-03T03:03:04.444Z",
                       object_marking_refs=[TLP_RED],
                       **terms(recipients=[world.bob.identity_id]))
    await _check_rule(http, base_url, world, hidden, world.bob.reader, carol.reader)


async def test_later_red_version_does_not_show_through_an_earlier_green_one(
    http, base_url, world
):
    carol = world.carol
    stix_id = f"indicator--{uuid.uuid4()}"
    v1 = indicator(stix_id=stix_id, modified="2026-01-01T00:00:00.000Z",
                   object_marking_refs=[TLP_GREEN])
    v2 = indicator(stix_id=stix_id, modified="2026-02-02T02:02:02.222Z",
                   object_marking_refs=[TLP_RED], **terms(recipients=[world.bob.identity_id]))
    await post(http, base_url, world.collection_id, world.alice.contributor, v1, v2)
    blind = await _read_everything(http, base_url, world.collection_id, carol.reader, stix_id)
    _assert_nothing_of(blind, v2["modified"])
    for stamp in await _date_added(http, base_url, world.collection_id, world.bob.reader,
                                   stix_id):
        if stamp not in await _date_added(http, base_url, world.collection_id, carol.reader,
                                          stix_id):
            _assert_nothing_of(blind, stamp)
    assert orjson.loads(blind["versions"][1])["versions"] == [v1["modified"]]
    last = orjson.loads(blind["object_last"][1])["objects"]
    assert [o["modified"] for o in last] == [v1["modified"]]
    seen = await _read_everything(http, base_url, world.collection_id, world.bob.reader,
                                  stix_id)
    assert [o["modified"] for o in orjson.loads(seen["object_last"][1])["objects"]] == [
        v2["modified"]]


async def test_removed_member_loses_everything_at_once(http, base_url, world, pool):
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    before = await _read_everything(http, base_url, world.collection_id, world.bob.reader,
                                    obj["id"])
    assert before["object"][0] == 200
    async with pool.acquire() as conn:
        assert await remove_member(conn, world.group_id, world.bob.org_id)
    after = await _read_everything(http, base_url, world.collection_id, world.bob.reader,
                                   obj["id"])
    _assert_nothing_of(after, obj["modified"], hidden_id=obj["id"])
    for name in ("objects", "object", "versions", "manifest", "collection"):
        assert after[name][0] == 404, name
    assert str(world.collection_id).encode() not in after["collections"][1]


async def test_removed_member_next_token_reads_nothing_more(http, base_url, world, pool):
    objs = [indicator(f"198.18.0.{i}") for i in range(6)]
    await post(http, base_url, world.collection_id, world.alice.contributor, *objs)
    url = objects_url(base_url, world.collection_id)
    async with http.get(url, headers=auth(world.bob.reader), params={"limit": "3"}) as resp:
        page = orjson.loads(await resp.read())
    assert page["more"]
    async with pool.acquire() as conn:
        await remove_member(conn, world.group_id, world.bob.org_id)
    async with http.get(url, headers=auth(world.bob.reader),
                        params={"limit": "3", "next": page["next"]}) as resp:
        assert resp.status == 404
        assert objs[-1]["id"].encode() not in await resp.read()


async def test_revoked_key_reads_nothing(http, base_url, world, server, pool):
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    await revoke_and_hear(pool, server.app, world.bob.reader.key.id)
    after = await _read_everything(http, base_url, world.collection_id, world.bob.reader,
                                   obj["id"])
    assert {status for status, _, _ in after.values()} == {401}
    _assert_nothing_of(after, obj["modified"], hidden_id=obj["id"])


async def test_withheld_attribution_names_only_the_group(http, base_url, world, pool):
    obj = indicator(created_by_ref=world.alice.identity_id, **terms(attribution="withheld"))
    status = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert status["success_count"] == 1, status
    await release_withheld(pool)
    for key in (world.bob.reader, world.alice.reader):
        answers = await _read_everything(http, base_url, world.collection_id, key, obj["id"])
        for name, (_, raw, _) in answers.items():
            assert world.alice.identity_id.encode() not in raw, name
            assert world.alice.name.encode() not in raw, name
        [served] = orjson.loads(answers["object"][1])["objects"]
        assert served["created_by_ref"] != world.alice.identity_id
        assert served["created_by_ref"].startswith("identity--")



async def test_non_member_sees_nothing_anywhere(http, base_url, world):
    obj = indicator()
    status = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    blind = await _read_everything(http, base_url, world.collection_id, world.mallory.reader,
                                   obj["id"])
    _assert_nothing_of(blind, obj["modified"], hidden_id=obj["id"])
    for name in ("objects", "object", "versions", "manifest", "collection"):
        assert blind[name][0] == 404, name
    assert str(world.collection_id).encode() not in blind["collections"][1]
    async with http.get(f"{base_url}/taxii2/root/status/{status['id']}/",
                        headers=auth(world.mallory.admin)) as resp:
        assert resp.status == 404
