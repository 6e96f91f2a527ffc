"""Admin API: organisations and API keys."""

from __future__ import annotations

import uuid

from tests.admin.conftest import assert_error
from tests.helpers import auth, get_json


async def test_platform_admin_creates_and_lists_orgs(api, factory):
    platform = await factory.platform_key()
    name = f"CERT-{uuid.uuid4().hex[:6]}"
    made = await api("POST", "/orgs", platform, {"name": name, "sector": "government"})
    assert made.status == 201, made.body
    assert made.body["identity_id"].startswith("identity--")
    listed = await api("GET", "/orgs", platform)
    assert name in [o["name"] for o in listed.body["orgs"]]
    shown = await api("GET", f"/orgs/{made.body['id']}", platform)
    assert shown.status == 200 and shown.body["name"] == name
    again = await api("POST", "/orgs", platform, {"name": name, "sector": "private"})
    assert_error(again, 409, name)


async def test_org_create_refuses_bad_bodies(api, factory):
    platform = await factory.platform_key()
    assert_error(await api("POST", "/orgs", platform, data=b'{"name": "x", "sector": "gov',
                           headers={"Content-Type": "application/json"}), 400, "JSON")
    wrong = await api("POST", "/orgs", platform, {"name": "x", "sector": "mafia", "extra": 1})
    assert_error(wrong, 400)
    assert {tuple(e["loc"]) for e in wrong.body["details"]["errors"]} == {("sector",), ("extra",)}
    assert_error(await api("POST", "/orgs", platform, {"name": 5, "sector": "private"}), 400)
    twice = b'{"name": "x-twice", "sector": "private", "sector": "government"}'
    refused = await api("POST", "/orgs", platform, data=twice,
                        headers={"Content-Type": "application/json"})
    assert_error(refused, 400, "JSON")
    assert "'sector' occurs twice" in refused.body["details"]["reason"]
    listed = await api("GET", "/orgs", platform)
    assert "x-twice" not in {o["name"] for o in listed.body["orgs"]}
    assert_error(await api("POST", "/orgs", platform, data=b"name=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}),
                 415, "application/json")
    huge = b'{"name": "' + b"x" * 70_000 + b'", "sector": "private"}'
    assert_error(await api("POST", "/orgs", platform, data=huge,
                           headers={"Content-Type": "application/json"}), 413)


async def test_orgs_need_a_key_and_the_right_role(api, world):
    assert_error(await api("GET", "/orgs"), 401)
    assert_error(await api("POST", "/orgs", None, {"name": "x", "sector": "private"}), 401)
    refused = await api("POST", "/orgs", world.alice.admin, {"name": "x", "sector": "private"})
    assert_error(refused, 403, "platform-admin")
    assert refused.body["details"]["needed_role"] == "platform-admin"
    # Others see only their own organisation; another one is as unknown as a made-up id.
    listed = await api("GET", "/orgs", world.alice.reader)
    assert [o["id"] for o in listed.body["orgs"]] == [str(world.alice.org_id)]
    assert (await api("GET", f"/orgs/{world.alice.org_id}", world.alice.reader)).status == 200
    other = await api("GET", f"/orgs/{world.bob.org_id}", world.alice.admin)
    unknown = await api("GET", f"/orgs/{uuid.uuid4()}", world.alice.admin)
    assert_error(other, 404)
    assert_error(unknown, 404)
    assert other.body["description"] == unknown.body["description"]
    assert_error(await api("GET", "/orgs/not-a-uuid", world.platform), 404)


async def test_org_admin_manages_its_keys(api, world, http, base_url):
    alice = world.alice
    made = await api("POST", f"/orgs/{alice.org_id}/keys", alice.admin,
                     {"role": "contributor", "default_tlp": "green"})
    assert made.status == 201, made.body
    token, key_id = made.body["token"], made.body["id"]
    assert token.startswith(key_id + ".") and made.body["default_tlp"] == "green"
    listed = await api("GET", f"/orgs/{alice.org_id}/keys", alice.admin)
    row = next(k for k in listed.body["keys"] if k["id"] == key_id)
    assert "token" not in row and row["role"] == "contributor" and row["revoked_at"] is None
    assert {"created", "last_used", "default_attribution"} <= set(row)
    # The new key works, and stops working the moment it is revoked.
    url = f"{base_url}/taxii2/root/collections/"
    headers = {**auth(alice.reader), "Authorization": f"Bearer {token}"}
    async with http.get(url, headers=headers) as resp:
        assert resp.status == 200
    revoked = await api("DELETE", f"/orgs/{alice.org_id}/keys/{key_id}", alice.admin)
    assert revoked.status == 200 and revoked.body["revoked_at"]
    async with http.get(url, headers=headers) as resp:
        assert resp.status == 401
    assert (await get_json(http, url, alice.reader))[0] == 200


async def test_key_routes_enforce_roles(api, world):
    alice, bob = world.alice, world.bob
    path = f"/orgs/{alice.org_id}/keys"
    assert_error(await api("GET", path), 401)
    assert_error(await api("POST", path, None, {"role": "reader"}), 401)
    assert_error(await api("DELETE", f"{path}/{alice.reader.key.id}"), 401)
    for call in (api("GET", path, alice.contributor),
                 api("POST", path, alice.reader, {"role": "reader"}),
                 api("DELETE", f"{path}/{alice.reader.key.id}", alice.contributor)):
        refused = await call
        assert_error(refused, 403, "org-admin", alice.name, "platform-admin")
    refused = await api("POST", path, alice.admin, {"role": "platform-admin"})
    assert_error(refused, 403, "platform-admin")
    # Another organisation's admin: not found, exactly like an unknown organisation.
    assert_error(await api("GET", path, bob.admin), 404)
    assert_error(await api("GET", f"/orgs/{uuid.uuid4()}/keys", world.platform), 404)
    # A key of another organisation cannot be revoked through this one's path.
    assert_error(await api("DELETE", f"{path}/{bob.reader.key.id}", alice.admin), 404)
    assert_error(await api("DELETE", f"{path}/ak_nope", alice.admin), 404)
    # The platform admin may do all of it.
    assert (await api("GET", path, world.platform)).status == 200
    made = await api("POST", path, world.platform, {"role": "org-admin"})
    assert made.status == 201
    assert_error(await api("POST", path, alice.admin, {"role": "root"}), 400)
    assert_error(await api("POST", path, alice.admin, data=b"role=reader",
                           headers={"Content-Type": "text/plain"}), 415)
