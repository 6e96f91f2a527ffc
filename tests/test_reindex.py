"""`accord admin reindex`: versions stored before migration 0020 get their lookup values
and warninglist flags, in batches, resuming where a stopped run stopped."""

from __future__ import annotations

import asyncio
import uuid

import orjson

from server.cli import main
from tests.feed_helpers import create_feed, json_auth
from tests.helpers import TLP_GREEN, auth, indicator, post


async def _lookup(http, base_url, key, value: str) -> list[dict]:
    async with http.get(f"{base_url}/api/v1/lookup", params={"value": value},
                        headers=json_auth(key)) as resp:
        assert resp.status == 200
        return orjson.loads(await resp.read())["results"][0]["matches"]


async def _export(http, base_url, key, feed_id: str) -> set[str]:
    async with http.get(f"{base_url}/api/v1/feeds/{feed_id}/export.txt",
                        headers=auth(key)) as resp:
        assert resp.status == 200
        return set((await resp.text()).split())


async def test_reindex_backfills_versions_stored_before_0020_and_resumes(
        http, base_url, world, pool, database_url, monkeypatch, capsys):
    domain = f"c2.{uuid.uuid4().hex[:12]}.example"
    private = f"10.{uuid.uuid4().int % 250}.7.9"  # RFC 1918: on the shipped lists
    compound = {**indicator(), "object_marking_refs": [TLP_GREEN],
                "pattern": f"[domain-name:value = '{domain}' AND url:value = 'http://{domain}/x']"}
    listed = indicator(private, object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, compound, listed)
    feed = await create_feed(http, base_url, world.bob.reader, filter={
        "collections": [str(world.collection_id)], "include_warninglisted": False})
    assert await _lookup(http, base_url, world.bob.reader, domain)
    assert private not in await _export(http, base_url, world.bob.reader, feed["id"])

    # As a version stored before 0020 was: no lookup values, no flag.
    ids = [compound["id"], listed["id"]]
    await pool.execute("UPDATE objects SET obs_kinds = NULL, obs_values = NULL, warned = NULL"
                       " WHERE stix_id = ANY($1::text[])", ids)
    assert await _lookup(http, base_url, world.bob.reader, domain) == []
    assert private in await _export(http, base_url, world.bob.reader, feed["id"])

    monkeypatch.setenv("ACCORD_DATABASE_URL", database_url)
    # A bounded run stops part-way and records where; the next resumes from there.
    code = await asyncio.to_thread(main, ["admin", "reindex", "--restart", "--batch", "1",
                                          "--max-batches", "1"])
    assert code == 0 and "stopped (run again to resume)" in capsys.readouterr().out
    stopped_at = await pool.fetchval(
        "SELECT last_seq FROM reindex_progress WHERE name = 'lookup' AND finished IS NULL")
    assert stopped_at > 0
    code = await asyncio.to_thread(main, ["admin", "reindex"])
    out = capsys.readouterr().out
    assert code == 0 and "reindex finished" in out and f"resumed after seq {stopped_at}" in out

    [match] = await _lookup(http, base_url, world.bob.reader, domain)
    assert match["id"] == compound["id"]
    assert private not in await _export(http, base_url, world.bob.reader, feed["id"])
    # The flag is in blocklist_rows too (the export's fast path), and the change is stamped
    # so that export watermarks move.
    row = await pool.fetchrow(
        "SELECT b.warned, o.changed IS NOT NULL AS stamped FROM objects o"
        " JOIN blocklist_rows b ON b.seq = o.seq WHERE o.stix_id = $1", listed["id"])
    assert row["warned"] is True and row["stamped"] is True

    # Nothing left to change: a new run rewrites nothing.
    code = await asyncio.to_thread(main, ["admin", "reindex"])
    assert code == 0 and "0 rewritten (from the start)" in capsys.readouterr().out
