"""EXPLAIN ANALYZE of Accord's hot queries, JIT on and off, on a database bench/scale.py loaded.

Run from the repository root after `bench/scale.py --database-url DSN` (its data stays):
`.venv/bin/python bench/explain.py --database-url DSN`. The reader is the scale bench's
member of every group (not a producer); the queries are built by Accord's own store code,
so they are exactly what the server sends. Migrations are applied first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.feeds import FeedFilter
from schemas.principal import Principal, Role, Sector
from schemas.taxii import Cursor, ObjectQuery, VersionMatch
from server.db.migrate import migrate
from server.store import exports
from server.store import objects as objs
from server.store.query import Params


def _plan_figures(plan: dict[str, Any]) -> dict[str, Any]:
    top = plan["Plan"]
    jit = plan.get("JIT", {})
    return {
        "est_cost": top["Total Cost"], "est_rows": top["Plan Rows"],
        "rows": top.get("Actual Rows"), "planning_ms": plan.get("Planning Time"),
        "execution_ms": plan.get("Execution Time"),
        "jit_ms": jit.get("Timing", {}).get("Total"), "jit_functions": jit.get("Functions"),
    }


async def _explain(conn: asyncpg.Connection, sql: str, args: list[Any]) -> dict[str, Any]:
    raw = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args)
    return _plan_figures(orjson.loads(raw)[0])


async def main() -> None:
    """Print one line per (query, jit setting)."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--database-url", required=True)
    p.add_argument("--show-plan", help="print the full plan of this query name (jit on)")
    args = p.parse_args()
    conn = await asyncpg.connect(args.database_url)
    await migrate(conn)
    print("server:", await conn.fetchval("SELECT version()"))
    print("objects:", await conn.fetchval("SELECT count(*) FROM objects"))
    org = await conn.fetchrow("SELECT id, name, sector, identity_id FROM organizations"
                              " WHERE name LIKE 'scale-reader-%' ORDER BY created DESC LIMIT 1")
    reader = Principal("bench", org["id"], org["name"], Sector(org["sector"]), Role.READER,
                       org["identity_id"])
    groups = await conn.fetchval("SELECT count(*) FROM group_members WHERE org_id = $1",
                                 org["id"])
    coll = await conn.fetchval(
        "SELECT c.id FROM collections c JOIN group_members m ON m.group_id = c.group_id"
        " WHERE m.org_id = $1 ORDER BY c.created LIMIT 1", org["id"])
    mid = await conn.fetchrow(
        "SELECT date_added, seq, stix_id FROM objects WHERE collection_id = $1"
        " ORDER BY date_added, seq OFFSET 50000 LIMIT 1", coll)
    # The last-loaded collection too: judged by the table-wide date_added histogram, its
    # middle looks like the table's last few percent (the plan that went wrong, issue 17).
    last = await conn.fetchval(
        "SELECT c.id FROM collections c JOIN group_members m ON m.group_id = c.group_id"
        " WHERE m.org_id = $1 ORDER BY c.created DESC LIMIT 1", org["id"])
    last_mid = await conn.fetchrow(
        "SELECT date_added, seq FROM objects WHERE collection_id = $1"
        " ORDER BY date_added, seq OFFSET 50000 LIMIT 1", last)
    print(f"reader {org['name']}: member of {groups} groups, producer of nothing")
    f = FeedFilter(types=["indicator"])
    page = ObjectQuery(limit=1000)
    later = ObjectQuery(limit=1000, cursor=Cursor(mid["date_added"], mid["seq"]))
    every = VersionMatch(all=True)
    queries: dict[str, tuple[str, list[Any]]] = {}

    def add(name: str, q: Any) -> None:
        queries[name] = (q.sql, q.args)

    add("objects page 1", objs._filtered(reader, coll, page, objs.Projection.BODY))
    add("objects page (next)", objs._filtered(reader, coll, later, objs.Projection.BODY))
    if last_mid is not None:
        add("objects page (next), last collection", objs._filtered(
            reader, last, ObjectQuery(limit=1000, cursor=Cursor(last_mid["date_added"],
                                                                last_mid["seq"])),
            objs.Projection.BODY))
    add("manifest page", objs._filtered(reader, coll, page, objs.Projection.MANIFEST))
    add("versions of one id", objs._filtered(
        reader, coll, ObjectQuery(limit=1000, versions=every), objs.Projection.VERSION,
        stix_id=mid["stix_id"], paged=False))
    add("feed TAXII view page", objs._filtered(reader, None, page, objs.Projection.BODY, feed=f))
    add("stream replay batch", objs._filtered(
        reader, None, ObjectQuery(limit=500, versions=every), objs.Projection.BODY, feed=f))
    w = Params()
    queries["export watermark (ETag)"] = (exports.watermark_sql(reader, f, w), w.values)
    e = Params()
    queries["export.txt rows (full)"] = (exports._lines(reader, f, e), e.values)
    e = Params()
    queries["export.txt rows, a value each"] = (  # ?kind=, and the full export before
        f"SELECT v FROM ({exports._values(reader, f, None, e)}) x", e.values)
    e = Params()
    queries["export.txt rows, objects"] = (  # the same rows as before migration 0016
        f"SELECT v FROM ({exports._values(reader, f, None, e, table='objects')}) x", e.values)
    for name, (sql, qargs) in queries.items():
        for jit in ("on", "off"):
            await conn.execute(f"SET jit = {jit}")
            figures = await _explain(conn, sql, qargs)
            print(f"{name:<36} jit={jit:<3} " + "  ".join(f"{k}={v}" for k, v in figures.items()),
                  flush=True)
        if args.show_plan == name:
            await conn.execute("SET jit = on")
            for line in await conn.fetch(f"EXPLAIN ANALYZE {sql}", *qargs):
                print("   ", line[0])
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
