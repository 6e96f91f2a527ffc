"""The peers admin API: who may call it, what it refuses, and pause/resume/remove."""

from __future__ import annotations

import uuid

from server.federation.push import MAX_ATTEMPTS
from tests.admin.test_cli import _accord
from tests.federation.conftest import admin_call, admit, link, room, served, until
from tests.feed_helpers import create_feed
from tests.helpers import TLP_GREEN, indicator, post


def _peer(name: str) -> dict:
    return {"name": name, "url": "https://peer.example/taxii2/root/", "key": "k"}


async def test_peers_need_a_platform_admin_key(http, east):
    member = await east.factory.member("not-admin")
    async with http.get(f"{east.base}/api/v1/peers") as resp:
        assert resp.status == 401
    for key in (member.admin, member.contributor):
        async with http.post(f"{east.base}/api/v1/peers", json=_peer("nope"),
                             headers={"Authorization": f"Bearer {key.token}"}) as resp:
            assert resp.status == 403
            assert (await resp.json())["details"]["needed_role"] == "platform-admin"
    async with http.get(f"{east.base}/api/v1/peers/nope", headers=east.admin()) as resp:
        assert resp.status == 404  # and nothing was created by the refused posts


async def test_bad_peer_requests_are_refused_and_change_nothing(http, east):
    name = f"dup-{uuid.uuid4().hex[:6]}"
    await admin_call(http, east, "POST", "/peers", _peer(name), 201)
    await admin_call(http, east, "POST", "/peers", _peer(name), 409)
    await admin_call(http, east, "POST", "/peers", {**_peer("x"), "url": "ftp://x/"}, 400)
    await admin_call(http, east, "POST", "/peers", {**_peer("y"), "auth": "magic"}, 400)
    await admin_call(http, east, "POST", "/peers", {**_peer("z"), "client_cert": "/c.pem"}, 400)
    async with http.post(f"{east.base}/api/v1/peers", data=b"{}", headers={
            **east.admin(), "Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    r = await room(east, "admin-amber")
    other = await room(east, "admin-other")
    await admin_call(http, east, "POST", f"/peers/{name}/pulls", {
        "remote_collection": "c", "into": str(r.collection_id),
        "amber_group": str(other.group_id)}, 409)  # AMBER only to the collection's own group
    await admin_call(http, east, "POST", f"/peers/{name}/pulls", {
        "remote_collection": "c", "into": str(uuid.uuid4())}, 404)
    await admin_call(http, east, "POST", f"/peers/{name}/pushes", {
        "collection": str(r.collection_id), "to": "c", "tlp_max": "red"}, 400)
    detail = await admin_call(http, east, "GET", f"/peers/{name}")
    assert detail["pulls"] == [] and detail["pushes"] == []
    names = [p["name"] for p in (await admin_call(http, east, "GET", "/peers"))["peers"]]
    assert name in names and not {"x", "y", "z"} & set(names)
    await admin_call(http, east, "DELETE", f"/peers/{name}", expect=204)
    await admin_call(http, east, "GET", f"/peers/{name}", expect=404)


async def test_a_paused_peer_is_not_polled_until_resumed(http, east, west):
    cert = await room(east, "cert-pause")
    isac = await room(west, "isac-pause")
    control_src, control_dst = await room(east, "cert-unpaused"), await room(west, "isac-unp")
    peers = await link(http, east, west)
    other = await link(http, east, west)
    for r, link_ in ((cert, peers), (control_src, other)):
        await admit(east, r.group_id, link_.org_on_a)
    await admin_call(http, west, "POST", f"/peers/{peers.name_on_b}/pulls", {
        "remote_collection": str(cert.collection_id), "into": str(isac.collection_id)}, 201)
    await admin_call(http, west, "POST", f"/peers/{other.name_on_b}/pulls", {
        "remote_collection": str(control_src.collection_id),
        "into": str(control_dst.collection_id)}, 201)
    paused = await admin_call(http, west, "POST", f"/peers/{peers.name_on_b}/pause")
    assert paused["paused"] is True
    held = indicator("198.51.100.95", object_marking_refs=[TLP_GREEN])
    control = indicator("198.51.100.96", object_marking_refs=[TLP_GREEN])
    await post(http, east.base, cert.collection_id, cert.member.contributor, held)
    await post(http, east.base, control_src.collection_id, control_src.member.contributor,
               control)

    async def has(ex, r, stix_id):
        return stix_id in {o["id"] for o in await served(http, ex, r)}

    await until(lambda: has(west, control_dst, control["id"]), "the unpaused peer's object")
    assert not await has(west, isac, held["id"])
    await admin_call(http, west, "POST", f"/peers/{peers.name_on_b}/resume")
    await until(lambda: has(west, isac, held["id"]), "the object after resuming")


async def test_removing_a_peer_revokes_what_it_was_issued(http, east, west):
    peers = await link(http, east, west)
    inbound = {"Authorization": f"Bearer {peers.token_from_a}",
               "Accept": "application/taxii+json;version=2.1"}
    async with http.get(f"{east.base}/taxii2/root/collections/", headers=inbound) as resp:
        assert resp.status == 200
    await admin_call(http, east, "DELETE", f"/peers/{peers.name_on_a}", expect=204)
    async with http.get(f"{east.base}/taxii2/root/collections/", headers=inbound) as resp:
        assert resp.status == 401


async def test_failed_pushes_back_off_then_are_dead_lettered(http, west):
    local = await room(west, "push-to-nowhere")
    name = f"nowhere-{uuid.uuid4().hex[:6]}"
    await admin_call(http, west, "POST", "/peers",  # nothing listens on port 9
                     {"name": name, "url": "http://127.0.0.1:9/taxii2/root/", "key": "k"}, 201)
    await admin_call(http, west, "POST", f"/peers/{name}/pushes", {
        "collection": str(local.collection_id), "to": "remote"}, 201)
    await post(http, west.base, local.collection_id, local.member.contributor,
               indicator("198.51.100.99", object_marking_refs=[TLP_GREEN]))

    async def dead():
        detail = await admin_call(http, west, "GET", f"/peers/{name}")
        return detail if detail["pushes"][0]["dead_batches"] == 1 else None

    detail = await until(dead, "the batch dead-lettered")
    attempts = detail["deliveries"]
    assert len(attempts) == MAX_ATTEMPTS
    assert [a["state"] for a in attempts] == ["dead"] + ["pending"] * (MAX_ATTEMPTS - 1)
    assert all(a["error"] and a["status"] is None for a in attempts)
    assert detail["pushes"][0]["objects_out"] == 0


async def test_the_peer_commands_through_the_admin_api(http, east):
    r = await room(east, "cli-peer")
    name = f"cli-{uuid.uuid4().hex[:6]}"
    token = east.platform.token
    out = await _accord(east.base, token, "peer", "add", name, "--url",
                        "https://isac.example.org/taxii2/root/", "--key", "secret-token",
                        "--sector", "private", "--auth", "token")
    assert f"added peer {name!r} (private)" in out
    assert "https://isac.example.org/taxii2/root/" in await _accord(east.base, token, "peer",
                                                                    "list")
    assert "CLEAR and GREEN" in await _accord(east.base, token, "peer", "pull", name, "remote-1",
                                              "--into", str(r.collection_id))
    assert "up to GREEN, attribution exchange" in await _accord(
        east.base, token, "peer", "push", name, str(r.collection_id), "--to", "remote-2")
    feed = await create_feed(http, east.base, r.member.reader, name="cli feed",
                             filter={"collections": [str(r.collection_id)]})
    assert f"feed {feed['id']} -> remote-3" in await _accord(
        east.base, token, "peer", "push", name, "--feed", feed["id"], "--to", "remote-3")
    assert "exactly one" in await _accord(east.base, token, "peer", "push", name,
                                          str(r.collection_id), "--feed", feed["id"],
                                          "--to", "remote-4", ok=False)
    assert "paused" in await _accord(east.base, token, "peer", "pause", name)
    shown = await _accord(east.base, token, "peer", "show", name)
    assert '"paused": true' in shown and "secret-token" not in shown
    member = await east.factory.member("cli-not-admin")
    assert "platform-admin" in await _accord(east.base, member.admin.token, "peer", "list",
                                             ok=False)
    assert "removed peer" in await _accord(east.base, token, "peer", "remove", name)
    assert "no peer named" in await _accord(east.base, token, "peer", "show", name, ok=False)
