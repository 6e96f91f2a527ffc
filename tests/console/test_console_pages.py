"""Console pages over HTTP: preview as a member, the command-line invitation, share refusals."""

from __future__ import annotations

import re
import uuid

import aiohttp
import orjson

from schemas.accord_extension import ACCORD_EXTENSION_ID
from schemas.feeds import FeedFilter
from schemas.principal import Principal, Role, Sector
from server.console.invite import invite as invite_from_cli
from server.store import console, groups, orgs
from tests.console.conftest import accept
from tests.helpers import (
    TLP_AMBER,
    TLP_GREEN,
    TLP_RED,
    auth,
    indicator,
    objects_url,
    post,
    release_withheld,
)


def terms(**values: object) -> dict:
    return {"extensions": {ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                                                 **values}}}


def _rows(html: str) -> set[tuple[str, str, str]]:
    """(TLP, rule, count) of the preview table."""
    body = html.split('<table id="reach">', 1)[1].split("</table>", 1)[0]
    found = set()
    for row in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(\d+)</td></tr>", body):
        level = re.sub(r"<[^>]+>", "", row[0])
        found.add((level, re.sub(r"\s+", " ", row[1]).strip(), row[2]))
    return found


async def test_preview_as_a_member_counts_by_tlp_and_rule(world, people, http, base_url,
                                                          pool):
    a = world.alice.contributor
    posted = await post(http, base_url, world.collection_id, a,
               indicator("198.51.100.1", object_marking_refs=[TLP_GREEN]),
               indicator("198.51.100.2", object_marking_refs=[TLP_RED],
                         **terms(recipients=[world.bob.identity_id])),
               indicator("198.51.100.3", object_marking_refs=[TLP_RED],
                         **terms(recipients=[world.carol.identity_id])),
               indicator("198.51.100.4", object_marking_refs=[TLP_AMBER],
                         **terms(releasable_to_sectors=["private"])))
    assert posted["success_count"] == 4, posted
    await post(http, base_url, world.collection_id, world.bob.contributor,
               indicator("198.51.100.5", object_marking_refs=[TLP_GREEN]))
    async with pool.acquire() as conn:
        await groups.set_manager(conn, world.group_id, world.alice.org_id)
    manager = await people(world.alice.org_id)
    status, html, _ = await manager.post(f"/console/groups/{world.group_id}/preview",
                                         {"member": str(world.bob.org_id)},
                                         from_page=f"/console/groups/{world.group_id}")
    assert status == 200, html
    assert _rows(html) == {
        ("TLP:GREEN", "receives", "1"), ("TLP:RED", "receives", "1"),
        ("TLP:GREEN", "receives (its own posts)", "1"),
        ("TLP:RED", "RED not addressed to them", "1"),
        ("TLP:AMBER", "restricted to other sectors (private only)", "1"),
    }
    assert "198.51.100" not in html and "indicator--" not in html  # counts only
    # "receives" is what bob is served: the same number through TAXII.
    async with http.get(objects_url(base_url, world.collection_id),
                        headers=auth(world.bob.reader)) as resp:
        served = (await resp.json(content_type=None))["objects"]
    assert len(served) == 3
    assert "receives 3." in html


async def test_preview_is_for_managers_only(world, people):
    member = await people(world.bob.org_id)
    status, _, _ = await member.post(f"/console/groups/{world.group_id}/preview",
                                     {"member": str(world.alice.org_id)},
                                     from_page=f"/console/groups/{world.group_id}")
    assert status == 403
    outsider = await people(world.mallory.org_id)
    status, _, _ = await outsider.post(f"/console/groups/{world.group_id}/preview",
                                       {"member": str(world.alice.org_id)})
    assert status == 404


async def test_command_line_invitation_opens_an_account(world, database_url, base_url):
    token = await invite_from_cli(database_url, world.alice.name, "first@alice.example",
                                  "First Admin", "org-admin")
    http, _ = await accept(base_url, token, totp=False)
    async with http.get(f"{base_url}/console/admin") as resp:
        assert resp.status == 200 and "first@alice.example" in await resp.text()
    await http.close()


async def test_share_refuses_a_collection_outside_the_members_groups(world, people, factory):
    other = await factory.collection(await factory.group(world.mallory))
    alice = await people(world.alice.org_id, "contributor")
    _, html, _ = await alice.get("/console/share")
    assert str(world.collection_id) in html and str(other) not in html
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    for target, expected in ((other, 404), (world.collection_id, 200)):  # control: own works
        form = aiohttp.FormData()
        form.add_field("csrf", csrf)
        form.add_field("collection", str(target))
        form.add_field("file", b"203.0.113.50\n", filename="x.txt", content_type="text/plain")
        async with alice.http.post(alice.base + "/console/share", data=form) as resp:
            assert resp.status == expected, await resp.text()


async def test_object_page_shows_visible_related_objects_one_hop_out(world, people, http,
                                                                     base_url, factory):
    ind = indicator("198.51.100.21", object_marking_refs=[TLP_GREEN])
    malware = {"type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}",
               "created": ind["created"], "modified": ind["created"], "name": "Bad Worm",
               "is_family": True, "object_marking_refs": [TLP_GREEN]}
    rel = {"type": "relationship", "spec_version": "2.1",
           "id": f"relationship--{uuid.uuid4()}", "created": ind["created"],
           "modified": ind["created"], "relationship_type": "indicates",
           "source_ref": ind["id"], "target_ref": malware["id"],
           "object_marking_refs": [TLP_GREEN]}
    await post(http, base_url, world.collection_id, world.alice.contributor, ind, malware, rel)
    # Mallory, elsewhere, relates the same indicator to something: bob must not see it.
    elsewhere = await factory.collection(await factory.group(world.mallory))
    hidden = {**rel, "id": f"relationship--{uuid.uuid4()}", "relationship_type": "related-to"}
    await post(http, base_url, elsewhere, world.mallory.contributor, hidden)
    bob = await people(world.bob.org_id, "reader")
    _, page, _ = await bob.get(f"/console/objects/{ind['id']}")
    assert f"/console/objects/{rel['id']}" in page
    assert hidden["id"] not in page
    _, page, _ = await bob.get(f"/console/objects/{rel['id']}")
    assert f"/console/objects/{ind['id']}" in page and "Bad Worm" in page


async def _platform_org(pool) -> uuid.UUID:
    async with pool.acquire() as conn:
        return (await orgs.platform_org(conn)).id


async def test_platform_admin_withdraws_and_restores(world, people, http, base_url, pool):
    obj = indicator("198.51.100.31", object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    admin = await people(await _platform_org(pool), "platform-admin")
    bob = await people(world.bob.org_id, "reader")
    page = f"/console/objects/{obj['id']}"
    status, html, _ = await admin.get(page)
    assert status == 200 and "Withdraw from" in html
    assert (await bob.post("/console/moderation", {"collection": str(world.collection_id),
                                                   "object": obj["id"],
                                                   "action": "withdraw"}))[0] == 403
    status, _, _ = await admin.post("/console/moderation", {
        "collection": str(world.collection_id), "object": obj["id"], "action": "withdraw"},
        from_page=page)
    assert status == 303
    assert (await bob.get(page))[0] == 404
    # The audit log holds the withdrawal, with a restore button for platform admins.
    status, html, _ = await admin.get("/console/audit?action=object.withdrawn")
    assert status == 200 and obj["id"] in html and 'value="restore"' in html
    status, _, _ = await admin.post("/console/moderation", {
        "collection": str(world.collection_id), "object": obj["id"], "action": "restore"},
        from_page="/console/audit")
    assert status == 303
    assert (await bob.get(page))[0] == 200


async def test_audit_log_records_console_actions_for_the_org(world, people):
    admin = await people(world.alice.org_id)
    await admin.post("/console/admin/keys", {"role": "reader"}, from_page="/console/admin")
    status, html, _ = await admin.get("/console/audit?action=key.created")
    assert status == 200 and f"user:{admin.user_id}" in html
    status, html, _ = await admin.get("/console/audit?action=user.activated")
    assert str(admin.user_id) in html
    # Another organisation's admin does not see alice's entries.
    other = await people(world.mallory.org_id)
    _, html, _ = await other.get("/console/audit?action=key.created")
    assert f"user:{admin.user_id}" not in html
    assert (await admin.get("/console/audit?since=yesterday"))[0] == 400


async def test_manager_changes_the_group_policy(world, people, pool):
    async with pool.acquire() as conn:
        await groups.set_manager(conn, world.group_id, world.alice.org_id)
    manager = await people(world.alice.org_id)
    path = f"/console/groups/{world.group_id}"
    status, html, _ = await manager.get(path)
    assert status == 200 and "Save the policy" in html
    status, _, _ = await manager.post(f"{path}/policy", {
        "default_tlp": "green", "default_attribution": "credited", "allow_anonymous": "on",
        "description": "changed in the console"}, from_page=path)
    assert status == 303
    _, html, _ = await manager.get(path)
    assert "changed in the console" in html and '<option value="green" selected>' in html
    member = await people(world.bob.org_id)
    _, html, _ = await member.get(path)
    assert "Save the policy" not in html
    assert (await member.post(f"{path}/policy", {"default_tlp": "red",
                                                 "default_attribution": "credited"},
                              from_page=path))[0] == 403


async def test_organisations_page_is_for_platform_admins(world, people, pool):
    admin = await people(await _platform_org(pool), "platform-admin")
    status, html, _ = await admin.get("/console/orgs")
    assert status == 200 and world.alice.name in html
    status, _, _ = await admin.post("/console/orgs", {"name": f"new-{uuid.uuid4().hex[:6]}",
                                                      "sector": "academic"},
                                    from_page="/console/orgs")
    assert status == 303
    org_admin = await people(world.alice.org_id)
    assert (await org_admin.get("/console/orgs"))[0] == 403


async def test_search_by_value_label_type_and_text(world, people, http, base_url):
    tag = uuid.uuid4().hex[:8]
    obj = indicator("198.51.100.77", name=f"Zebra {tag} beacon", labels=[f"lab-{tag}"],
                    object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    bob = await people(world.bob.org_id, "reader")
    link = f"/console/objects/{obj['id']}"
    for form in ({"q": "198.51.100.77"}, {"label": f"lab-{tag}"}, {"q": f"zebra {tag}"},
                 {"q": f"zebra {tag}", "type": "indicator"}):
        status, html, _ = await bob.post("/console/search", form, from_page="/console/search")
        assert status == 200 and link in html, form
    _, html, _ = await bob.post("/console/search", {"q": f"zebra {tag}", "type": "malware"},
                                from_page="/console/search")
    assert link not in html
    mallory = await people(world.mallory.org_id, "reader")
    for form in ({"q": "198.51.100.77"}, {"label": f"lab-{tag}"}, {"q": f"zebra {tag}"}):
        _, html, _ = await mallory.post("/console/search", form, from_page="/console/search")
        assert link not in html, form


async def test_feed_webhook_secret_is_shown_once_and_the_feed_can_be_changed(world, people):
    alice = await people(world.alice.org_id, "reader")
    status, html, _ = await alice.post("/console/feeds/new", {
        "name": "hooked", "types": "indicator", "webhook": "http://127.0.0.1:9/hook",
        "action": "save"}, from_page="/console/feeds/new")
    assert status == 200 and 'id="webhook-secret"' in html
    first = re.search(r'id="webhook-secret">([^<]+)<', html).group(1)
    feed_id = re.search(r"/console/feeds/([0-9a-f-]{36})/edit", html).group(1)
    _, html, _ = await alice.get(f"/console/feeds/{feed_id}")
    assert first not in html and "webhook-secret" not in html
    edit = f"/console/feeds/{feed_id}/edit"
    status, html, _ = await alice.post(edit, {
        "name": "hooked", "types": "malware", "webhook": "http://127.0.0.1:9/hook",
        "rotate_secret": "on", "action": "save"}, from_page=edit)
    assert status == 200
    second = re.search(r'id="webhook-secret">([^<]+)<', html).group(1)
    assert second != first
    _, html, _ = await alice.get(edit)
    assert 'value="malware" checked' in html and 'value="indicator" checked' not in html
    # Another organisation's people get the same 404 as for an unknown feed.
    mallory = await people(world.mallory.org_id, "reader")
    hidden = await mallory.get(f"/console/feeds/{feed_id}")
    unknown = await mallory.get(f"/console/feeds/{uuid.uuid4()}")
    assert hidden[0] == unknown[0] == 404 and hidden[1] == unknown[1]


async def test_feed_preview_counts_stop_at_the_cap(world, http, base_url, pool):
    await post(http, base_url, world.collection_id, world.alice.contributor,
               *(indicator(f"198.51.100.{i}", object_marking_refs=[TLP_GREEN])
                 for i in range(120, 124)))
    bob = Principal(key_id="t", org_id=world.bob.org_id, org_name=world.bob.name,
                    sector=Sector.GOVERNMENT, role=Role.READER)
    # Documentation addresses are warninglisted: the preview is asked for them.
    only_here = FeedFilter(collections=[world.collection_id], include_warninglisted=True)
    async with pool.acquire() as conn:
        counts, more, sample = await console.preview(conn, bob, only_here)
        assert counts == {("indicator", "green"): 4} and not more and len(sample) == 4
        counts, more, _ = await console.preview(conn, bob, only_here, cap=2)
        assert sum(counts.values()) == 3 and more


async def _share(person, collection_id: uuid.UUID, name: str, data: bytes,
                 **choices: str) -> str:
    _, html, _ = await person.get("/console/share")
    form = aiohttp.FormData()
    form.add_field("csrf", re.search(r'name="csrf" value="([^"]+)"', html).group(1))
    form.add_field("collection", str(collection_id))
    for key, value in choices.items():
        form.add_field(key, value)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    async with person.http.post(person.base + "/console/share", data=form) as resp:
        text = await resp.text()
        assert resp.status == 200 and "Complete" in text, text
        return text


async def test_share_applies_the_chosen_terms_to_bundles_and_lists(world, people, pool):
    alice = await people(world.alice.org_id, "contributor")
    unmarked = indicator("198.51.100.61")
    own = indicator("198.51.100.62", object_marking_refs=[TLP_AMBER], confidence=10,
                    labels=["theirs"])
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [unmarked, own]}
    choices = {"tlp": "green", "confidence": "80", "labels": "phishing, q4",
               "attribution": "withheld"}
    await _share(alice, world.collection_id, "b.json", orjson.dumps(bundle), **choices)
    page = await _share(alice, world.collection_id, "l.csv", b"value\n203.0.113.61\n",
                        **choices)
    listed = re.search(r'/console/objects/(indicator--[0-9a-f-]+)', page).group(1)
    await release_withheld(pool)  # withheld posts are served from a release batch
    async with pool.acquire() as conn:
        rows = {r["stix_id"]: r for r in await conn.fetch(
            "SELECT stix_id, tlp, confidence, labels, withheld FROM objects"
            " WHERE stix_id = ANY($1::text[])", [unmarked["id"], own["id"], listed])}
    # Unstated terms take the choices; stated ones are kept (labels are added to).
    assert (rows[unmarked["id"]]["tlp"], rows[unmarked["id"]]["confidence"]) == ("green", 80)
    assert (rows[own["id"]]["tlp"], rows[own["id"]]["confidence"]) == ("amber", 10)
    assert sorted(rows[own["id"]]["labels"]) == ["phishing", "q4", "theirs"]
    assert rows[listed]["tlp"] == "green" and rows[listed]["confidence"] == 80
    assert sorted(rows[listed]["labels"]) == ["phishing", "q4"]
    assert all(r["withheld"] for r in rows.values()) and len(rows) == 3


async def test_share_posts_a_bundle_as_it_came_without_choices(world, people, pool):
    alice = await people(world.alice.org_id, "contributor")
    plain = indicator("198.51.100.63")
    await _share(alice, world.collection_id, "b.json",
                 orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                               "objects": [plain]}))
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT tlp, confidence, withheld FROM objects"
                                  " WHERE stix_id = $1", plain["id"])
    assert (row["tlp"], row["confidence"], row["withheld"]) == ("amber", None, False)


async def test_a_pending_status_polls_with_htmx_and_refreshes_without_it(world, people, http,
                                                                         base_url):
    from tests.test_sharing_rules import custom_tlp
    strict = custom_tlp("amber+strict")
    waiting = await post(http, base_url, world.collection_id, world.alice.contributor,
                         indicator("198.51.100.64", object_marking_refs=[strict["id"]]))
    assert waiting["pending_count"] == 1
    alice = await people(world.alice.org_id, "reader")
    status, page, resp = await alice.get(f"/console/status/{waiting['id']}")
    assert status == 200 and "In progress" in page
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    # With JavaScript, htmx replaces the live part every 2 s from the same page; without it
    # the noscript refresh reloads the page, and a link does the same by hand.
    live = page.split('<div id="status-live"', 1)[1].split(">", 1)[0]
    assert f'hx-get="/console/status/{waiting["id"]}"' in live
    assert 'hx-select="#status-live"' in live
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert '<script src="/console/static/htmx.min.js" defer></script>' in page
    assert "<script>" not in page  # nothing inline
    status, script, resp = await alice.get("/console/static/htmx.min.js")
    assert status == 200 and resp.content_type == "text/javascript"
    assert 'version:"2.0.11"' in script
    # Complete once the definition arrives: no polling, no script, no refresh.
    await post(http, base_url, world.collection_id, world.alice.contributor, strict)
    _, page, _ = await alice.get(f"/console/status/{waiting['id']}")
    assert "Complete" in page and "hx-get" not in page and "<script" not in page
    assert "refresh" not in page


async def test_sighted_and_false_positive_post_as_the_users_organisation(world, people, http,
                                                                         base_url, pool,
                                                                         factory):
    ind = indicator("198.51.100.66", object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, ind)
    bob = await people(world.bob.org_id, "contributor")
    _, page, _ = await bob.get(f"/console/objects/{ind['id']}")
    assert 'value="sighted"' in page and 'value="false-positive"' in page
    for choice in ("sighted", "false-positive"):
        status, html, _ = await bob.post(f"/console/objects/{ind['id']}/verdict",
                                         {"verdict": choice,
                                          "collection": str(world.collection_id)})
        assert status == 200 and "Complete" in html and "1 stored" in html, html
    # Sightings are anonymous by default, so they are served from a release batch.
    await release_withheld(pool)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT tlp, producer_org, body FROM objects WHERE collection_id = $1"
            " AND stix_type = 'sighting'", world.collection_id)
    made = {tuple(orjson.loads(r["body"]).get("labels", ["seen"])): (r, orjson.loads(r["body"]))
            for r in rows}
    assert set(made) == {("seen",), ("false-positive",)}
    for row, body in made.values():
        assert row["producer_org"] == world.bob.org_id and row["tlp"] == "green"
        assert body["sighting_of_ref"] == ind["id"]
        assert world.bob.identity_id not in orjson.dumps(body).decode()
    made["sighting"] = made[("seen",)]
    # The sighting is one hop out on the indicator's page now.
    _, page, _ = await bob.get(f"/console/objects/{ind['id']}")
    assert f"/console/objects/{made['sighting'][1]['id']}" in page
    # An indicator bob may not see takes no verdict: a 404 like an unknown one; a reader
    # gets no buttons; a collection outside bob's groups is refused.
    hidden = indicator("198.51.100.67", object_marking_refs=[TLP_GREEN])
    elsewhere = await factory.collection(await factory.group(world.mallory))
    await post(http, base_url, elsewhere, world.mallory.contributor, hidden)
    for target in (hidden["id"], f"indicator--{uuid.uuid4()}"):
        status, _, _ = await bob.post(f"/console/objects/{target}/verdict",
                                      {"verdict": "sighted",
                                       "collection": str(world.collection_id)})
        assert status == 404
    # Nor into another group of bob's: the sighting would carry the indicator's id there.
    other = await factory.collection(await factory.group(world.bob, world.carol))
    _, page, _ = await bob.get(f"/console/objects/{ind['id']}")
    assert str(world.collection_id) in page and str(other) not in page
    for target in (elsewhere, other):
        status, _, _ = await bob.post(f"/console/objects/{ind['id']}/verdict",
                                      {"verdict": "sighted", "collection": str(target)})
        assert status == 404
    reader = await people(world.bob.org_id, "reader")
    _, page, _ = await reader.get(f"/console/objects/{ind['id']}")
    assert 'value="sighted"' not in page
