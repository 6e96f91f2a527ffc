"""`accord feed ...`: an analyst manages saved feeds from the command line."""

from __future__ import annotations

import orjson


async def test_feed_create_list_update_show_delete(cli, world):
    key = world.bob.reader.token
    made = await cli(key, "feed", "create", "c2 domains", "--type", "indicator",
                     "--kind", "domain", "--min-confidence", "60", "--valid-only")
    assert made.code == 0, made.err
    feed = orjson.loads(made.out)
    assert feed["filter"] == {"types": ["indicator"], "observable_kinds": ["domain"],
                              "min_confidence": 60, "valid_only": True,
                              "include_warninglisted": False, "sightings_of_mine": False}
    listed = await cli(key, "feed", "list")
    assert f"{feed['id']}  c2 domains" in listed.out
    changed = await cli(key, "feed", "update", feed["id"], "--name", "renamed",
                        "--tlp-max", "green")
    assert changed.code == 0, changed.err
    # A new filter replaces the stored one whole.
    new_filter = orjson.loads(changed.out)["filter"]
    assert new_filter["tlp_max"] == "green" and "types" not in new_filter
    shown = await cli(key, "feed", "show", feed["id"])
    assert orjson.loads(shown.out)["name"] == "renamed"
    other = await cli(world.mallory.reader.token, "feed", "show", feed["id"])
    assert other.code != 0 and "not found" in (other.err + other.out).lower()
    gone = await cli(key, "feed", "delete", feed["id"])
    assert gone.code == 0 and feed["id"] in gone.out
    assert feed["id"] not in (await cli(key, "feed", "list")).out


async def test_bad_filter_is_a_clear_error(cli, world):
    bad = await cli(world.bob.reader.token, "feed", "create", "x", "--tlp-max", "purple")
    assert bad.code != 0
    assert "--tlp-max: invalid choice: 'purple'" in bad.err and "amber+strict" in bad.err
    # A bad filter that only the server can judge: its answer names the field.
    bad = await cli(world.bob.reader.token, "feed", "create", "x", "--filter",
                    '{"tlp_max": "purple"}')
    assert bad.code != 0
    assert "tlp_max" in bad.err + bad.out
