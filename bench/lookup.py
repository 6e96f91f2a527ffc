"""Lookup benchmark: single-value latency, concurrent lookups/s and a 10,000-value bulk
lookup against a real `accord serve` holding N ingested indicators.

Run from the repository root: `.venv/bin/python bench/lookup.py [--objects 100000]`.
The store is filled over TAXII (the bench's mixed indicators: addresses, domains, URLs,
hashes, hash pairs, plus /24 ranges); half of the looked-up values are known, half not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import orjson
from common import AccordServer, TaxiiClient, describe_server, envelopes, make_indicators, post_all

from server.ingest.facets import facets_of

TAXII = "application/taxii+json;version=2.1"


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--objects", type=int, default=100_000, help="indicators stored first")
    p.add_argument("--ranges", type=int, default=1000, help="CIDR /24 indicators stored too")
    p.add_argument("--database-url", help="PostgreSQL DSN (default: embedded, temp dir)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--single", type=int, default=1000, help="sequential single lookups")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients")
    p.add_argument("--seconds", type=float, default=10, help="length of the concurrent run")
    p.add_argument("--bulk-rounds", type=int, default=3, help="10,000-value bulk lookups")
    p.add_argument("--discovery", action="store_true",
                   help="first time authenticated TAXII discovery requests the same way (the"
                        " per-request cost of the HTTP edge: auth, middlewares, logging)")
    return p.parse_args()


def _ranges(count: int) -> list[dict]:
    made = make_indicators(count, seed=77)
    for i, obj in enumerate(made):
        obj["pattern"] = f"[ipv4-addr:value = '100.{64 + i // 250 % 64}.{i % 250}.0/24']"
    return made


def _values(objects: list[dict], count: int, rng: random.Random) -> list[str]:
    known = [(f.ioc_values or f.obs_values or [])[0]
             for o in rng.sample(objects, min(count, len(objects)))
             if (f := facets_of(o)).ioc_values or f.obs_values]
    unknown = [f"198.18.{i // 250 % 250}.{i % 250}" if i % 2 else f"unknown{i}.example"
               for i in range(count)]
    values = known[: count // 2] + unknown[: count - count // 2]
    rng.shuffle(values)
    return values


def _pct(data: list[float], q: float) -> float:
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _timed(
    name: str, one: Callable[[str], Awaitable[float]], values: list[str],
    args: argparse.Namespace,
) -> None:
    """Sequential p50/p99 of `one`, then its rate (and p50/p99) from concurrent clients."""
    for value in values[:50]:  # warm the connection and the caches
        await one(value)
    latencies = [await one(v) for v in values[: args.single]]
    print(f"single {name}, sequential, {len(latencies)} requests: p50"
          f" {statistics.median(latencies) * 1000:.2f} ms, p99"
          f" {_pct(latencies, 0.99) * 1000:.2f} ms")

    timings: list[float] = []
    deadline = time.perf_counter() + args.seconds

    async def client(offset: int) -> None:
        n = offset
        while time.perf_counter() < deadline and len(timings) < 1_000_000:
            timings.append(await one(values[n % len(values)]))
            n += args.clients

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(args.clients)))
    elapsed = time.perf_counter() - started
    print(f"{args.clients} concurrent clients: {len(timings) / elapsed:,.0f} {name}s/s over"
          f" {elapsed:.1f} s ({len(timings):,} {name}s), p50"
          f" {statistics.median(timings) * 1000:.2f} ms, p99 {_pct(timings, 0.99) * 1000:.2f} ms")


async def _measure(base: str, token: str, values: list[str], args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{base}/api/v1/lookup"
    connector = aiohttp.TCPConnector(limit=args.clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        async def one(value: str) -> float:
            started = time.perf_counter()
            async with http.get(url, params={"value": value}) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            return time.perf_counter() - started

        async def discover(_: str) -> float:
            started = time.perf_counter()
            async with http.get(f"{base}/taxii2/", headers={"Accept": TAXII}) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            return time.perf_counter() - started

        if args.discovery:
            await _timed("discovery", discover, values, args)
        await _timed("lookup", one, values, args)

        if not args.bulk_rounds:
            return
        bulk = orjson.dumps({"values": values[:10_000]})
        times = []
        for _ in range(args.bulk_rounds):
            started = time.perf_counter()
            async with http.post(url, data=bulk) as resp:
                answer = await resp.read()
                assert resp.status == 200, answer[:200]
            times.append(time.perf_counter() - started)
        results = orjson.loads(answer)["results"]
        matched = sum(1 for r in results if r["matches"])
        print(f"bulk lookup of {len(results):,} values ({matched:,} matched): median"
              f" {statistics.median(times) * 1000:.0f} ms, best {min(times) * 1000:.0f} ms"
              f" over {len(times)} round(s)")


def main() -> None:
    """Fill a server, then time lookups; print latency, throughput and bulk figures."""
    args = _args()
    rng = random.Random(12)
    objects = make_indicators(args.objects) + _ranges(args.ranges)
    values = _values(objects, 20_000, rng)
    with AccordServer(args.database_url, workers=args.workers) as server:
        describe_server(server)
        token, collection_id = server.setup()
        started = time.perf_counter()

        async def fill() -> None:
            async with TaxiiClient(server.target(token, collection_id), 4) as client:
                result = await post_all(client, envelopes(objects, 1000), 4, 3600)
                print(f"stored {result.objects:,} indicators in"
                      f" {time.perf_counter() - started:.0f} s")

        asyncio.run(fill())
        asyncio.run(_measure(server.base, token, values, args))


if __name__ == "__main__":
    main()
