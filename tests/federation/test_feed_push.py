"""Push agreements that publish a feed: what crosses is what the feed's own filter selects
(read afresh), judged as the peer and bound by the agreement's TLP ceiling and attribution."""

from __future__ import annotations

import uuid

import orjson

from tests.federation.conftest import admin_call, admit, link, room, served, until
from tests.feed_helpers import create_feed, json_auth
from tests.helpers import TLP_AMBER, TLP_GREEN, indicator, post


def _malware(name: str, **extra: object) -> dict:
    return {"type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": name, "is_family": True, **extra}


async def _have(http, ex, r, wanted: set[str]) -> list | None:
    objects = await served(http, ex, r)
    return objects if wanted <= {o["id"] for o in objects} else None


async def test_a_feed_of_indicators_pushes_indicators_only(http, east, west):
    cert = await room(east, "cert-feed-inbox")
    isac = await room(west, "isac-feed")
    # A second collection of the same group: the peer may see it, the feed does not name it.
    beside = await west.factory.collection(isac.group_id)
    peers = await link(http, east, west)
    await admit(east, cert.group_id, peers.org_on_a)
    member = isac.member
    feed = await create_feed(http, west.base, member.reader, name="indicators for the CERT",
                             filter={"collections": [str(isac.collection_id)],
                                     "types": ["indicator"]})

    green = indicator("192.0.2.40", object_marking_refs=[TLP_GREEN],
                      created_by_ref=member.identity_id)
    malware = _malware("Emotet", object_marking_refs=[TLP_GREEN])
    amber = indicator("192.0.2.41", object_marking_refs=[TLP_AMBER])
    elsewhere = indicator("192.0.2.42", object_marking_refs=[TLP_GREEN])
    await post(http, west.base, beside, member.contributor, elsewhere)
    await post(http, west.base, isac.collection_id, member.contributor, green, malware, amber)
    # Agreed after the posts: everything above is queued in the same first batch.
    push = await admin_call(http, west, "POST", f"/peers/{peers.name_on_b}/pushes", {
        "feed": feed["id"], "to": str(cert.collection_id), "attribution": "withheld"}, 201)
    assert push["feed"] == feed["id"] and push["collection"] is None

    got = await until(lambda: _have(http, east, cert, {green["id"]}), "the feed's indicator")
    ids = {o["id"] for o in got}
    # Not malware (the feed's types), not AMBER (the agreement's ceiling), not another
    # collection the peer could see (the feed's collections).
    assert not {malware["id"], amber["id"], elsewhere["id"]} & ids
    assert member.identity_id not in orjson.dumps(got).decode()
    detail = await admin_call(http, west, "GET", f"/peers/{peers.name_on_b}")
    assert detail["pushes"][0]["objects_out"] == 1

    # The feed is read afresh: once it selects malware too, new malware crosses.
    async with http.patch(f"{west.base}/api/v1/feeds/{feed['id']}", headers=json_auth(
            member.reader), data=orjson.dumps({"filter": {
                "collections": [str(isac.collection_id)],
                "types": ["indicator", "malware"]}})) as resp:
        assert resp.status == 200, await resp.text()
    later = _malware("TrickBot", object_marking_refs=[TLP_GREEN])
    await post(http, west.base, isac.collection_id, member.contributor, later)
    got = await until(lambda: _have(http, east, cert, {later["id"]}), "malware, once selected")
    assert malware["id"] not in {o["id"] for o in got}  # queued before: not selected then

    # Deleting the feed ends the agreement.
    async with http.delete(f"{west.base}/api/v1/feeds/{feed['id']}",
                           headers=json_auth(member.reader)) as resp:
        assert resp.status == 204
    detail = await admin_call(http, west, "GET", f"/peers/{peers.name_on_b}")
    assert detail["pushes"] == []


async def test_a_feed_push_needs_one_source_and_a_feed_that_names_its_groups(http, west):
    r = await room(west, "feed-push-admin")
    name = f"feedpeer-{uuid.uuid4().hex[:6]}"
    await admin_call(http, west, "POST", "/peers", {
        "name": name, "url": "https://peer.example/taxii2/root/", "key": "k"}, 201)
    wide = await create_feed(http, west.base, r.member.reader, name="everything")
    narrow = await create_feed(http, west.base, r.member.reader, name="one group",
                               filter={"groups": [str(r.group_id)]})
    pushes = f"/peers/{name}/pushes"
    await admin_call(http, west, "POST", pushes, {"to": "c"}, 400)
    await admin_call(http, west, "POST", pushes, {
        "to": "c", "collection": str(r.collection_id), "feed": narrow["id"]}, 400)
    await admin_call(http, west, "POST", pushes, {"to": "c", "feed": str(uuid.uuid4())}, 404)
    # A feed over everything its organisation reads would make the peer a member everywhere.
    await admin_call(http, west, "POST", pushes, {"to": "c", "feed": wide["id"]}, 409)
    assert (await admin_call(http, west, "GET", f"/peers/{name}"))["pushes"] == []
    made = await admin_call(http, west, "POST", pushes, {"to": "c", "feed": narrow["id"]}, 201)
    assert made["feed"] == narrow["id"]
    await admin_call(http, west, "POST", pushes, {"to": "c", "feed": narrow["id"]}, 409)
