"""Migrations that rewrite stored rows, run against rows stored before them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import orjson

from server.db.migrate import migrate
from tests.conftest import fresh_database


async def test_0025_drops_the_old_warninglist_opt_out_from_stored_feeds(admin_dsn):
    # Before 0025 every stored filter held `exclude_warninglisted` (false by default, written
    # out whether asked or not); after it, no filter may hold the key, and each feed's
    # `updated` moves so that export ETags handed out before change.
    async with fresh_database(admin_dsn) as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, upto=24)
            org = uuid.uuid4()
            await conn.execute(
                "INSERT INTO organizations (id, name, sector, identity_id)"
                " VALUES ($1, 'Old Member', 'private', $2)", org, f"identity--{org}")
            old, plain = uuid.uuid4(), uuid.uuid4()
            before = datetime(2026, 1, 1, tzinfo=UTC)
            for feed, filter_ in (
                    (old, {"types": ["indicator"], "exclude_warninglisted": False}),
                    (plain, {"types": ["indicator"]})):
                await conn.execute(
                    "INSERT INTO feeds (id, org_id, name, filter, updated)"
                    " VALUES ($1, $2, 'f', $3::jsonb, $4)",
                    feed, org, orjson.dumps(filter_).decode(), before)
            assert await migrate(conn, upto=25) == ["0025_warninglisted_default.sql"]
            rows = {r["id"]: r for r in await conn.fetch(
                "SELECT id, filter::text AS filter, updated > $1 AS moved"
                " FROM feeds", before)}
            assert orjson.loads(rows[old]["filter"]) == {"types": ["indicator"]}
            assert rows[old]["moved"]
            # A filter without the key is left as it was.
            assert orjson.loads(rows[plain]["filter"]) == {"types": ["indicator"]}
            assert not rows[plain]["moved"]
        finally:
            await conn.close()
