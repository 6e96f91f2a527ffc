"""The audit log: entries for every change, org-admins see their own, and it is append-only."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.admin.conftest import assert_error


async def _actions(api, key, **params) -> list[dict]:
    answer = await api("GET", "/audit", key, params={"limit": "1000", **params})
    assert answer.status == 200, answer.body
    return answer.body["entries"]


async def test_every_change_is_audited(api, club, factory):
    platform = await factory.platform_key()
    start = await _actions(api, platform)
    first = max((e["seq"] for e in start), default=0)
    gid, alice, carol = club.group_id, club.alice, club.carol
    org = await api("POST", "/orgs", platform, {"name": f"o-{uuid.uuid4().hex[:6]}",
                                                "sector": "private"})
    key = await api("POST", f"/orgs/{alice.org_id}/keys", alice.admin, {"role": "reader"})
    await api("DELETE", f"/orgs/{alice.org_id}/keys/{key.body['id']}", alice.admin)
    await api("PATCH", f"/groups/{gid}", alice.admin, {"policy": {"default_tlp": "green"}})
    await api("POST", f"/groups/{gid}/invitations", alice.admin, {"org": carol.name})
    await api("POST", f"/invitations/{gid}/accept", carol.admin)
    await api("POST", f"/groups/{gid}/managers", alice.admin, {"org": carol.name})
    coll = await api("POST", f"/groups/{gid}/collections", alice.admin, {"title": "t"})
    await api("PATCH", f"/collections/{coll.body['id']}", alice.admin, {"title": "u"})
    await api("POST", f"/collections/{coll.body['id']}/archive", alice.admin)
    await api("DELETE", f"/groups/{gid}/members/{club.bob.org_id}", alice.admin)
    await api("POST", f"/groups/{gid}/leave", carol.admin)
    dec = await factory.member("dec", "private")
    await api("POST", f"/groups/{gid}/invitations", alice.admin, {"org": dec.name})
    await api("POST", f"/invitations/{gid}/decline", dec.admin)

    entries = [e for e in await _actions(api, platform) if e["seq"] > first]
    actions = [e["action"] for e in entries]
    for action in ("org.created", "key.created", "key.revoked", "group.policy_changed",
                   "invitation.sent", "invitation.accepted", "group.member_added",
                   "group.manager_added", "collection.created", "collection.changed",
                   "collection.archived", "group.member_removed", "group.member_left",
                   "invitation.declined"):
        assert action in actions, action
    created = next(e for e in entries if e["action"] == "org.created")
    assert created["subject"] == org.body["id"]
    revoked = next(e for e in entries if e["action"] == "key.revoked")
    assert revoked["actor_org"] == str(alice.org_id)
    assert revoked["actor_key"] == alice.admin.key.id
    # Filters: by action, by organisation, by time, and paging with `after`.
    assert {e["action"] for e in await _actions(api, platform, action="key.revoked")
            } == {"key.revoked"}
    for e in await _actions(api, platform, org=str(carol.org_id)):
        assert str(carol.org_id) in (e["org_id"], e["actor_org"])
    assert await _actions(api, platform, since="2999-01-01T00:00:00Z") == []
    page = await api("GET", "/audit", platform, params={"limit": "2"})
    assert len(page.body["entries"]) == 2 and isinstance(page.body["next"], str)
    following = await api("GET", "/audit", platform, params={"after": page.body["next"],
                                                              "limit": "1"})
    assert following.body["entries"][0]["seq"] > page.body["entries"][1]["seq"]
    forged = page.body["next"][:-2] + ("AA" if page.body["next"][-2:] != "AA" else "BB")
    assert_error(await api("GET", "/audit", platform, params={"after": forged}), 400)
    assert_error(await api("GET", "/audit", platform, params={"after": "17"}), 400)
    assert_error(await api("GET", "/audit", platform, params={"since": "yesterday"}), 400)
    assert_error(await api("GET", "/audit", platform, params={"since": "2026-01-01T00:00:00"}),
                 400)
    assert_error(await api("GET", "/audit", platform, params={"limit": "0"}), 400)
    assert_error(await api("GET", "/audit", platform, params={"colour": "red"}), 400)


async def test_org_admin_sees_only_its_own_entries(api, club):
    alice, bob = club.alice, club.bob
    await api("POST", f"/orgs/{bob.org_id}/keys", bob.admin, {"role": "reader"})
    await api("POST", f"/orgs/{alice.org_id}/keys", alice.admin, {"role": "reader"})
    mine = await _actions(api, bob.admin)
    assert mine
    for e in mine:
        assert str(bob.org_id) in (e["org_id"], e["actor_org"])
        # Who acted is shown only when it was bob's own organisation.
        assert e["actor_org"] in (None, str(bob.org_id))
    # Bob was added by the platform admin: the entry is his, the actor hidden.
    added = next(e for e in mine if e["action"] == "group.member_added")
    assert added["actor_org"] is None and added["actor_key"] is None
    assert added["actor"] == "another organisation"
    assert {e["actor"] for e in mine if e["action"] == "key.created"} == {"your organisation"}
    assert_error(await api("GET", "/audit", bob.admin, params={"org": str(alice.org_id)}),
                 403, "platform-admin")
    assert_error(await api("GET", "/audit", bob.contributor), 403, "org-admin", bob.name)
    assert_error(await api("GET", "/audit"), 401)


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET action = 'forged'",
                                       "DELETE FROM audit_log", "TRUNCATE audit_log"])
async def test_audit_log_is_append_only(pool, club, statement):
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log") > 0
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute(statement)


async def test_an_org_admin_sees_no_log_positions_and_pages_with_opaque_tokens(api, club):
    bob = club.bob
    for _ in range(3):
        await api("POST", f"/orgs/{bob.org_id}/keys", bob.admin, {"role": "reader"})
    page = await api("GET", "/audit", bob.admin, params={"limit": "1"})
    assert page.status == 200, page.body
    # A position in the whole log would count other organisations' entries between its own.
    assert [e["seq"] for e in page.body["entries"]] == [None]
    token = page.body["next"]
    assert isinstance(token, str) and not token.isdigit()
    second = await api("GET", "/audit", bob.admin, params={"limit": "1", "after": token})
    assert second.status == 200 and second.body["entries"] != page.body["entries"]
