"""Warninglists: shipped data, pure matching, the update from a misp-warninglists checkout."""

from __future__ import annotations

import orjson

from server.cli import main
from server.ingest import warninglists


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
    lists.add("hosts", "hostname", ["example.com"])
    lists.add("exact", "string", ["example.org"])
    assert lists.match("ipv4", "10.9.8.7") == ["nets"]
    assert lists.match("ipv4", "10.9.0.0/16") == ["nets"]
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


async def test_a_warninglisted_value_is_stored_with_a_warning_and_left_out_on_request(
        http, base_url, world):
    from tests.feed_helpers import create_feed
    from tests.helpers import TLP_GREEN, auth, get_json, indicator, post

    listed = indicator("8.8.8.8", object_marking_refs=[TLP_GREEN])
    wide = indicator("8.0.0.0/8", object_marking_refs=[TLP_GREEN])  # holds a resolver
    plain = indicator("93.184.216.34", object_marking_refs=[TLP_GREEN])
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        listed, wide, plain)
    messages = {s["id"]: s.get("message", "") for s in status["successes"]}
    assert "public-dns-v4" in messages[listed["id"]]
    assert "public-dns-v4" in messages[wide["id"]]
    assert messages[plain["id"]] == ""
    ids, values = {}, {}
    for exclude in (False, True):
        feed = await create_feed(http, base_url, world.bob.reader, filter={
            "collections": [str(world.collection_id)], "exclude_warninglisted": exclude})
        url = f"{base_url}/taxii2/feeds/collections/{feed['id']}/objects/"
        code, body, _ = await get_json(http, url, world.bob.reader)
        assert code == 200
        ids[exclude] = {o["id"] for o in body["objects"]}
        async with http.get(f"{base_url}/api/v1/feeds/{feed['id']}/export.txt",
                            headers=auth(world.bob.reader)) as resp:
            assert resp.status == 200, await resp.text()
            values[exclude] = set((await resp.text()).split())
    assert {listed["id"], wide["id"], plain["id"]} <= ids[False]
    assert plain["id"] in ids[True] and not {listed["id"], wide["id"]} & ids[True]
    # The blocklist export leaves them out alike.
    assert {"8.8.8.8", "8.0.0.0/8", "93.184.216.34"} <= values[False]
    assert "93.184.216.34" in values[True] and not {"8.8.8.8", "8.0.0.0/8"} & values[True]
