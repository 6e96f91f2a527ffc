"""Errors that point the right way: each mistake a newcomer makes gets an answer naming the fix."""

from __future__ import annotations

import orjson

from tests.clients.conftest import Cli
from tests.helpers import TAXII, auth, indicator


async def _collections(http, base_url, key) -> list[dict]:
    async with http.get(f"{base_url}/taxii2/root/collections/", headers=auth(key)) as resp:
        return (await resp.json(content_type=None))["collections"]


async def test_the_taxii_discovery_url_works_as_url(cli: Cli, world, tmp_path):
    src = tmp_path / "one.json"
    src.write_bytes(orjson.dumps(indicator("192.0.2.77")))
    for url in (f"{cli.base_url}/taxii2/", f"{cli.base_url}/taxii2", f"{cli.base_url}/"):
        done = await cli(world.alice.contributor.token, "push", str(src), "--collection",
                         str(world.collection_id), url=url)
        assert done.code == 0, (url, done.err)
        assert "1 object(s), 1 accepted, 0 refused" in done.out


async def test_a_url_without_scheme_says_so(cli: Cli, world):
    bare = cli.base_url.removeprefix("http://")
    done = await cli(world.bob.reader.token, "feed", "list", url=bare)
    assert done.code == 1
    assert f"has no scheme: give http://{bare}" in done.err
    assert "cannot reach" not in done.err


async def test_posting_to_the_reference_collection_says_read_only(cli: Cli, world, http,
                                                                   base_url, tmp_path):
    found = await _collections(http, base_url, world.alice.contributor)
    reference = next(c["id"] for c in found if c["title"] == "Accord reference")
    src = tmp_path / "one.json"
    src.write_bytes(orjson.dumps(indicator("192.0.2.78")))
    done = await cli(world.alice.contributor.token, "push", str(src), "--collection", reference)
    assert done.code == 1
    assert "'Accord reference' is read-only" in done.err
    assert "contributor role" not in done.err
    # A reader posting to a live collection is still told the role it needs.
    async with http.post(f"{base_url}/taxii2/root/collections/{world.collection_id}/objects/",
                         data=orjson.dumps({"objects": [indicator()]}),
                         headers=auth(world.alice.reader)) as resp:
        body = await resp.json(content_type=None)
    assert resp.status == 403 and "contributor role" in body["description"]


async def test_collection_by_title_when_unambiguous_else_the_matches(cli: Cli, world, http,
                                                                     base_url, tmp_path):
    src = tmp_path / "one.json"
    src.write_bytes(orjson.dumps(indicator("192.0.2.79")))
    title = next(c["title"] for c in await _collections(http, base_url, world.alice.reader)
                 if c["id"] == str(world.collection_id))
    done = await cli(world.alice.contributor.token, "push", str(src), "--collection", title)
    assert done.code == 0, done.err
    assert f"-> collection {world.collection_id}" in done.out
    made = []
    for _ in range(2):
        async with http.post(f"{base_url}/api/v1/groups/{world.group_id}/collections",
                             json={"title": "Twin IOCs"},
                             headers={"Authorization": f"Bearer {world.platform.token}"}) as r:
            assert r.status == 201
            made.append((await r.json())["id"])
    done = await cli(world.alice.contributor.token, "push", str(src), "--collection",
                     "Twin IOCs")
    assert done.code == 1
    assert "2 collections are titled 'Twin IOCs'" in done.err
    assert made[0] in done.err and made[1] in done.err
    done = await cli(world.alice.contributor.token, "push", str(src), "--collection",
                     "No Such Title")
    assert done.code == 1 and "no collection with the id or title 'No Such Title'" in done.err
    assert title in done.err  # it lists what the key does see


async def test_missing_trailing_slash_redirects_with_308_naming_the_path(http, base_url, world):
    path = f"/taxii2/root/collections/{world.collection_id}/objects"
    async with http.get(base_url + path + "?limit=1", headers=auth(world.bob.reader),
                        allow_redirects=False) as resp:
        body = await resp.json(content_type=None)
        assert resp.status == 308
        assert resp.headers["Location"] == path + "/?limit=1"
        assert resp.headers["Content-Type"].startswith("application/taxii+json")
    assert path + "/" in body["description"]
    # A POST is redirected too (308 keeps method and body); followed, it stores the object.
    obj = indicator("192.0.2.80")
    async with http.post(base_url + path, data=orjson.dumps({"objects": [obj]}),
                         headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 202, await resp.text()
    # A path that is wrong with or without the slash is still a plain 404.
    async with http.get(base_url + "/taxii2/root/nothing-here", headers=auth(world.bob.reader),
                        allow_redirects=False) as resp:
        assert resp.status == 404
    async with http.get(base_url + "/taxii2", headers={**TAXII, **auth(world.bob.reader)},
                        allow_redirects=False) as resp:
        assert resp.status == 308 and resp.headers["Location"] == "/taxii2/"


async def test_json_errors_give_the_real_line_and_column(cli: Cli, world, tmp_path):
    pretty = tmp_path / "report.json"
    pretty.write_text('{\n  "type": "bundle",\n  "objects": [\n    {"type": "indicator",,}\n'
                      "  ]\n}\n")
    done = await cli(world.alice.contributor.token, "push", str(pretty), "--collection",
                     str(world.collection_id))
    assert done.code == 1
    assert f"{pretty}: not JSON at line 4, column 26" in done.err, done.err
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_bytes(orjson.dumps(indicator()) + b"\n" + b'{"type": oops}\n')
    done = await cli(world.alice.contributor.token, "push", str(jsonl), "--collection",
                     str(world.collection_id))
    assert done.code == 1 and f"{jsonl}: not JSON at line 2, column 10" in done.err, done.err


async def test_a_csv_pushed_without_csv_gets_the_hint(cli: Cli, world, tmp_path):
    src = tmp_path / "blocklist.csv"
    src.write_text("value,description\n198.51.100.1,scanner\n")
    done = await cli(world.alice.contributor.token, "push", str(src), "--collection",
                     str(world.collection_id))
    assert done.code == 1
    assert "is it a CSV list? use --csv" in done.err and "--txt" in done.err


async def test_an_unterminated_quote_is_reported_and_reading_goes_on(cli: Cli, world, tmp_path):
    src = tmp_path / "quotes.csv"
    src.write_text('value,description\n198.51.100.11,fine\n198.51.100.12,"never closed\n'
                   '198.51.100.13,next row\n198.51.100.14,"quoted, fine"\nbogus,x\n'
                   "198.51.100.11,again\n")
    done = await cli(world.alice.contributor.token, "push", "--csv", str(src),
                     "--collection", str(world.collection_id))
    assert done.code == 1
    assert f"refused {src}:3: unterminated quote" in done.err
    assert f"refused {src}:6: not an IP address" in done.err
    # Seven rows: three accepted (.11, .13, .14), two refused, one repeated: it adds up.
    assert "6 value(s), 3 accepted, 2 refused, 1 repeated (sent once)" in done.out, done.out
