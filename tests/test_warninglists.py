"""Warninglists: shipped data, pure matching, the update from a misp-warninglists checkout."""

from __future__ import annotations

import asyncio
import uuid

import orjson

from server.cli import main
from server.ingest import warninglists
from tests.feed_helpers import SseReader, create_feed, json_auth
from tests.helpers import TLP_GREEN, auth, get_json, indicator, objects_url, post
from tests.privacy.test_group_privacy import _accord


def test_the_shipped_lists_load_with_their_versions():
    lists = warninglists.shipped()
    assert set(lists.versions) == set(warninglists.SHIPPED)
    assert lists.match("ipv4", "172.16.5.4") == ["rfc1918"]
    shipped = orjson.loads((warninglists.data_dir() / "amazon-aws.json").read_bytes())
    first = next(e for e in shipped["list"] if ":" not in e)
    assert "amazon-aws" in lists.match("ipv4", first.split("/")[0])


def test_ranges_hostnames_and_strings_match_as_in_misp():
    lists = warninglists.Warninglists()
    lists.add("nets", "cidr", ["10.0.0.0/8", "2001:db8::/32", "not a net"])
    lists.add("private", "cidr", ["192.168.0.0/16", "10.0.0.0/8"])  # added after the first
    lists.add("hosts", "hostname", ["example.com"])
    lists.add("exact", "string", ["example.org"])
    assert lists.match("ipv4", "10.9.8.7") == ["nets"]  # the first list to name a range
    assert lists.match("ipv4", "192.168.1.1") == ["private"]
    assert lists.match("ipv4", "10.9.0.0/16") == ["nets"]
    assert lists.match("ipv4", "300.1.1.1") == lists.match("ipv4", "1.2.3.4x") == []
    assert lists.match("ipv4", "0.0.0.0/0") == []  # wider than the listed range
    assert lists.match("ipv6", "2001:db8::1") == ["nets"]
    assert lists.match("domain", "a.b.example.com") == ["hosts"]
    assert lists.match("domain", "example.org") == ["exact"]
    assert lists.match("domain", "a.example.org") == []
    assert lists.match("url", "http://example.com/") == []


def test_update_rewrites_the_lists_from_a_checkout(tmp_path):
    source = tmp_path / "misp" / "lists"
    for name in warninglists.SHIPPED:
        (source / name).mkdir(parents=True)
        entries = ["8.8.8.8", "203.0.113.9"] if name == "public-dns-v4" else ["10.0.0.0/8"]
        (source / name / "list.json").write_bytes(orjson.dumps(
            {"name": f"List {name}", "version": 7, "type": "cidr", "list": entries}))
    target = tmp_path / "out"
    target.mkdir()
    written = dict((n, c) for n, _, c in warninglists.update(tmp_path / "misp", target))
    assert written["public-dns-v4"] == 1  # trimmed to the well-known resolvers
    loaded = warninglists.load(target)
    assert loaded.versions["rfc1918"] == "7" and loaded.match("ipv4", "8.8.8.8")


def test_the_update_command_writes_where_asked(tmp_path):
    source = tmp_path / "lists"
    for name in warninglists.SHIPPED:
        (source / name).mkdir(parents=True)
        (source / name / "list.json").write_bytes(orjson.dumps(
            {"name": name, "version": 3, "type": "cidr", "list": ["10.0.0.0/8"]}))
    out = tmp_path / "out"
    out.mkdir()
    code = main(["admin", "warninglists", "update", "--from", str(tmp_path), "--to", str(out)])
    assert code == 0 and warninglists.load(out).versions["rfc1918"] == "3"


async def _feed_views(http, base_url, key, feed_id: str) -> dict[str, set[str]]:
    """What each pull view of a feed holds: TAXII object ids, export.txt and export.csv
    values."""
    url = f"{base_url}/taxii2/feeds/collections/{feed_id}/objects/"
    code, body, _ = await get_json(http, url, key)
    assert code == 200
    views = {"taxii": {o["id"] for o in body["objects"]}}
    for shape in ("txt", "csv"):
        async with http.get(f"{base_url}/api/v1/feeds/{feed_id}/export.{shape}",
                            headers=auth(key)) as resp:
            assert resp.status == 200, await resp.text()
            text = await resp.text()
        views[shape] = (set(text.split()) if shape == "txt"
                        else {line.split(",")[1] for line in text.splitlines()[1:]})
    return views


async def test_warninglisted_values_are_flagged_and_left_out_unless_the_feed_asks(
        http, base_url, world):
    listed = indicator("8.8.8.8", object_marking_refs=[TLP_GREEN])
    wide = indicator("8.0.0.0/8", object_marking_refs=[TLP_GREEN])  # holds a resolver
    documentation = indicator("198.51.100.99", object_marking_refs=[TLP_GREEN])  # RFC 5737
    plain = indicator("93.184.216.34", object_marking_refs=[TLP_GREEN])
    warned = {listed["id"], wide["id"], documentation["id"]}
    feeds, streams = {}, {}
    for asks in (False, True):
        # The default filter (no key at all: not through create_feed, which asks), and
        # the opt-in.
        filt = {"collections": [str(world.collection_id)]}
        if asks:
            feeds[asks] = await create_feed(http, base_url, world.bob.reader,
                                            filter={**filt, "include_warninglisted": True})
        else:
            async with http.post(f"{base_url}/api/v1/feeds", headers=json_auth(
                    world.bob.reader), data=orjson.dumps({"name": "default",
                                                          "filter": filt})) as resp:
                assert resp.status == 201
                feeds[asks] = await resp.json()
        assert feeds[asks]["filter"]["include_warninglisted"] is asks
        streams[asks] = await http.get(
            f"{base_url}/api/v1/feeds/{feeds[asks]['id']}/stream",
            headers={"Authorization": f"Bearer {world.bob.reader.token}"}, timeout=None)
        assert streams[asks].status == 200
    await asyncio.sleep(0.3)
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        listed, wide, documentation, plain)
    messages = {s["id"]: s.get("message", "") for s in status["successes"]}
    assert "public-dns-v4" in messages[listed["id"]]
    assert "public-dns-v4" in messages[wide["id"]]
    assert messages[plain["id"]] == ""
    streamed = {}
    for asks, resp in streams.items():
        reader = SseReader(resp)
        events = [await reader.next(timeout=10 if asks or not streamed.get(asks) else 1)
                  for _ in range(4 if asks else 1)]
        assert await reader.next(timeout=1) is None  # and nothing more
        resp.close()
        streamed[asks] = {e.data["id"] for e in events if e is not None}
    assert streamed[False] == {plain["id"]}
    assert streamed[True] == warned | {plain["id"]}

    default = await _feed_views(http, base_url, world.bob.reader, feeds[False]["id"])
    asked = await _feed_views(http, base_url, world.bob.reader, feeds[True]["id"])
    values = {"8.8.8.8", "8.0.0.0/8", "198.51.100.99"}
    assert plain["id"] in default["taxii"] and not warned & default["taxii"]
    assert warned | {plain["id"]} <= asked["taxii"]
    for shape in ("txt", "csv"):
        assert "93.184.216.34" in default[shape] and not values & default[shape]
        assert values | {"93.184.216.34"} <= asked[shape]


async def test_the_former_opt_out_is_accepted_and_dropped(http, base_url, world):
    async def made(filt: dict) -> dict:
        async with http.post(f"{base_url}/api/v1/feeds", headers=json_auth(world.bob.reader),
                             data=orjson.dumps({"name": "legacy", "filter": filt})) as resp:
            assert resp.status == 201
            return (await resp.json())["filter"]

    # Dropped either way, as migration 0025 drops it from stored filters: only
    # include_warninglisted brings the listed values in.
    assert (await made({"exclude_warninglisted": True}))["include_warninglisted"] is False
    assert (await made({"exclude_warninglisted": False}))["include_warninglisted"] is False
    assert (await made({"exclude_warninglisted": False, "include_warninglisted": True}))[
        "include_warninglisted"] is True
    assert "exclude_warninglisted" not in await made({})


async def test_the_default_export_reads_the_flag_from_blocklist_rows(http, base_url, world,
                                                                      pool):
    # The default filter leaves warninglisted values out without leaving the export's fast
    # path (blocklist_rows, no bodies): the flag that decides is the copy in that table.
    from schemas.feeds import FeedFilter
    from server.store.exports import _reads_bodies

    assert not _reads_bodies(FeedFilter())
    plain = indicator("93.184.216.77", object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, plain)
    async with http.post(f"{base_url}/api/v1/feeds", headers=json_auth(world.bob.reader),
                         data=orjson.dumps({"name": "default", "filter": {
                             "collections": [str(world.collection_id)]}})) as resp:
        feed = await resp.json()
    assert "93.184.216.77" in (await _feed_views(http, base_url, world.bob.reader,
                                                 feed["id"]))["txt"]
    await pool.execute("UPDATE blocklist_rows SET warned = true WHERE stix_id = $1",
                       plain["id"])
    views = await _feed_views(http, base_url, world.bob.reader, feed["id"])
    assert "93.184.216.77" not in views["txt"] and "93.184.216.77" not in views["csv"]
    assert plain["id"] in views["taxii"]  # the TAXII view reads objects, where it is not set


async def _set_policy(http, base_url, group_id, key, **changes) -> tuple[int, dict]:
    async with http.patch(f"{base_url}/api/v1/groups/{group_id}", headers=json_auth(key),
                          data=orjson.dumps({"policy": changes})) as resp:
        return resp.status, await resp.json()


async def test_a_group_may_refuse_warninglisted_indicators(http, base_url, world, factory):
    platform = await factory.platform_key()
    code, group = await _set_policy(http, base_url, world.group_id, platform,
                                    warninglist_policy="refuse")
    assert code == 200 and group["policy"]["warninglist_policy"] == "refuse"
    listed = indicator("8.8.4.4", object_marking_refs=[TLP_GREEN])
    plain = indicator("45.33.1.2", object_marking_refs=[TLP_GREEN])
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        listed, plain)
    assert [s["id"] for s in status["successes"]] == [plain["id"]]
    [failure] = status["failures"]
    assert failure["id"] == listed["id"]
    assert "public-dns-v4" in failure["message"] and "refuses" in failure["message"]
    code, _, _ = await get_json(http, objects_url(base_url, world.collection_id,
                                                  f"{listed['id']}/"), world.bob.reader)
    assert code == 404  # nothing of it stored
    # Back to the default: the same indicator is stored, with the warning.
    code, group = await _set_policy(http, base_url, world.group_id, platform,
                                    warninglist_policy="warn")
    assert code == 200
    status = await post(http, base_url, world.collection_id, world.alice.contributor, listed)
    [success] = status["successes"]
    assert success["id"] == listed["id"] and "public-dns-v4" in success["message"]


async def test_a_sighting_of_a_refused_indicator_in_the_same_envelope_is_refused(
        http, base_url, world, factory):
    platform = await factory.platform_key()
    code, _ = await _set_policy(http, base_url, world.group_id, platform,
                                warninglist_policy="refuse")
    assert code == 200
    listed = indicator("8.8.4.4", object_marking_refs=[TLP_GREEN])
    seen = {"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
            "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
            "sighting_of_ref": listed["id"], "count": 1}
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        listed, seen)
    assert status["successes"] == []
    assert {f["id"] for f in status["failures"]} == {listed["id"], seen["id"]}


async def test_the_warninglist_policy_takes_warn_or_refuse_only(http, base_url, world, factory):
    platform = await factory.platform_key()
    code, body = await _set_policy(http, base_url, world.group_id, platform,
                                   warninglist_policy="drop")
    assert code == 400, body


async def test_the_group_intelligence_policy_through_the_cli(http, base_url, world, factory):
    platform = await factory.platform_key()
    shown = orjson.loads(await _accord(
        base_url, platform.token, "admin", "group", "policy", str(world.group_id),
        "--warninglisted", "refuse", "--half-life", "ipv4=7", "--half-life", "sha256=3650"))
    assert shown["warninglist_policy"] == "refuse"
    assert shown["half_lives"] == {"ipv4": 7.0, "sha256": 3650.0}
    err = await _accord(base_url, platform.token, "admin", "group", "policy",
                        str(world.group_id), "--half-life", "ipv4", ok=False)
    assert "KIND=DAYS" in err
    shown = orjson.loads(await _accord(
        base_url, platform.token, "admin", "group", "policy", str(world.group_id),
        "--default-half-lives"))
    assert shown["half_lives"] == {} and shown["warninglist_policy"] == "refuse"
