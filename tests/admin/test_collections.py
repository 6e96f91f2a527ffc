"""Admin API: the collections of a trust group."""

from __future__ import annotations

import uuid

import asyncpg
import orjson
import pytest

from tests.admin.conftest import assert_error
from tests.helpers import TLP_GREEN, auth, envelope, indicator, objects_url


async def test_collection_lifecycle(api, club, http, base_url):
    gid, alice = club.group_id, club.alice
    made = await api("POST", f"/groups/{gid}/collections", alice.admin,
                     {"title": "IOCs", "description": "d", "default_tlp": "green",
                      "allow_custom": False})
    assert made.status == 201, made.body
    cid = made.body["id"]
    assert made.body["default_tlp"] == "green" and made.body["default_attribution"] is None
    listed = await api("GET", f"/groups/{gid}/collections", club.bob.reader)
    assert [c["id"] for c in listed.body["collections"]] == [cid]
    changed = await api("PATCH", f"/collections/{cid}", alice.admin,
                        {"title": "IOCs 2", "default_tlp": None, "default_attribution": "withheld"})
    assert changed.status == 200, changed.body
    assert changed.body["title"] == "IOCs 2" and changed.body["default_tlp"] is None
    assert changed.body["default_attribution"] == "withheld"
    shown = await api("GET", f"/collections/{cid}", club.bob.reader)
    assert shown.body == changed.body
    archived = await api("POST", f"/collections/{cid}/archive", alice.admin)
    assert archived.status == 200 and archived.body["archived"]
    # Archived: still readable over TAXII, no more posts.
    async with http.get(f"{base_url}/taxii2/root/collections/{cid}/",
                        headers=auth(club.bob.reader)) as resp:
        assert resp.status == 200
        assert (await resp.json(content_type=None))["can_write"] is False
    async with http.post(objects_url(base_url, cid), data=envelope(indicator()),
                         headers=auth(alice.contributor)) as resp:
        assert resp.status in (403, 404)


async def test_collection_routes_refuse(api, club):
    made = await api("POST", f"/groups/{club.group_id}/collections", club.alice.admin,
                     {"title": "x"})
    cid = made.body["id"]
    for method, path, body in (("GET", f"/collections/{cid}", None),
                               ("PATCH", f"/collections/{cid}", {"title": "y"}),
                               ("POST", f"/collections/{cid}/archive", None)):
        assert_error(await api(method, path, None, body), 401)
        stranger = await api(method, path, club.carol.admin, body)
        unknown = await api(method, f"/collections/{uuid.uuid4()}" + path.split(cid)[1],
                            club.carol.admin, body)
        assert_error(stranger, 404)
        assert_error(unknown, 404)
        assert stranger.body["description"] == unknown.body["description"]
    for method, path, body in (("PATCH", f"/collections/{cid}", {"title": "y"}),
                               ("POST", f"/collections/{cid}/archive", None)):
        assert_error(await api(method, path, club.bob.admin, body), 403, "manager", "org-admin")
    assert_error(await api("PATCH", f"/collections/{cid}", club.alice.admin,
                           {"default_tlp": "purple"}), 400)
    assert_error(await api("PATCH", f"/collections/{cid}", club.alice.admin, data=b"[]",
                           headers={"Content-Type": "application/xml"}), 415)
    assert_error(await api("POST", f"/collections/{cid}/archive", club.alice.admin,
                           {"now": True}), 400)
    assert_error(await api("POST", f"/groups/{club.group_id}/collections", club.alice.admin,
                           {"title": ""}), 400)
    # The reference collection is the platform's; the admin API does not manage it.
    async with api.http.get(f"{api.base.rsplit('/api', 1)[0]}/taxii2/root/collections/",
                            headers=auth(club.alice.reader)) as resp:
        refs = [c["id"] for c in (await resp.json(content_type=None))["collections"]
                if c["title"] == "Accord reference"]
    for ref in refs:
        assert_error(await api("GET", f"/collections/{ref}", club.alice.admin), 404)


async def test_no_default_may_make_unmarked_posts_clear(api, club, pool):
    """DESIGN.md: an unmarked object takes a default TLP, never CLEAR."""
    gid, alice = club.group_id, club.alice
    made = await api("POST", f"/groups/{gid}/collections", alice.admin, {"title": "defaults"})
    cid = made.body["id"]
    refusals = [
        await api("POST", f"/groups/{gid}/collections", alice.admin,
                  {"title": "c", "default_tlp": "clear"}),
        await api("PATCH", f"/collections/{cid}", alice.admin, {"default_tlp": "clear"}),
        await api("PATCH", f"/groups/{gid}", alice.admin, {"policy": {"default_tlp": "clear"}}),
        await api("POST", "/groups", alice.admin,
                  {"name": f"g-{uuid.uuid4().hex[:6]}", "policy": {"default_tlp": "clear"}}),
        await api("POST", f"/orgs/{alice.org_id}/keys", alice.admin,
                  {"role": "reader", "default_tlp": "clear"}),
    ]
    for refused in refusals:
        assert_error(refused, 400)
        assert "never becomes TLP:CLEAR" in orjson.dumps(refused.body).decode()
    shown = await api("GET", f"/collections/{cid}", alice.admin)
    assert shown.body["default_tlp"] is None
    # The database holds the rule too, whatever writes to it.
    async with pool.acquire() as conn:
        for table, key in (("collections", cid), ("trust_groups", str(gid))):
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute(f"UPDATE {table} SET default_tlp = 'clear' WHERE id = $1",
                                   uuid.UUID(key))
    # Green is the least restrictive default there is.
    ok = await api("PATCH", f"/collections/{cid}", alice.admin, {"default_tlp": "green"})
    assert ok.status == 200 and ok.body["default_tlp"] == "green"


async def test_a_platform_admin_withdraws_an_object_and_restores_it(
    api, world, http, base_url, factory, pool
):
    from server.store import audit

    obj = indicator(object_marking_refs=[TLP_GREEN])
    async with http.post(objects_url(base_url, world.collection_id), data=envelope(obj),
                         headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 202
    platform = await factory.platform_key()
    path = f"/collections/{world.collection_id}/objects/{obj['id']}"

    async def seen_by(member) -> list[str]:
        async with http.get(objects_url(base_url, world.collection_id),
                            headers=auth(member.reader)) as resp:
            return [o["id"] for o in orjson.loads(await resp.read()).get("objects", [])]

    assert await seen_by(world.bob) == [obj["id"]]
    # Only a platform admin moderates; a group manager or the producer may not.
    assert_error(await api("POST", f"{path}/withdraw", world.alice.admin), 403)
    assert_error(await api("POST", f"{path}/withdraw"), 401)
    assert_error(await api("POST", f"/collections/{world.collection_id}/objects/"
                           f"indicator--{uuid.uuid4()}/withdraw", platform), 404)
    assert_error(await api("POST", f"/collections/{world.collection_id}/objects/nonsense/"
                           "withdraw", platform), 404)
    assert_error(await api("POST", f"/collections/{uuid.uuid4()}/objects/{obj['id']}/withdraw",
                           platform), 404)

    done = await api("POST", f"{path}/withdraw", platform)
    assert done.status == 200 and done.body["versions"] == 1 and done.body["withdrawn"]
    for member in (world.alice, world.bob):  # the producer too: served to nobody
        assert await seen_by(member) == []
    async with http.get(objects_url(base_url, world.collection_id, f"{obj['id']}/"),
                        headers=auth(world.bob.reader)) as resp:
        assert resp.status == 404
    async with http.get(f"{base_url}/taxii2/root/collections/{world.collection_id}/manifest/",
                        headers=auth(world.bob.reader)) as resp:
        assert "objects" not in orjson.loads(await resp.read())

    back = await api("POST", f"{path}/restore", platform)
    assert back.status == 200 and back.body["withdrawn"] is False
    assert await seen_by(world.bob) == [obj["id"]]
    async with pool.acquire() as conn:
        entries = [e for action in ("object.withdrawn", "object.restored")
                   for e in await audit.query(conn, action=action, limit=1000)
                   if e.subject == obj["id"]]
    assert [(e.action, e.details["versions"]) for e in entries] == [
        ("object.withdrawn", 1), ("object.restored", 1)]
