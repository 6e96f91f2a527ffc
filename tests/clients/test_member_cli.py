"""`accord collections | ls | get | status | feed export` as a member browses with them."""

from __future__ import annotations

import orjson

from tests.clients.conftest import Cli
from tests.feed_helpers import create_feed
from tests.helpers import auth, indicator


async def _post(http, base_url, world, *objects) -> dict:
    async with http.post(f"{base_url}/taxii2/root/collections/{world.collection_id}/objects/",
                         data=orjson.dumps({"objects": list(objects)}),
                         headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 202
        return await resp.json(content_type=None)


async def _title(http, base_url, world) -> str:
    async with http.get(f"{base_url}/taxii2/root/collections/{world.collection_id}/",
                        headers=auth(world.bob.reader)) as resp:
        return (await resp.json(content_type=None))["title"]


async def test_collections_and_ls(cli: Cli, world, http, base_url):
    title = await _title(http, base_url, world)
    done = await cli(world.alice.contributor.token, "collections")
    assert done.code == 0, done.err
    assert f"{world.collection_id}  read+write  {title}" in done.out
    assert "read        Accord reference" in done.out
    reader = await cli(world.bob.reader.token, "collections")
    assert f"{world.collection_id}  read        {title}" in reader.out

    first = indicator("192.0.2.201", name="first C2")
    await _post(http, base_url, world, first)
    done = await cli(world.bob.reader.token, "ls", title, "--type", "indicator")
    assert done.code == 0, done.err
    assert f"{first['id']}  {first['modified']}  first C2" in done.out
    done = await cli(world.bob.reader.token, "ls", str(world.collection_id), "--type",
                     "malware")
    assert done.out.strip() == f"no objects of type malware in collection {world.collection_id}"
    done = await cli(world.bob.reader.token, "ls", title, "--since", "2999-01-01T00:00:00Z")
    assert "no objects added after 2999-01-01T00:00:00Z" in done.out
    lonely = await cli(world.mallory.reader.token, "collections")
    assert lonely.code == 0 and "Accord reference" in lonely.out


async def test_get_shows_the_object_its_versions_and_producer(cli: Cli, world, http, base_url):
    v1 = indicator("192.0.2.202", modified="2026-01-01T00:00:00.000Z",
                   created_by_ref=world.alice.identity_id)
    v2 = {**v1, "modified": "2026-02-01T00:00:00.000Z", "name": "renamed"}
    await _post(http, base_url, world, v1, v2)
    done = await cli(world.bob.reader.token, "get", v1["id"])
    assert done.code == 0, done.err
    shown = orjson.loads(done.out)
    assert shown["id"] == v1["id"] and shown["name"] == "renamed"
    assert ("2 version(s): 2026-01-01T00:00:00.000Z, 2026-02-01T00:00:00.000Z"
            in done.err)
    assert f"# producer: {world.alice.identity_id}" in done.err
    missing = await cli(world.mallory.reader.token, "get", v1["id"])
    assert missing.code == 1 and "no object" in missing.err


async def test_status_of_a_post(cli: Cli, world, http, base_url):
    status = await _post(http, base_url, world, indicator("192.0.2.203"))
    done = await cli(world.alice.reader.token, "status", status["id"])
    assert done.code == 0, done.err
    assert orjson.loads(done.out)["success_count"] == 1
    other = await cli(world.bob.reader.token, "status", status["id"])
    assert other.code == 1  # another organisation's status is not found


async def test_feed_export_in_each_format_and_feed_name_warnings(cli: Cli, world, http,
                                                                   base_url, tmp_path):
    await _post(http, base_url, world, indicator("198.51.100.204"))
    feed = await create_feed(http, base_url, world.bob.reader, name="firewall",
                             filter={"collections": [str(world.collection_id)]})
    txt = await cli(world.bob.reader.token, "feed", "export", "firewall", "--format", "txt")
    assert txt.code == 0, txt.err
    assert "198.51.100.204" in txt.out.splitlines()
    csv = await cli(world.bob.reader.token, "feed", "export", feed["id"], "--format", "csv",
                    "--kind", "ipv4")
    assert csv.out.startswith("kind,value") and "198.51.100.204" in csv.out
    out = tmp_path / "feed.stix"
    stix = await cli(world.bob.reader.token, "feed", "export", feed["id"], "--format", "stix",
                     "--out", str(out))
    assert stix.code == 0 and orjson.loads(out.read_bytes())["type"] == "bundle"

    again = await cli(world.bob.reader.token, "feed", "create", "firewall")
    assert again.code == 0
    assert f"already has 1 feed(s) named 'firewall' ({feed['id']})" in again.err
    ambiguous = await cli(world.bob.reader.token, "feed", "export", "firewall")
    assert ambiguous.code == 1 and "2 feeds are named 'firewall'" in ambiguous.err
    none = await cli(world.mallory.reader.token, "feed", "list")
    assert none.out.strip() == "no feeds yet (accord feed create NAME ...)"
    deliveries = await cli(world.bob.reader.token, "feed", "deliveries", feed["id"])
    assert deliveries.out.strip() == f"no webhook deliveries for feed {feed['id']}"
