"""Admin API: trust groups, policy, managers, members, invitations, leaving."""

from __future__ import annotations

import uuid

import orjson

from tests.admin.conftest import assert_error
from tests.helpers import auth, indicator, objects_url, post


async def test_create_and_describe_a_group_with_policy(api, factory):
    cert = await factory.member("cert", "government")
    policy = {"default_tlp": "green", "default_attribution": "withheld", "allow_anonymous": True,
              "allowed_sectors": ["government", "private"], "confidential_roster": True,
              "retention_days": 400, "privacy_policy": "hold"}
    made = await api("POST", "/groups", cert.admin,
                     {"name": f"g-{uuid.uuid4().hex[:6]}", "description": "d", "policy": policy})
    assert made.status == 201, made.body
    assert made.body["policy"] == {**policy, "privacy_policy_set": True,
                                   "privacy_reviewers": [], "victim_ranges": [],
                                   "warninglist_policy": "warn", "half_lives": {}}
    assert made.body["is_manager"] and [m["name"] for m in made.body["managers"]] == [cert.name]
    listed = await api("GET", "/groups", cert.reader)
    assert made.body["id"] in [g["id"] for g in listed.body["groups"]]
    changed = await api("PATCH", f"/groups/{made.body['id']}", cert.admin,
                        {"policy": {"default_tlp": "amber+strict", "allowed_sectors": []}})
    assert changed.status == 200, changed.body
    assert changed.body["policy"]["default_tlp"] == "amber+strict"
    assert changed.body["policy"]["allowed_sectors"] is None
    assert changed.body["policy"]["default_attribution"] == "withheld"


async def test_group_routes_refuse_strangers_and_wrong_roles(api, club):
    gid = club.group_id
    for method, path in (("GET", f"/groups/{gid}"), ("GET", f"/groups/{gid}/members"),
                         ("GET", f"/groups/{gid}/collections"),
                         ("GET", f"/groups/{gid}/invitations")):
        assert_error(await api(method, path), 401)
        stranger = await api(method, path, club.carol.admin)
        unknown = await api(method, path.replace(str(gid), str(uuid.uuid4())), club.carol.admin)
        assert_error(stranger, 404)
        assert_error(unknown, 404)
        assert stranger.body["description"] == unknown.body["description"]
    for method, path, body in (("PATCH", f"/groups/{gid}", {"description": "x"}),
                               ("POST", f"/groups/{gid}/managers", {"org": str(club.bob.org_id)}),
                               ("POST", f"/groups/{gid}/invitations", {"org": club.carol.name}),
                               ("POST", f"/groups/{gid}/collections", {"title": "t"})):
        assert_error(await api(method, path, None, body), 401)
        assert_error(await api(method, path, club.carol.admin, body), 404)
        # A plain member's admin, and a manager organisation's reader: 403 naming the role.
        for key in (club.bob.admin, club.alice.reader):
            refused = await api(method, path, key, body)
            assert_error(refused, 403, "org-admin", "manager", "platform-admin")
            assert refused.body["details"]["needed_role"] == "org-admin"
        assert_error(await api(method, path, club.alice.admin, {**body, "bogus": 1}), 400)
        assert_error(await api(method, path, club.alice.admin, data=b"{}",
                               headers={"Content-Type": "text/plain"}), 415)
        assert_error(await api(method, path, club.alice.admin, data=b"{,}",
                               headers={"Content-Type": "application/json"}), 400)
    assert_error(await api("POST", "/groups", club.bob.contributor, {"name": "x"}), 403,
                 "org-admin")
    assert_error(await api("POST", "/groups", club.bob.admin,
                           {"name": "x", "members": [str(club.carol.org_id)]}), 403,
                 "platform-admin")
    assert_error(await api("POST", "/groups", club.bob.admin, {"name": ""}), 400)
    assert_error(await api("POST", f"/groups/{gid}/members", club.alice.admin,
                           {"org": club.carol.name}), 403, "platform-admin")


async def test_confidential_roster_never_leaks_to_a_plain_member(api, club, factory):
    gid = club.group_id
    platform = await factory.platform_key()
    dave = await factory.member("dave", "private")
    await api("POST", f"/groups/{gid}/members", platform, {"org": dave.name})
    await api("PATCH", f"/groups/{gid}", club.alice.admin,
              {"policy": {"confidential_roster": True}})
    made = await api("POST", f"/groups/{gid}/collections", club.alice.admin, {"title": "c"})
    hidden = {club.alice.name, str(club.alice.org_id), dave.name, str(dave.org_id)}

    bob = club.bob
    seen = [await api("GET", f"/groups/{gid}", bob.admin),
            await api("GET", "/groups", bob.admin),
            await api("GET", f"/groups/{gid}/collections", bob.reader),
            await api("GET", f"/collections/{made.body['id']}", bob.reader),
            await api("GET", f"/groups/{gid}/invitations", bob.admin),
            await api("POST", f"/groups/{gid}/managers", bob.admin, {"org": dave.name}),
            await api("DELETE", f"/groups/{gid}/members/{dave.org_id}", bob.admin),
            await api("GET", "/audit", bob.admin)]
    detail = seen[0].body
    assert detail["members"] is None and detail["managers"] is None
    members = await api("GET", f"/groups/{gid}/members", bob.reader)
    assert members.status == 200 and members.body["complete"] is False
    assert [m["org_id"] for m in members.body["members"]] == [str(bob.org_id)]
    seen.append(members)
    for answer in seen:
        text = orjson.dumps(answer.body).decode()
        assert not any(h in text for h in hidden), (answer.status, text)
    # Managers and platform admins see it all.
    for key in (club.alice.reader, platform):
        full = await api("GET", f"/groups/{gid}/members", key)
        assert full.body["complete"] and len(full.body["members"]) == 3


async def test_removed_member_loses_access_at_once(api, club, http, base_url):
    gid = club.group_id
    made = await api("POST", f"/groups/{gid}/collections", club.alice.admin, {"title": "feed"})
    coll = made.body["id"]
    await post(http, base_url, coll, club.alice.contributor, indicator())
    url = objects_url(base_url, coll)
    async with http.get(url, headers=auth(club.bob.reader)) as resp:
        assert resp.status == 200
    assert_error(await api("DELETE", f"/groups/{gid}/members/{club.bob.org_id}"), 401)
    assert_error(await api("DELETE", f"/groups/{gid}/members/{club.bob.org_id}",
                           club.bob.admin), 403, "manager")
    removed = await api("DELETE", f"/groups/{gid}/members/{club.bob.org_id}", club.alice.admin)
    assert removed.status == 204
    async with http.get(url, headers=auth(club.bob.reader)) as resp:
        assert resp.status == 404
    assert_error(await api("GET", f"/groups/{gid}", club.bob.admin), 404)
    assert_error(await api("DELETE", f"/groups/{gid}/members/{club.bob.org_id}",
                           club.alice.admin), 404)


async def test_managers_and_leaving(api, club):
    gid = club.group_id
    alice, bob = club.alice, club.bob
    # The last manager may not leave a group that still has members.
    assert_error(await api("POST", f"/groups/{gid}/leave", alice.admin), 409, "manager")
    assert_error(await api("POST", f"/groups/{gid}/managers", alice.admin,
                           {"org": club.carol.name}), 409, "not a member")
    made = await api("POST", f"/groups/{gid}/managers", alice.admin, {"org": bob.name})
    assert made.status == 200 and made.body["is_manager"]
    assert_error(await api("POST", f"/groups/{gid}/leave"), 401)
    assert_error(await api("POST", f"/groups/{gid}/leave", alice.reader), 403, "org-admin")
    assert_error(await api("POST", f"/groups/{gid}/leave", club.carol.admin), 404)
    assert_error(await api("POST", f"/groups/{gid}/leave", alice.admin, {"why": "x"}), 400)
    assert_error(await api("POST", f"/groups/{gid}/leave", alice.admin, data=b"x",
                           headers={"Content-Type": "text/plain"}), 415)
    left = await api("POST", f"/groups/{gid}/leave", alice.admin)
    assert left.status == 204
    assert_error(await api("GET", f"/groups/{gid}", alice.reader), 404)
    assert (await api("GET", f"/groups/{gid}", bob.reader)).body["is_manager"]


async def test_invitation_flow(api, club, factory):
    gid, alice, carol = club.group_id, club.alice, club.carol
    await api("PATCH", f"/groups/{gid}", alice.admin,
              {"policy": {"allowed_sectors": ["private", "government"]}})
    academic = await factory.member("uni", "academic")
    # The inviter learns nothing of the invitee's sector: the invitation is sent as any
    # other, and the invitee (who knows its sector) is refused when it accepts.
    sent_academic = await api("POST", f"/groups/{gid}/invitations", alice.admin,
                              {"org": academic.name})
    assert sent_academic.status == 201 and "academic" not in str(sent_academic.body)
    refused = await api("POST", f"/invitations/{gid}/accept", academic.admin)
    assert_error(refused, 409, "sectors")
    assert refused.body["details"]["sector"] == "academic"
    assert (await api("POST", f"/invitations/{gid}/decline", academic.admin)).status == 200
    assert_error(await api("POST", f"/groups/{gid}/invitations", alice.admin,
                           {"org": "no-such-org"}), 404)
    assert_error(await api("POST", f"/groups/{gid}/invitations", alice.admin,
                           {"org": club.bob.name}), 409, "already a member")

    sent = await api("POST", f"/groups/{gid}/invitations", alice.admin, {"org": carol.name})
    assert sent.status == 201 and sent.body["state"] == "pending"
    assert "invited_by" not in sent.body
    assert_error(await api("POST", f"/groups/{gid}/invitations", alice.admin,
                           {"org": carol.name}), 409, "pending")
    assert_error(await api("GET", "/invitations"), 401)
    assert_error(await api("GET", "/invitations", carol.reader), 403, "org-admin", carol.name)
    pending = await api("GET", "/invitations", carol.admin)
    assert [i["group_id"] for i in pending.body["invitations"]] == [str(gid)]
    assert pending.body["invitations"][0]["policy"]["allowed_sectors"] == ["government",
                                                                           "private"]
    # Only the invited organisation's org-admin answers; others do not find it.
    assert_error(await api("POST", f"/invitations/{gid}/accept"), 401)
    assert_error(await api("POST", f"/invitations/{gid}/accept", carol.contributor), 403,
                 "org-admin")
    assert_error(await api("POST", f"/invitations/{gid}/accept", club.bob.admin), 404)
    assert_error(await api("POST", f"/invitations/{uuid.uuid4()}/accept", carol.admin), 404)
    assert_error(await api("POST", f"/invitations/{gid}/accept", carol.admin, {"x": 1}), 400)
    accepted = await api("POST", f"/invitations/{gid}/accept", carol.admin)
    assert accepted.status == 200 and accepted.body["state"] == "accepted"
    assert (await api("GET", f"/groups/{gid}", carol.reader)).body["is_member"]
    assert (await api("GET", "/invitations", carol.admin)).body["invitations"] == []
    assert_error(await api("POST", f"/invitations/{gid}/decline", carol.admin), 404)
    history = await api("GET", f"/groups/{gid}/invitations", alice.admin)
    assert [i["state"] for i in history.body["invitations"]] == ["declined", "accepted"]

    # Declining, and inviting again after a decline.
    erin = await factory.member("erin", "private")
    await api("POST", f"/groups/{gid}/invitations", alice.admin, {"org": str(erin.org_id)})
    declined = await api("POST", f"/invitations/{gid}/decline", erin.admin)
    assert declined.status == 200 and declined.body["state"] == "declined"
    assert_error(await api("GET", f"/groups/{gid}", erin.reader), 404)
    again = await api("POST", f"/groups/{gid}/invitations", alice.admin, {"org": erin.name})
    assert again.status == 201 and again.body["state"] == "pending"


async def test_rename_and_delete_an_empty_group_are_audited(api, factory):
    platform = await factory.platform_key()
    cert = await factory.member("cert", "government")
    bank = await factory.member("bank", "private")
    name, other = f"g-{uuid.uuid4().hex[:6]}", f"h-{uuid.uuid4().hex[:6]}"
    made = (await api("POST", "/groups", cert.admin, {"name": name})).body
    taken = (await api("POST", "/groups", cert.admin, {"name": other})).body
    gid = made["id"]
    assert_error(await api("PATCH", f"/groups/{gid}", cert.admin, {"name": other}), 409,
                 "already named")
    renamed = await api("PATCH", f"/groups/{gid}", cert.admin, {"name": name + "-new"})
    assert renamed.status == 200 and renamed.body["name"] == name + "-new"
    # The old name is free again; a plain member may neither rename nor delete.
    assert (await api("POST", "/groups", cert.admin, {"name": name})).status == 201
    await api("POST", f"/groups/{gid}/members", platform, {"org": bank.name})
    assert_error(await api("DELETE", f"/groups/{gid}", bank.admin), 403, "manager")
    assert_error(await api("PATCH", f"/groups/{gid}", bank.admin, {"name": "x"}), 403)
    await api("POST", f"/groups/{gid}/invitations", cert.admin,
              {"org": (await factory.member("telco", "private")).name})
    deleted = await api("DELETE", f"/groups/{gid}", cert.admin)
    assert deleted.status == 204, deleted.body
    assert_error(await api("GET", f"/groups/{gid}", cert.admin), 404)
    assert gid not in [g["id"] for g in (await api("GET", "/groups", bank.admin)).body["groups"]]
    audit = (await api("GET", "/audit", platform, params={"limit": "1000"})).body["entries"]
    mine = [(e["action"], e["details"]) for e in audit if e["subject"] == gid]
    assert ("group.renamed", {"group_name": name + "-new", "old_name": name}) in mine
    assert ("group.deleted", {"group_name": name + "-new"}) in mine
    assert taken["id"] != gid


async def test_a_group_with_collections_is_archived_with_them_not_deleted(api, club, factory):
    gid = club.group_id
    coll = (await api("POST", f"/groups/{gid}/collections", club.alice.admin,
                      {"title": "kept"})).body["id"]
    refused = await api("DELETE", f"/groups/{gid}", club.alice.admin)
    assert_error(refused, 409, "1 collection(s)", "--archive", "/archive")
    assert refused.body["details"]["collections"] == 1
    archived = await api("POST", f"/groups/{gid}/archive", club.alice.admin)
    assert archived.status == 200 and archived.body["archived"] is True
    info = (await api("GET", f"/groups/{gid}/collections", club.bob.reader)).body
    assert [c["archived"] for c in info["collections"] if c["id"] == coll] == [True]
    for method, path, body in (("POST", f"/groups/{gid}/collections", {"title": "new"}),
                               ("POST", f"/groups/{gid}/invitations", {"org": club.carol.name})):
        assert_error(await api(method, path, club.alice.admin, body), 409, "archived")
    # Archiving again changes nothing and records nothing new.
    assert (await api("POST", f"/groups/{gid}/archive", club.alice.admin)).status == 200
    platform = await factory.platform_key()
    audit = (await api("GET", "/audit", platform, params={"limit": "1000"})).body["entries"]
    entries = [e for e in audit if e["action"] == "group.archived" and e["subject"] == str(gid)]
    assert [e["details"]["collections_archived"] for e in entries] == [1]
