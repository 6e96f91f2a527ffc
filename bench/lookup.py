"""Lookup benchmark: single-value latency, concurrent lookups/s and a 10,000-value bulk
lookup against a real `accord serve` holding N stored indicators.

Run from the repository root: `.venv/bin/python bench/lookup.py [--count 1000000]
[--database-url DSN] [--reuse]`. The store is filled over TAXII as bench/scale.py fills it
(4 producer organisations, 10 trust groups, mixed kinds: addresses, domains, URLs, SHA-256,
MD5-or-SHA-1 pairs), plus `--ranges` /24 CIDR indicators and `--sightings` sightings of
known indicators (seen, some false positives) from the producers. Then, as a reader that is
a member of every group and produced nothing: half of the looked-up values are known
(some of them addresses inside a stored range), half not. With `--reuse` it measures what
an earlier run loaded into `--database-url`. Every phase is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid

import aiohttp
import orjson
import scale
from common import AccordServer, BenchError, TaxiiClient, describe_server, post_all

from server.ingest.facets import facets_of


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--count", type=int, default=1_000_000, help="indicators stored first")
    p.add_argument("--ranges", type=int, default=1000, help="CIDR /24 indicators stored too")
    p.add_argument("--sightings", type=int, default=20_000, help="sightings posted")
    p.add_argument("--database-url", help="PostgreSQL DSN (default: embedded, temp dir)")
    p.add_argument("--reuse", action="store_true",
                   help="with --database-url: measure what an earlier run loaded there")
    p.add_argument("--workers", type=int, default=2, help="accord serve --workers")
    p.add_argument("--concurrency", type=int, default=4, help="concurrent posting clients")
    p.add_argument("--single", type=int, default=2000, help="sequential single lookups")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients")
    p.add_argument("--seconds", type=float, default=10, help="length of the concurrent run")
    p.add_argument("--bulk-rounds", type=int, default=5, help="10,000-value bulk lookups")
    p.add_argument("--time-limit", type=float, default=3600, help="seconds per phase, at most")
    return p.parse_args()


def _jobs(setup: scale.Setup, count: int) -> list[tuple[int, str, int, int]]:
    """(collection index, producer index, first indicator number, count) as scale loads."""
    per_collection = count // scale.GROUPS
    share = max(1, per_collection // scale.PRODUCERS)
    jobs = []
    for c in range(len(setup.collections)):
        for p_ in range(scale.PRODUCERS):
            n = share if p_ < scale.PRODUCERS - 1 else per_collection - p_ * share
            jobs.append((c, p_, c * per_collection + p_ * share, n))
    return jobs


def _known(setup: scale.Setup, count: int) -> list[tuple[int, int, dict]]:
    """The first envelope of each load stream again (the load is deterministic): known
    indicators with their collection and producer indices."""
    known = []
    for c, p_, start, n in _jobs(setup, count):
        first = next(scale._envelopes(start, min(n, scale.ENVELOPE), c * scale.PRODUCERS + p_))
        known += [(c, p_, o) for o in orjson.loads(first)["objects"]]
    return known


def _ranges(count: int) -> list[dict]:
    made = []
    for i in range(count):
        net = f"100.{64 + i // 250 % 64}.{i % 250}.0/24"
        made.append({**scale._indicator(5_000_000 + i, random.Random(10**6 + i)),
                     "pattern": f"[ipv4-addr:value = '{net}']"})
    return made


def _sightings(known: list[tuple[int, int, dict]], count: int, rng: random.Random
               ) -> dict[tuple[int, int], list[dict]]:
    """Sightings of known indicators by producers other than theirs, by (collection,
    sighter); one in ten a false positive."""
    out: dict[tuple[int, int], list[dict]] = {}
    for i in range(count):
        c, p_, obj = known[rng.randrange(len(known))]
        sighter = (p_ + 1 + rng.randrange(scale.PRODUCERS - 1)) % scale.PRODUCERS
        stamp = "2026-03-01T00:00:00.000Z"
        s = {"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
             "created": stamp, "modified": stamp, "sighting_of_ref": obj["id"],
             "count": 1 + i % 7, "last_seen": stamp}
        if i % 10 == 0:
            s["labels"] = ["false-positive"]
        out.setdefault((c, sighter), []).append(s)
    return out


async def _load_extra(server: AccordServer, setup: scale.Setup, known: list, args) -> None:
    """Ranges (producer 0, collection 0) and sightings, each posted in envelopes of 1,000."""
    deadline = time.monotonic() + args.time_limit
    started = time.perf_counter()
    batches = {(0, 0): _ranges(args.ranges)} if args.ranges else {}
    for (c, sighter), objs in _sightings(known, args.sightings, random.Random(5)).items():
        batches.setdefault((c, sighter), []).extend(objs)
    total = failures = 0
    for (c, p_), objs in batches.items():
        client = TaxiiClient(server.target(setup.producer_keys[p_], setup.collections[c]), 1)
        async with client:
            bodies = [orjson.dumps({"objects": objs[i:i + 1000]})
                      for i in range(0, len(objs), 1000)]
            got = await post_all(client, bodies, 2, deadline - time.monotonic())
        total += got.objects
        failures += got.failures
    print(f"stored {args.ranges:,} ranges and {args.sightings:,} sightings: {total:,} objects"
          f" ({failures} failures) in {time.perf_counter() - started:.0f} s", flush=True)
    if failures:
        raise BenchError(f"{failures} ranges or sightings refused")


def _values(known: list[tuple[int, int, dict]], args, rng: random.Random) -> list[str]:
    """Half known values (a tenth of them addresses inside a stored /24), half unknown."""
    count = 20_000
    sample = rng.sample(known, min(count // 2, len(known)))
    values = [(facets_of(o).ioc_values or ["?"])[0] for _, _, o in sample]
    for i in range(0, len(values), 10):
        if args.ranges:
            j = rng.randrange(args.ranges)
            values[i] = f"100.{64 + j // 250 % 64}.{j % 250}.{1 + rng.randrange(254)}"
    unknown = [f"198.18.{i // 250 % 250}.{i % 250}" if i % 2 else f"unknown{i}.example"
               for i in range(count - len(values))]
    values += unknown
    rng.shuffle(values)
    return values


def _pct(data: list[float], q: float) -> float:
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(base: str, token: str, values: list[str], args) -> list[list[str]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{base}/api/v1/lookup"
    rows = []
    connector = aiohttp.TCPConnector(limit=args.clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        async def one(value: str) -> tuple[float, bool]:
            started = time.perf_counter()
            async with http.get(url, params={"value": value}) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise BenchError(f"lookup answered {resp.status}: {body[:200]!r}")
            return time.perf_counter() - started, b'"matches":[]' not in body

        for value in values[:100]:  # warm the connections and the caches
            await one(value)
        timed = [await one(v) for v in values[: args.single]]
        latencies = [t for t, _ in timed]
        matched = sum(1 for _, m in timed if m)
        line = (f"p50 {statistics.median(latencies) * 1000:.2f} ms, p99"
                f" {_pct(latencies, 0.99) * 1000:.2f} ms")
        print(f"single lookup, sequential, {len(latencies)} values ({matched} matched): {line}",
              flush=True)
        rows.append(["single lookup over HTTP, sequential", line,
                     f"{len(latencies):,} values, {matched:,} matched"])

        done = 0
        deadline = time.perf_counter() + args.seconds

        async def client(offset: int) -> None:
            nonlocal done
            n = offset
            while time.perf_counter() < deadline and done < 1_000_000:
                await one(values[n % len(values)])
                n += args.clients
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(args.clients)))
        elapsed = time.perf_counter() - started
        print(f"{args.clients} concurrent clients: {done / elapsed:,.0f} lookups/s over"
              f" {elapsed:.1f} s ({done:,} lookups)", flush=True)
        rows.append([f"{args.clients} concurrent clients", f"{done / elapsed:,.0f} lookups/s",
                     f"{done:,} in {elapsed:.1f} s"])

        bulk = orjson.dumps({"values": values[:10_000]})
        times = []
        answer = b""
        for _ in range(args.bulk_rounds):
            started = time.perf_counter()
            async with http.post(url, data=bulk) as resp:
                answer = await resp.read()
                if resp.status != 200:
                    raise BenchError(f"bulk lookup answered {resp.status}: {answer[:200]!r}")
            times.append(time.perf_counter() - started)
        results = orjson.loads(answer)["results"]
        hit = sum(1 for r in results if r["matches"])
        ranged = sum(1 for r in results if any(m["match"] == "range" for m in r["matches"]))
        print(f"bulk lookup of {len(results):,} values ({hit:,} matched, {ranged:,} by a"
              f" range): median {statistics.median(times) * 1000:.0f} ms, best"
              f" {min(times) * 1000:.0f} ms over {len(times)} round(s)", flush=True)
        rows.append(["bulk lookup, 10,000 values", f"median {statistics.median(times) * 1000:.0f}"
                     f" ms, best {min(times) * 1000:.0f} ms",
                     f"{hit:,} matched ({ranged:,} by a range), {len(times)} rounds"])
    return rows


def main() -> None:
    """Fill a server (or reuse a filled database), time lookups, print the table."""
    args = _args()
    rng = random.Random(12)
    with AccordServer(args.database_url, workers=args.workers) as server:
        describe_server(server)
        rows = []
        if args.reuse:
            if not args.database_url:
                raise BenchError("--reuse needs --database-url")
            setup: scale.Setup = scale.Reused(server, args.database_url)
        else:
            setup = scale.Setup(server)
            rows.append(asyncio.run(scale._load(server, setup, args)))
        known = _known(setup, args.count)
        if not args.reuse:
            asyncio.run(_load_extra(server, setup, known, args))
        if args.database_url:
            asyncio.run(scale._statistics(args.database_url))
        rows += asyncio.run(_measure(server.base, setup.reader_key, _values(known, args, rng),
                                     args))
    where = ("stock PostgreSQL" if args.database_url else "embedded PostgreSQL")
    print(f"\n| {args.count:,} indicators, {where} | figure | detail |\n|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
