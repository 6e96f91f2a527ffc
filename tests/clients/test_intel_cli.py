"""`accord lookup` and `accord sight` from the command line."""

from __future__ import annotations

import orjson

from tests.helpers import indicator, post
from tests.test_lookup import _unique_domain, _unique_ip


async def test_lookup_values_and_a_file(cli, world, http, base_url, tmp_path):
    ip, domain = _unique_ip(), _unique_domain()
    obj = indicator(ip)
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    found = await cli(world.bob.reader.token, "lookup", ip, "--json")
    assert found.code == 0, found.err
    [result] = [orjson.loads(line) for line in found.out.splitlines()]
    assert [m["id"] for m in result["matches"]] == [obj["id"]]
    values = tmp_path / "values.txt"
    values.write_text(f"# triage\n{domain}\n{ip}\n")
    listed = await cli(world.bob.reader.token, "lookup", "--file", str(values))
    assert listed.code == 0 and obj["id"] in listed.out
    assert f"{domain}  domain  0 match" in listed.out
    none = await cli(world.bob.reader.token, "lookup", domain)
    assert none.code == 3


async def test_sight_reports_on_the_members_behalf(cli, world, http, base_url):
    ip = _unique_ip()
    obj = indicator(ip)
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    done = await cli(world.bob.contributor.token, "sight", obj["id"], "--false-positive",
                     "--count", "2")
    assert done.code == 0, done.err
    assert orjson.loads(done.out)["kind"] == "false-positive"
    found = await cli(world.alice.reader.token, "lookup", ip, "--json")
    assert orjson.loads(found.out)["matches"][0]["sightings"]["false_positives"] == 1
    refused = await cli(world.mallory.contributor.token, "sight", obj["id"])
    assert refused.code != 0 and "no indicator" in (refused.err + refused.out).lower()
