"""Scale benchmark: N indicators (1,000,000 by default) in 10 trust groups, read by a member.

Run from the repository root: `.venv/bin/python bench/scale.py [--count N]
[--database-url DSN]`. Loads through the real ingest (HTTP POST, several producer
organisations posting concurrently), then measures as an organisation that is a member of
every group but produced nothing: paged collection reads, the feed's TAXII view, the
blocklist export (full, 304, delta), and the feed's stream replayed from the beginning.
Every phase is bounded in count and time; the server is stopped by its pid at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from common import (
    TAXII,
    AccordServer,
    BenchError,
    TaxiiClient,
    _pattern,
    _stamp,
    describe_server,
    post_all,
)

GROUPS = 10
PRODUCERS = 4
ENVELOPE = 1000


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--count", type=int, default=1_000_000, help="indicators loaded")
    p.add_argument("--database-url", help="PostgreSQL DSN (default: embedded, temp dir)")
    p.add_argument("--workers", type=int, default=2, help="accord serve --workers")
    p.add_argument("--concurrency", type=int, default=4, help="concurrent posting clients")
    p.add_argument("--pages", type=int, default=100, help="pages of 1,000 read per view")
    p.add_argument("--collection", type=int, default=0, choices=range(GROUPS),
                   help="which of the 10 collections to page through (their load order)")
    p.add_argument("--replay", type=int, default=200_000, help="stream events replayed")
    p.add_argument("--ingest-only", action="store_true", help="load, print the rate, stop")
    p.add_argument("--reuse", action="store_true",
                   help="with --database-url: measure what an earlier run loaded there"
                        " (no load; new keys for its reader and a producer)")
    p.add_argument("--export-rounds", type=int, default=3,
                   help="full exports of each format (txt, csv) timed; best and median")
    p.add_argument("--time-limit", type=float, default=3600, help="seconds per phase, at most")
    return p.parse_args()


def _indicator(i: int, rng: random.Random) -> dict[str, Any]:
    """Indicator number i (globally unique value and id), about 600 bytes."""
    created = _stamp(datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=i))
    pattern, what = _pattern(i % 5, i, rng)
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        "created": created, "modified": created,
        "name": f"scale {what.split(' ')[0]} indicator #{i}",
        "indicator_types": ["malicious-activity"], "pattern": pattern,
        "pattern_type": "stix", "valid_from": created, "confidence": 30 + i % 71,
    }


def _envelopes(start: int, count: int, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for first in range(start, start + count, ENVELOPE):
        last = min(start + count, first + ENVELOPE)
        yield orjson.dumps({"objects": [_indicator(i, rng) for i in range(first, last)]})


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _server_pids(server: AccordServer) -> list[int]:
    from common import _children
    assert server.proc is not None
    pids = [server.proc.pid, *_children(server.proc.pid)]
    return [p for p in pids if b"server.cli" in Path(f"/proc/{p}/cmdline").read_bytes()]


class Setup:
    """Producers, groups with one collection each, a reader member of all, its feed."""

    def __init__(self, server: AccordServer) -> None:
        tag = uuid.uuid4().hex[:6]
        self.producers = [f"scale-producer-{tag}-{n}" for n in range(PRODUCERS)]
        self.reader_org = f"scale-reader-{tag}"
        for org in [*self.producers, self.reader_org]:
            server.admin("org", "create", org, "--sector", "private")
        self.collections: list[str] = []
        for g in range(GROUPS):
            group = f"scale-group-{tag}-{g}"
            members = [a for o in [*self.producers, self.reader_org] for a in ("--member", o)]
            server.admin("group", "create", group, *members)
            self.collections.append(
                server.admin("collection", "create", f"scale-{tag}-{g}", "--group", group))
        self.producer_keys = [server.admin("key", "create", "--org", o, "--role",
                                           "contributor", "--quiet") for o in self.producers]
        self.reader_key = server.admin("key", "create", "--org", self.reader_org, "--role",
                                       "reader", "--quiet")


class Reused(Setup):
    """The organisations and collections of the latest earlier run in this database."""

    def __init__(self, server: AccordServer, dsn: str) -> None:
        import asyncpg

        async def look() -> tuple[str, list[str], list[str]]:
            conn = await asyncpg.connect(dsn)
            try:
                reader = await conn.fetchrow(
                    "SELECT id, name FROM organizations WHERE name LIKE 'scale-reader-%'"
                    " ORDER BY created DESC LIMIT 1")
                if reader is None:
                    raise BenchError("--reuse: no earlier scale run in this database")
                tag = reader["name"].removeprefix("scale-reader-")
                colls = await conn.fetch(
                    "SELECT c.id FROM collections c JOIN group_members m ON m.group_id ="
                    " c.group_id WHERE m.org_id = $1 AND c.title LIKE $2 ORDER BY c.title",
                    reader["id"], f"scale-{tag}-%")
                return reader["name"], [str(r["id"]) for r in colls], [
                    f"scale-producer-{tag}-{n}" for n in range(PRODUCERS)]
            finally:
                await conn.close()

        self.reader_org, self.collections, self.producers = asyncio.run(look())
        self.producer_keys = [server.admin("key", "create", "--org", self.producers[0],
                                           "--role", "contributor", "--quiet")]
        self.reader_key = server.admin("key", "create", "--org", self.reader_org, "--role",
                                       "reader", "--quiet")


async def _load(server: AccordServer, setup: Setup, args: argparse.Namespace) -> list[str]:
    """Post the indicators: collection c gets a share from each producer. Print the rate."""
    per_collection = args.count // GROUPS
    share = max(1, per_collection // PRODUCERS)
    jobs = []
    for c, coll in enumerate(setup.collections):
        for p_ in range(PRODUCERS):
            start = c * per_collection + p_ * share
            n = share if p_ < PRODUCERS - 1 else per_collection - p_ * share
            jobs.append((coll, setup.producer_keys[p_], start, n, c * PRODUCERS + p_))
    print(f"loading {GROUPS * per_collection:,} indicators: {len(jobs)} (collection,"
          f" producer) streams, {args.concurrency} at a time", flush=True)
    sem = asyncio.Semaphore(args.concurrency)
    total = [0, 0]
    deadline = time.monotonic() + args.time_limit

    async def job(coll: str, key: str, start: int, n: int, seed: int) -> None:
        async with sem:
            client = TaxiiClient(server.target(key, coll), 1)
            async with client:
                got = await post_all(client, list(_envelopes(start, n, seed)), 1,
                                     deadline - time.monotonic())
            total[0] += got.objects
            total[1] += got.failures

    t0 = time.perf_counter()
    await asyncio.gather(*(job(*j) for j in jobs))
    seconds = time.perf_counter() - t0
    print(f"ingest: {total[0]:,} objects in {seconds:.1f} s = {total[0] / seconds:,.0f}"
          f" objects/s ({total[1]} failures, generation included in the client)", flush=True)
    return [f"ingest (HTTP, {args.concurrency} clients)", f"{total[0] / seconds:,.0f} obj/s",
            f"{total[0]:,} in {seconds:.0f} s"]


async def _pages(session: aiohttp.ClientSession, url: str, pages: int,
                 deadline: float) -> tuple[float, float, float]:
    """Follow `next` for up to `pages` pages of 1,000; (median ms a page, slowest ms,
    objects/s). The slowest page shows a plan that goes wrong past some point of the
    collection, which the median of a walk from page one can hide."""
    params = {"limit": "1000"}
    times, seen = [], 0
    for _ in range(pages):
        if time.monotonic() > deadline:
            break
        t = time.perf_counter()
        async with session.get(url, params=params) as resp:
            raw = await resp.read()
            if resp.status != 200:
                raise BenchError(f"GET {url}: {resp.status} {raw[:200]!r}")
        times.append(time.perf_counter() - t)
        page = orjson.loads(raw)
        seen += len(page.get("objects", []))
        if not page.get("more"):
            break
        params = {"limit": "1000", "next": page["next"]}
    return statistics.median(times) * 1000, max(times) * 1000, seen / sum(times)


async def _export(s: aiohttp.ClientSession, url: str, pids: list[int]
                  ) -> tuple[float, int, int, float, float, float, str]:
    """One full export: (values/s, lines, bytes, seconds, RSS before, peak RSS, ETag).
    A CSV's header line is not a value."""
    rss_before = _rss_mb(pids)
    peak = [rss_before]
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb(pids))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    t = time.perf_counter()
    size = lines = 0
    async with s.get(url, headers={"Accept": "*/*"}) as resp:
        if resp.status != 200:
            raise BenchError(f"export: {resp.status}")
        etag = resp.headers["ETag"]
        async for chunk in resp.content.iter_chunked(1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - t
    done.set()
    await sampler
    values = lines - 1 if url.endswith(".csv") else lines
    return values / seconds, values, size, seconds, rss_before, peak[0], etag


async def _measure(server: AccordServer, setup: Setup, args: argparse.Namespace
                   ) -> list[list[str]]:
    rows: list[list[str]] = []
    headers = {"Authorization": f"Bearer {setup.reader_key}", "Accept": TAXII}
    timeout = aiohttp.ClientTimeout(total=args.time_limit)
    deadline = time.monotonic() + args.time_limit
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as s:
        async with s.post(f"{server.base}/api/v1/feeds",
                          json={"name": "all indicators", "filter": {"types": ["indicator"]}},
                          headers={"Content-Type": "application/json",
                                   "Accept": "application/json"}) as resp:
            feed = (await resp.json())["id"]
        coll = f"{server.api_root}/collections/{setup.collections[args.collection]}/objects/"
        ms, slowest, rate = await _pages(s, coll, args.pages, deadline)
        rows.append([f"collection {args.collection} page, limit 1,000",
                     f"{ms:.1f} ms/page (slowest {slowest:.1f})", f"{rate:,.0f} obj/s"])
        print(rows[-1], flush=True)
        view = f"{server.base}/taxii2/feeds/collections/{feed}/objects/"
        ms, slowest, rate = await _pages(s, view, args.pages, deadline)
        rows.append(["feed TAXII view, limit 1,000", f"{ms:.1f} ms/page (slowest {slowest:.1f})",
                     f"{rate:,.0f} obj/s"])
        print(rows[-1], flush=True)

        export = f"{server.base}/api/v1/feeds/{feed}/export.txt"
        pids = _server_pids(server)
        etag = ""
        for fmt in ("txt", "csv"):
            runs = []
            for _ in range(max(1, args.export_rounds)):
                run = await _export(s, f"{server.base}/api/v1/feeds/{feed}/export.{fmt}", pids)
                print(f"export.{fmt}: {run[0]:,.0f} values/s, {run[1]:,} lines,"
                      f" {run[2] / 1e6:.0f} MB in {run[3]:.2f} s, server RSS {run[4]:.0f} ->"
                      f" peak {run[5]:.0f} MB", flush=True)
                runs.append(run)
                etag = etag if fmt == "csv" else run[6]
            best = max(runs)
            rows.append([f"export.{fmt} full", f"{statistics.median(r[0] for r in runs):,.0f}"
                         f" values/s (median of {len(runs)}; best {best[0]:,.0f})",
                         f"{best[1]:,} lines, {best[2] / 1e6:.0f} MB in {best[3]:.2f} s; server"
                         f" RSS {min(r[4] for r in runs):.0f} -> peak"
                         f" {max(r[5] for r in runs):.0f} MB"])
            print(rows[-1], flush=True)

        t = time.perf_counter()
        async with s.get(export, headers={"Accept": "*/*", "Accept-Encoding": "gzip"}) as resp:
            gz = len(await resp.read())
        rows.append(["export.txt gzip", f"{time.perf_counter() - t:.2f} s",
                     f"{resp.headers.get('Content-Encoding', 'identity')}"])
        print(rows[-1], gz, flush=True)

        times = []
        for _ in range(20):
            t = time.perf_counter()
            async with s.get(export, headers={"Accept": "*/*", "If-None-Match": etag}) as resp:
                await resp.read()
                status = resp.status
            times.append(time.perf_counter() - t)
        rows.append(["export 304 (If-None-Match)", f"{statistics.median(times) * 1000:.1f} ms",
                     f"median of 20, status {status}"])
        print(rows[-1], flush=True)

        # A change of 100 indicators, then the delta since the ETag above.
        client = TaxiiClient(server.target(setup.producer_keys[0], setup.collections[0]), 1)
        async with client:
            # New ids each run (a --reuse run must not post duplicates of the last one's).
            await post_all(client, list(_envelopes(args.count + 10, 100,
                                                   random.getrandbits(32))), 1, 120)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            async with s.get(export, params={"since": etag.strip('"')},
                             headers={"Accept": "*/*"}) as resp:
                body = await resp.read()
                status = resp.status
            times.append(time.perf_counter() - t)
        delta_lines = body.count(b"\n")
        rows.append(["export delta ?since= (100 new)",
                     f"{statistics.median(times) * 1000:.1f} ms",
                     f"status {status}, {delta_lines:,} lines"])
        print(rows[-1], flush=True)

        stream = f"{server.base}/api/v1/feeds/{feed}/stream"
        events = 0
        t = time.perf_counter()
        async with s.get(stream, params={"from": "beginning"},
                         headers={"Accept": "text/event-stream"}) as resp:
            async for line in resp.content:
                if line.startswith(b"event: object"):
                    events += 1
                    if events >= args.replay:
                        break
                if time.monotonic() > deadline:
                    break
        seconds = time.perf_counter() - t
        rows.append(["stream replay ?from=beginning", f"{events / seconds:,.0f} obj/s",
                     f"{events:,} events in {seconds:.1f} s"])
        print(rows[-1], flush=True)
    return rows


async def _statistics(dsn: str) -> None:
    """Statistics as autovacuum would gather them: the planner needs them (production.md)."""
    import asyncpg
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SHOW autovacuum") == "off":
            t = time.perf_counter()
            await conn.execute("ANALYZE")
            print(f"autovacuum is off on this server: ran ANALYZE ({time.perf_counter() - t:.1f}"
                  f" s), as autovacuum would after a load", flush=True)
    finally:
        await conn.close()


def main() -> None:
    """Load, measure, print the table."""
    args = _args()
    with AccordServer(args.database_url, workers=args.workers) as server:
        describe_server(server)
        if args.reuse:
            if not args.database_url:
                raise BenchError("--reuse needs --database-url")
            setup: Setup = Reused(server, args.database_url)
            rows = []
        else:
            setup = Setup(server)
            rows = [asyncio.run(_load(server, setup, args))]
        if args.ingest_only:
            return
        if args.database_url:
            asyncio.run(_statistics(args.database_url))
        rows += asyncio.run(_measure(server, setup, args))
    where = "stock PostgreSQL" if args.database_url else "embedded PostgreSQL"
    print(f"\n| {args.count:,} indicators, {where} | figure | detail |\n|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
