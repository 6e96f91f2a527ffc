"""Two (and three) Accord exchanges federating over real TAXII 2.1 HTTP, each with its own
database: what flows, what never does, and what stops it."""

from __future__ import annotations

import orjson

from tests.federation.conftest import (
    admin_call,
    admit,
    link,
    room,
    served,
    terms,
    until,
)
from tests.helpers import TLP_AMBER, TLP_CLEAR, TLP_GREEN, TLP_RED, indicator, post


def _ids(objects: list) -> set[str]:
    return {o["id"] for o in objects}


async def _pull(http, ex, peer: str, remote, into, **extra) -> dict:
    return await admin_call(http, ex, "POST", f"/peers/{peer}/pulls",
                            {"remote_collection": str(remote), "into": str(into), **extra}, 201)


async def test_pull_takes_clear_and_green_never_amber_unagreed_nor_red(http, east, west):
    cert = await room(east, "cert-analyst")
    isac = await room(west, "isac-analyst")
    peers = await link(http, east, west)
    await admit(east, cert.group_id, peers.org_on_a)  # the ISAC is a member on the CERT's side
    await _pull(http, west, peers.name_on_b, cert.collection_id, isac.collection_id)

    amber = indicator("198.51.100.1", object_marking_refs=[TLP_AMBER])
    # RED addressed to the ISAC itself: its key may read it on the remote, yet never pulled.
    red = indicator("198.51.100.2", object_marking_refs=[TLP_RED],
                    **terms(recipients=[peers.identity_on_a]))
    green = indicator("198.51.100.3", object_marking_refs=[TLP_GREEN])
    clear = indicator("198.51.100.4", object_marking_refs=[TLP_CLEAR])
    await post(http, east.base, cert.collection_id, cert.member.contributor,
               amber, red, green, clear)

    arrived = await until(lambda: _have(http, west, isac, {green["id"], clear["id"]}),
                          "GREEN and CLEAR at the ISAC")
    # The same page carried AMBER and RED: the agreement let neither through.
    assert amber["id"] not in _ids(arrived) and red["id"] not in _ids(arrived)

    # An agreement naming the local group the AMBER goes to takes it; RED still never.
    amber_room = await room(west, "isac-amber")
    await _pull(http, west, peers.name_on_b, cert.collection_id, amber_room.collection_id,
                amber_group=str(amber_room.group_id))
    got = await until(lambda: _have(http, west, amber_room, {amber["id"], green["id"]}),
                      "AMBER under an agreement that names its group")
    assert red["id"] not in _ids(got)
    stored = next(o for o in got if o["id"] == amber["id"])
    assert stored["object_marking_refs"] == [TLP_AMBER] and stored["x_accord_hops"] == 1


async def _have(http, ex, r, wanted: set[str]) -> list | None:
    objects = await served(http, ex, r)
    return objects if wanted <= _ids(objects) else None


async def test_withheld_stays_withheld_across_the_border(http, east, west):
    cert = await room(east, "cert-withheld")
    isac = await room(west, "isac-withheld")
    peers = await link(http, east, west)
    await admit(east, cert.group_id, peers.org_on_a)
    await _pull(http, west, peers.name_on_b, cert.collection_id, isac.collection_id)
    secret = indicator("203.0.113.9", object_marking_refs=[TLP_GREEN],
                       created_by_ref=cert.member.identity_id, **terms(attribution="withheld"))
    await post(http, east.base, cert.collection_id, cert.member.contributor, secret)

    got = await until(lambda: _have(http, west, isac, {secret["id"]}), "the withheld object")
    text = orjson.dumps(got).decode()
    assert cert.member.identity_id not in text and cert.member.name not in text


async def test_push_sends_green_not_amber_nor_red_and_withholds_authors(http, east, west):
    cert = await room(east, "cert-inbox")
    isac = await room(west, "isac-outbox")
    peers = await link(http, east, west)
    await admit(east, cert.group_id, peers.org_on_a)  # the ISAC may post to the CERT's inbox
    await admin_call(http, west, "POST", f"/peers/{peers.name_on_b}/pushes", {
        "collection": str(isac.collection_id), "to": str(cert.collection_id),
        "attribution": "withheld"}, 201)
    member = isac.member
    green = indicator("192.0.2.10", object_marking_refs=[TLP_GREEN],
                      created_by_ref=member.identity_id)
    amber = indicator("192.0.2.11", object_marking_refs=[TLP_AMBER])
    red = indicator("192.0.2.12", object_marking_refs=[TLP_RED])
    clear = indicator("192.0.2.13", object_marking_refs=[TLP_CLEAR])
    await post(http, west.base, isac.collection_id, member.contributor, amber, red, green, clear)

    got = await until(lambda: _have(http, east, cert, {green["id"], clear["id"]}),
                      "GREEN pushed to the CERT")
    assert amber["id"] not in _ids(got) and red["id"] not in _ids(got)
    pushed = next(o for o in got if o["id"] == green["id"])
    assert "created_by_ref" not in pushed  # withheld: the ISAC member is not named
    assert member.identity_id not in orjson.dumps(got).decode()
    detail = await admin_call(http, west, "GET", f"/peers/{peers.name_on_b}")
    assert detail["pushes"][0]["objects_out"] == 2
    assert detail["deliveries"][0]["state"] == "delivered"


async def test_push_under_exchange_attribution_names_the_exchange(http, east, west):
    cert = await room(east, "cert-via")
    isac = await room(west, "isac-via")
    peers = await link(http, east, west)
    await admit(east, cert.group_id, peers.org_on_a)
    await admin_call(http, west, "POST", f"/peers/{peers.name_on_b}/pushes", {
        "collection": str(isac.collection_id), "to": str(cert.collection_id),
        "attribution": "exchange"}, 201)
    obj = indicator("192.0.2.20", object_marking_refs=[TLP_GREEN],
                    created_by_ref=isac.member.identity_id)
    await post(http, west.base, isac.collection_id, isac.member.contributor, obj)
    got = await until(lambda: _have(http, east, cert, {obj["id"]}), "the pushed object")
    platform = (await admin_call(http, west, "GET", "/orgs"))["orgs"]
    exchange_identity = next(o["identity_id"] for o in platform if o["is_platform"])
    assert next(o for o in got if o["id"] == obj["id"])["created_by_ref"] == exchange_identity


async def test_revocation_arrives_as_a_new_version(http, east, west):
    cert = await room(east, "cert-revoke")
    isac = await room(west, "isac-revoke")
    peers = await link(http, east, west)
    await admit(east, cert.group_id, peers.org_on_a)
    await _pull(http, west, peers.name_on_b, cert.collection_id, isac.collection_id)
    v1 = indicator("198.51.100.50", object_marking_refs=[TLP_GREEN])
    await post(http, east.base, cert.collection_id, cert.member.contributor, v1)
    await until(lambda: _have(http, west, isac, {v1["id"]}), "the first version")
    v2 = {**v1, "modified": "2026-01-02T00:00:00.000Z", "revoked": True}
    await post(http, east.base, cert.collection_id, cert.member.contributor, v2)

    async def revoked():
        objects = await served(http, west, isac, **{"match[version]": "all"})
        mine = [o for o in objects if o["id"] == v1["id"]]
        return mine if len(mine) == 2 else None

    versions = await until(revoked, "the revocation")
    assert sorted(o["modified"] for o in versions) == [v1["modified"], v2["modified"]]
    assert [o.get("revoked") for o in versions if o["modified"] == v2["modified"]] == [True]


async def test_removing_the_agreement_stops_the_flow_at_once(http, east, west):
    ended_src, control_src = await room(east, "cert-ended"), await room(east, "cert-control")
    ended_dst, control_dst = await room(west, "isac-ended"), await room(west, "isac-control")
    peers = await link(http, east, west)
    for r in (ended_src, control_src):
        await admit(east, r.group_id, peers.org_on_a)
    ended = await _pull(http, west, peers.name_on_b, ended_src.collection_id,
                        ended_dst.collection_id)
    await _pull(http, west, peers.name_on_b, control_src.collection_id, control_dst.collection_id)
    first = indicator("198.51.100.60", object_marking_refs=[TLP_GREEN])
    await post(http, east.base, ended_src.collection_id, ended_src.member.contributor, first)
    await until(lambda: _have(http, west, ended_dst, {first["id"]}), "the flow before removal")

    await admin_call(http, west, "DELETE", f"/peers/{peers.name_on_b}/agreements/{ended['id']}",
                     expect=204)
    late = indicator("198.51.100.61", object_marking_refs=[TLP_GREEN])
    control = indicator("198.51.100.62", object_marking_refs=[TLP_GREEN])
    await post(http, east.base, ended_src.collection_id, ended_src.member.contributor, late)
    await post(http, east.base, control_src.collection_id, control_src.member.contributor,
               control)
    # The control agreement, polled in the same rounds, has delivered since: the ended one
    # would have too.
    await until(lambda: _have(http, west, control_dst, {control["id"]}), "the control flow")
    assert late["id"] not in _ids(await served(http, west, ended_dst))


async def test_a_loop_of_three_does_not_circulate(http, east, west, south):
    rooms = [await room(ex, f"loop-{ex.label}") for ex in (east, west, south)]
    exchanges = [east, west, south]
    for i in range(3):  # east -> west -> south -> east, onward sharing allowed everywhere
        a, b = exchanges[i], exchanges[(i + 1) % 3]
        ra, rb = rooms[i], rooms[(i + 1) % 3]
        peers = await link(http, a, b, onward=True, hop_limit=5)
        await admit(b, rb.group_id, peers.org_on_b)
        await admin_call(http, a, "POST", f"/peers/{peers.name_on_a}/pushes", {
            "collection": str(ra.collection_id), "to": str(rb.collection_id),
            "attribution": "withheld"}, 201)
    obj = indicator("198.51.100.70", object_marking_refs=[TLP_GREEN])
    await post(http, east.base, rooms[0].collection_id, rooms[0].member.contributor, obj)
    await until(lambda: _have(http, south, rooms[2], {obj["id"]}), "two hops on")

    async def back_at_east():
        async with http.get(f"{south.base}/api/v1/peers", headers=south.admin()) as resp:
            names = [p["name"] for p in (await resp.json())["peers"]]
        for name in names:
            detail = await admin_call(http, south, "GET", f"/peers/{name}")
            for push in detail["pushes"]:
                if push["collection"] == str(rooms[2].collection_id) and push["objects_out"]:
                    return True
        return False

    await until(back_at_east, "south's push towards east")
    # One more round everywhere could only add copies; there are none to add.
    for ex, r, hops in ((east, rooms[0], None), (west, rooms[1], 1), (south, rooms[2], 2)):
        copies = [o for o in await served(http, ex, r, **{"match[version]": "all"})
                  if o["id"] == obj["id"]]
        assert len(copies) == 1, ex.label
        assert copies[0].get("x_accord_hops") == hops


async def test_never_pushed_back_to_the_peer_it_came_from(http, east, west):
    cert = await room(east, "cert-both")
    isac = await room(west, "isac-both")
    peers = await link(http, east, west, onward=True, hop_limit=5)
    await admit(east, cert.group_id, peers.org_on_a)
    await admit(west, isac.group_id, peers.org_on_b)
    for ex, name, src, dst in ((east, peers.name_on_a, cert, isac),
                               (west, peers.name_on_b, isac, cert)):
        await admin_call(http, ex, "POST", f"/peers/{name}/pushes", {
            "collection": str(src.collection_id), "to": str(dst.collection_id),
            "attribution": "withheld"}, 201)
    there = indicator("198.51.100.80", object_marking_refs=[TLP_GREEN])
    await post(http, east.base, cert.collection_id, cert.member.contributor, there)
    await until(lambda: _have(http, west, isac, {there["id"]}), "the object at the ISAC")
    back = indicator("198.51.100.81", object_marking_refs=[TLP_GREEN])
    await post(http, west.base, isac.collection_id, isac.member.contributor, back)
    # West's push of its own object has gone out after the CERT's: the CERT's was left out.
    await until(lambda: _have(http, east, cert, {back["id"]}), "the ISAC's own object")
    detail = await admin_call(http, west, "GET", f"/peers/{peers.name_on_b}")
    assert detail["pushes"][0]["objects_out"] == 1


async def test_metrics_and_readiness_report_peers_without_failing(http, east, west):
    cert = await room(east, "cert-ops")
    isac = await room(west, "isac-ops")
    peers = await link(http, east, west)
    await admit(east, cert.group_id, peers.org_on_a)
    await _pull(http, west, peers.name_on_b, cert.collection_id, isac.collection_id)
    obj = indicator("198.51.100.90", object_marking_refs=[TLP_GREEN])
    await post(http, east.base, cert.collection_id, cert.member.contributor, obj)
    await until(lambda: _have(http, west, isac, {obj["id"]}), "the pulled object")
    # A peer that is down: nothing listens on its address.
    await admin_call(http, west, "POST", "/peers", {
        "name": f"down-{peers.name_on_b}", "url": "http://127.0.0.1:9/taxii2/root/",
        "key": "x"}, 201)
    await _pull(http, west, f"down-{peers.name_on_b}", "anything", isac.collection_id)

    async def failing():
        async with http.get(f"{west.base}/readyz") as resp:
            body = await resp.json()
            return body if resp.status == 200 and " 0 failing" not in body["details"]["peers"] \
                else None

    ready = await until(failing, "the failing peer in /readyz")
    assert ready["status"] == "ready"
    assert peers.name_on_b not in orjson.dumps(ready).decode()  # counts, never names
    async with http.get(f"{west.base}/metrics", headers=west.admin()) as resp:
        text = await resp.text()
    assert f'accord_peer_objects{{direction="in",peer="{peers.name_on_b}"}} 1.0' in text
    assert f'accord_peer_errors{{direction="pull",peer="down-{peers.name_on_b}"}}' in text
