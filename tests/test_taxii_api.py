"""TAXII 2.1 resources end to end over HTTP: success paths, filters, paging, headers."""

from __future__ import annotations

import uuid

import pytest

from schemas.accord_extension import ACCORD_EXTENSION_ID
from schemas.taxii import TAXII_MEDIA_TYPE
from server.store import audit
from tests.helpers import TLP_RED, as_served, auth, get_json, indicator, objects_url, post


async def test_discovery_lists_the_api_root(http, base_url, world):
    status, body, headers = await get_json(http, f"{base_url}/taxii2/", world.alice.reader)
    assert status == 200
    assert headers["Content-Type"] == TAXII_MEDIA_TYPE
    assert body["default"] == f"{base_url}/taxii2/root/"
    assert body["api_roots"] == [f"{base_url}/taxii2/root/", f"{base_url}/taxii2/feeds/"]


async def test_api_root_advertises_version_and_max_content_length(http, base_url, world, settings):
    status, body, _ = await get_json(http, f"{base_url}/taxii2/root/", world.alice.reader)
    assert status == 200
    assert body["versions"] == [TAXII_MEDIA_TYPE]
    assert body["max_content_length"] == settings.max_content_length


async def test_collections_show_caller_rights_and_hide_others(http, base_url, world):
    url = f"{base_url}/taxii2/root/collections/"
    _, as_reader, _ = await get_json(http, url, world.alice.reader)
    mine = [c for c in as_reader["collections"] if c["id"] == str(world.collection_id)]
    assert mine and mine[0]["can_read"] is True and mine[0]["can_write"] is False
    _, as_contributor, _ = await get_json(http, url, world.alice.contributor)
    mine = [c for c in as_contributor["collections"] if c["id"] == str(world.collection_id)]
    assert mine[0]["can_write"] is True
    _, as_outsider, _ = await get_json(http, url, world.mallory.admin)
    assert str(world.collection_id) not in {c["id"] for c in as_outsider["collections"]}


async def test_collection_hidden_from_outsider_exactly_like_unknown(http, base_url, world):
    hidden = f"{base_url}/taxii2/root/collections/{world.collection_id}/"
    unknown = f"{base_url}/taxii2/root/collections/{uuid.uuid4()}/"
    await _same_404(http, world.mallory.reader, hidden, unknown)
    status, body, _ = await get_json(http, hidden, world.alice.reader)
    assert status == 200 and body["id"] == str(world.collection_id)


async def test_post_then_read_back_byte_for_byte_equal_content(http, base_url, world):
    # Not a documentation address: those are warninglisted, a success with a message.
    obj = indicator("93.184.216.9", labels=["malicious-activity"])
    status = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert status["status"] == "complete"
    assert status["success_count"] == 1 and status["failure_count"] == 0
    assert status["successes"] == [{"id": obj["id"], "version": obj["modified"]}]
    code, body, headers = await get_json(
        http, objects_url(base_url, world.collection_id), world.bob.reader
    )
    assert code == 200
    assert body["objects"] == [as_served(obj)]
    assert body["more"] is False
    assert headers["X-TAXII-Date-Added-First"] == headers["X-TAXII-Date-Added-Last"]


async def _same_404(http, key, hidden: str, unknown: str) -> None:
    """Both URLs answer 404 with the same body (but its error id) and the same headers."""
    s1, b1, h1 = await get_json(http, hidden, key)
    s2, b2, h2 = await get_json(http, unknown, key)
    assert s1 == s2 == 404, (b1, b2)
    assert b1.pop("error_id") != b2.pop("error_id")
    assert b1 == b2
    assert set(h1) == set(h2)
    volatile = {"Date", "X-Request-ID"}
    assert {k: v for k, v in h1.items() if k not in volatile} == {
        k: v for k, v in h2.items() if k not in volatile}


async def test_status_readable_only_by_the_posting_organisation(http, base_url, world):
    status = await post(http, base_url, world.collection_id, world.alice.contributor, indicator())
    url = f"{base_url}/taxii2/root/status/{status['id']}/"
    code, body, _ = await get_json(http, url, world.alice.reader)
    assert code == 200 and body["id"] == status["id"] and body["total_count"] == 1
    await _same_404(http, world.bob.admin, url,
                    f"{base_url}/taxii2/root/status/{uuid.uuid4()}/")


async def test_status_is_gone_after_its_retention(http, base_url, world, pool, settings):
    status = await post(http, base_url, world.collection_id, world.alice.contributor, indicator())
    url = f"{base_url}/taxii2/root/status/{status['id']}/"
    # The clock is what is under test and the row's creation time is the only clock the
    # server reads; no API ages a status, so the test moves that time back by SQL.
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE statuses SET created = now() - $2 * interval '1 hour' + interval '1 minute'"
            " WHERE id = $1", uuid.UUID(status["id"]), settings.status_retention_hours)
        assert (await get_json(http, url, world.alice.reader))[0] == 200  # a minute to go
        await conn.execute("UPDATE statuses SET created = created - interval '2 minutes'"
                           " WHERE id = $1", uuid.UUID(status["id"]))
    await _same_404(http, world.alice.reader, url,
                    f"{base_url}/taxii2/root/status/{uuid.uuid4()}/")


@pytest.mark.parametrize("suffix", ["", "versions/"])
async def test_an_object_hidden_from_a_member_answers_exactly_like_an_unknown_one(
    http, base_url, world, suffix
):
    red = indicator(object_marking_refs=[TLP_RED], extensions={ACCORD_EXTENSION_ID: {
        "extension_type": "property-extension", "recipients": [world.bob.identity_id]}})
    status = await post(http, base_url, world.collection_id, world.alice.contributor, red)
    assert status["success_count"] == 1, status
    hidden = objects_url(base_url, world.collection_id, f"{red['id']}/{suffix}")
    assert (await get_json(http, hidden, world.bob.reader))[0] == 200
    unknown = objects_url(base_url, world.collection_id, f"indicator--{uuid.uuid4()}/{suffix}")
    await _same_404(http, world.carol.reader, hidden, unknown)


async def test_paging_with_next_returns_every_object_once(http, base_url, world):
    objs = [indicator(f"192.0.2.{i}") for i in range(25)]
    await post(http, base_url, world.collection_id, world.alice.contributor, *objs)
    seen, params, pages = [], {"limit": "10"}, 0
    while True:
        code, body, _ = await get_json(
            http, objects_url(base_url, world.collection_id), world.bob.reader, **params
        )
        assert code == 200
        pages += 1
        seen += [o["id"] for o in body.get("objects", [])]
        if not body["more"]:
            assert "next" not in body
            break
        params = {"limit": "10", "next": body["next"]}
    assert pages == 3
    assert seen == [o["id"] for o in objs]


async def test_added_after_and_date_added_headers(http, base_url, world):
    await post(http, base_url, world.collection_id, world.alice.contributor, indicator())
    url = objects_url(base_url, world.collection_id)
    _, _, headers = await get_json(http, url, world.alice.reader)
    last = headers["X-TAXII-Date-Added-Last"]
    second = indicator("192.0.2.200")
    await post(http, base_url, world.collection_id, world.alice.contributor, second)
    _, body, headers2 = await get_json(http, url, world.alice.reader, added_after=last)
    assert [o["id"] for o in body["objects"]] == [second["id"]]
    assert headers2["X-TAXII-Date-Added-First"] > last


async def test_match_filters(http, base_url, world):
    ind = indicator()
    ident = {
        "type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": "ACME", "identity_class": "organization",
    }
    await post(http, base_url, world.collection_id, world.alice.contributor, ind, ident)
    url = objects_url(base_url, world.collection_id)
    _, body, _ = await get_json(http, url, world.alice.reader, **{"match[type]": "identity"})
    assert [o["id"] for o in body["objects"]] == [ident["id"]]
    _, body, _ = await get_json(http, url, world.alice.reader, **{"match[id]": ind["id"]})
    assert [o["id"] for o in body["objects"]] == [ind["id"]]
    _, body, _ = await get_json(
        http, url, world.alice.reader, **{"match[type]": "indicator,identity"}
    )
    assert len(body["objects"]) == 2
    _, body, _ = await get_json(http, url, world.alice.reader, **{"match[spec_version]": "2.0"})
    assert "objects" not in body
    _, body, _ = await get_json(http, url, world.alice.reader, **{"match[spec_version]": "2.1"})
    assert len(body["objects"]) == 2


async def test_versions_first_last_all_and_timestamp(http, base_url, world):
    stix_id = f"indicator--{uuid.uuid4()}"
    v1 = indicator(stix_id=stix_id, modified="2026-01-01T00:00:00.000Z")
    v2 = indicator(stix_id=stix_id, modified="2026-02-01T00:00:00.000Z", name="v2")
    v3 = indicator(stix_id=stix_id, modified="2026-03-01T00:00:00.000Z", name="v3")
    await post(http, base_url, world.collection_id, world.alice.contributor, v2, v1, v3)
    url = objects_url(base_url, world.collection_id)

    async def versions(**params: str) -> list[str]:
        _, body, _ = await get_json(http, url, world.alice.reader, **params)
        return sorted(o["modified"] for o in body.get("objects", []))

    assert await versions() == [v3["modified"]]
    assert await versions(**{"match[version]": "first"}) == [v1["modified"]]
    assert await versions(**{"match[version]": "first,last"}) == [v1["modified"], v3["modified"]]
    assert len(await versions(**{"match[version]": "all"})) == 3
    assert await versions(**{"match[version]": v2["modified"]}) == [v2["modified"]]

    versions_url = objects_url(base_url, world.collection_id, f"{stix_id}/versions/")
    code, body, _ = await get_json(http, versions_url, world.bob.reader)
    assert code == 200 and sorted(body["versions"]) == [v["modified"] for v in (v1, v2, v3)]

    one = objects_url(base_url, world.collection_id, f"{stix_id}/")
    code, body, _ = await get_json(http, one, world.bob.reader)
    assert code == 200 and [o["modified"] for o in body["objects"]] == [v3["modified"]]
    code, body, _ = await get_json(http, one, world.bob.reader, **{"match[version]": "all"})
    assert len(body["objects"]) == 3


async def test_manifest_lists_visible_versions(http, base_url, world):
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    url = f"{base_url}/taxii2/root/collections/{world.collection_id}/manifest/"
    code, body, headers = await get_json(http, url, world.bob.reader)
    assert code == 200
    [record] = body["objects"]
    assert record["id"] == obj["id"] and record["version"] == obj["modified"]
    assert record["media_type"] == "application/stix+json;version=2.1"
    assert record["date_added"] == headers["X-TAXII-Date-Added-First"]
    code, _, _ = await get_json(http, url, world.mallory.reader)
    assert code == 404


async def test_exact_duplicate_is_success_and_stored_once(http, base_url, world):
    obj = indicator()
    first = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    again = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert first["success_count"] == again["success_count"] == 1
    _, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id), world.alice.reader,
        **{"match[version]": "all"},
    )
    assert [o["id"] for o in body["objects"]] == [obj["id"]]


async def test_identical_copies_in_one_envelope_are_each_accounted_for(
    http, base_url, world
):
    obj, sco = indicator(), {"type": "ipv4-addr", "spec_version": "2.1",
                             "id": f"ipv4-addr--{uuid.uuid4()}", "value": "192.0.2.9"}
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        obj, sco, obj, sco, obj)
    assert status["total_count"] == 5 and status["success_count"] == 5, status
    assert [s["id"] for s in status["successes"]].count(obj["id"]) == 3
    # A copy of a refused object is refused with it, never silently dropped.
    forged = indicator(created_by_ref=world.bob.identity_id)
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        forged, forged)
    assert status["total_count"] == 2 and status["failure_count"] == 2, status
    assert "identical to objects[0]" in status["failures"][1]["message"]


async def test_another_members_same_version_other_content_is_refused_and_audited(
    http, base_url, world, pool
):
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    changed = {**obj, "name": "something else"}
    status = await post(http, base_url, world.collection_id, world.bob.contributor, changed)
    assert status["failure_count"] == 1 and status["success_count"] == 0
    assert "first posted" in status["failures"][0]["message"]
    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.bob.org_id, action="object.refused")
    assert {"id": obj["id"], "reason": "owner"} in [
        r for e in entries for r in e.details["refused"]]
    _, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{obj['id']}/"), world.alice.reader
    )
    assert body["objects"] == [as_served(obj)]


async def test_a_producers_correction_replaces_and_reaches_added_after_pollers(
    http, base_url, world, pool
):
    """Publishers edit released objects without a new `modified` (ATT&CK does): the
    producer's same-version post replaces the stored content, audited, with a new
    date_added so that a poller holding the old date receives it."""
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    _, _, headers = await get_json(
        http, f"{base_url}/taxii2/root/collections/{world.collection_id}/manifest/",
        world.bob.reader)
    cursor = headers["X-TAXII-Date-Added-Last"]
    corrected = {**obj, "name": "corrected", "x_mitre_deprecated": True}
    status = await post(http, base_url, world.collection_id, world.alice.contributor, corrected)
    assert status["success_count"] == 1 and status["failure_count"] == 0, status
    _, body, _ = await get_json(http, objects_url(base_url, world.collection_id),
                                world.bob.reader, added_after=cursor)
    assert body["objects"] == [as_served(corrected)]
    _, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{obj['id']}/"), world.bob.reader,
        **{"match[version]": "all"})
    assert body["objects"] == [as_served(corrected)]
    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.alice.org_id, action="object.corrected")
    assert any(obj["id"] in e.details["ids"] for e in entries)


async def test_delete_only_by_producer_or_platform_admin(http, base_url, world):
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    url = objects_url(base_url, world.collection_id, f"{obj['id']}/")
    async with http.delete(url, headers=auth(world.bob.contributor)) as resp:
        assert resp.status == 403
    async with http.delete(url, headers=auth(world.mallory.contributor)) as resp:
        assert resp.status == 404
    async with http.delete(url, headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 200
    code, _, _ = await get_json(http, url, world.alice.reader)
    assert code == 404

    other = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, other)
    url = objects_url(base_url, world.collection_id, f"{other['id']}/")
    async with http.delete(url, headers=auth(world.platform)) as resp:
        assert resp.status == 200
    code, _, _ = await get_json(http, url, world.alice.reader)
    assert code == 404


async def test_delete_matched_versions_only(http, base_url, world):
    stix_id = f"indicator--{uuid.uuid4()}"
    v1 = indicator(stix_id=stix_id, modified="2026-01-01T00:00:00.000Z")
    v2 = indicator(stix_id=stix_id, modified="2026-02-01T00:00:00.000Z")
    await post(http, base_url, world.collection_id, world.alice.contributor, v1, v2)
    url = objects_url(base_url, world.collection_id, f"{stix_id}/")
    async with http.delete(url, headers=auth(world.alice.contributor),
                           params={"match[version]": "first"}) as resp:
        assert resp.status == 200
    _, body, _ = await get_json(http, url + "versions/", world.alice.reader)
    assert body["versions"] == [v2["modified"]]


async def test_unversioned_observable_is_stored_once(http, base_url, world):
    sco = {"type": "ipv4-addr", "spec_version": "2.1",
           "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"}
    await post(http, base_url, world.collection_id, world.alice.contributor, sco)
    again = await post(http, base_url, world.collection_id, world.alice.contributor, sco)
    assert again["success_count"] == 1
    url = f"{base_url}/taxii2/root/collections/{world.collection_id}/manifest/"
    _, body, _ = await get_json(http, url, world.alice.reader, **{"match[version]": "all"})
    [record] = body["objects"]
    assert record["version"] == record["date_added"]
