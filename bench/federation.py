"""Federation benchmark: objects/s pulled from one exchange into another, and post-to-arrival
lag at a 5-second poll interval.

    python bench/federation.py [--objects 5000] [--lag-objects 40] [--poll 5] [--database-url DSN]

Starts two `accord serve` processes (each its own embedded PostgreSQL, or each its own fresh
database on the server of --database-url), registers the first as a peer of the second and
agrees a pull. Throughput: N GREEN indicators are posted to the source first, then the
agreement is made, and the time until the last one is readable on the sink gives objects/s.
Lag: indicators are then posted one at a time, spaced evenly over 1.5 poll intervals and
never more than --lag-objects, and each one's time from the start of its POST to its first
appearance on the sink (read incrementally every 0.1 s) is recorded; p50/p99/max printed.
Every loop is bounded in count and time; everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import Iterator

import aiohttp
import asyncpg
import orjson
from common import AccordServer, describe_server

TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def _indicator(i: int, note: str = "") -> dict:
    stamp = "2026-11-29T00:00:00.000Z"
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": stamp, "modified": stamp, "name": f"fed {i} {note}",
            "pattern": f"[ipv4-addr:value = '10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}']",
            "pattern_type": "stix", "valid_from": stamp, "object_marking_refs": [GREEN]}


class Arrivals:
    """Reads a collection forward from its last X-TAXII-Date-Added-Last, noting first sight."""

    def __init__(self, http: aiohttp.ClientSession, url: str, token: str) -> None:
        self.http, self.url = http, url
        self.headers = {"Authorization": f"Bearer {token}", "Accept": TAXII}
        self.after: str | None = None
        self.seen: dict[str, float] = {}

    async def poll(self) -> None:
        for _ in range(100):  # pages per poll
            params = {"limit": "1000", **({"added_after": self.after} if self.after else {})}
            async with self.http.get(self.url, params=params, headers=self.headers) as resp:
                body = orjson.loads(await resp.read())
                last = resp.headers.get("X-TAXII-Date-Added-Last")
            now = time.monotonic()
            for obj in body.get("objects", []):
                self.seen.setdefault(obj["id"], now)
            if last:
                self.after = last
            if not body.get("more"):
                return


async def _post(http: aiohttp.ClientSession, url: str, token: str, objects: list[dict]) -> None:
    async with http.post(url, data=orjson.dumps({"objects": objects}), headers={
            "Authorization": f"Bearer {token}", "Content-Type": TAXII, "Accept": TAXII}) as r:
        if r.status != 202:
            raise RuntimeError(f"POST answered {r.status}: {await r.text()}")


@contextlib.contextmanager
def _databases(admin_dsn: str | None, count: int) -> Iterator[list[str | None]]:
    if not admin_dsn:
        yield [None] * count
        return
    names = [f"accord_fedbench_{uuid.uuid4().hex[:10]}" for _ in range(count)]

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            for name in names:
                await conn.execute(sql.format(name))
        finally:
            await conn.close()

    asyncio.run(run('CREATE DATABASE "{}"'))
    base, _, query = admin_dsn.partition("?")
    try:
        yield [f"{base.rsplit('/', 1)[0]}/{n}" + (f"?{query}" if query else "") for n in names]
    finally:
        asyncio.run(run('DROP DATABASE IF EXISTS "{}" WITH (FORCE)'))


async def _measure(source: AccordServer, sink: AccordServer, args: argparse.Namespace) -> None:
    src_token, src_coll = source.setup()
    tag = uuid.uuid4().hex[:6]
    source.admin("org", "create", f"sink-{tag}", "--sector", "nonprofit")
    sink_token, sink_coll = sink.setup()
    async with aiohttp.ClientSession() as http:
        objects_url = f"{source.api_root}/collections/{src_coll}/objects/"
        bulk = [_indicator(i) for i in range(args.objects)]
        for start in range(0, len(bulk), 1000):
            await _post(http, objects_url, src_token, bulk[start:start + 1000])
        # The sink reads the source as a member organisation of the source's trust group.
        groups = source.admin("group", "list")
        source_group = next(line.split()[0] for line in groups.splitlines()
                            if "bench-group" in line)
        source.admin("group", "add-member", source_group, f"sink-{tag}")
        reader = source.admin("key", "create", "--org", f"sink-{tag}", "--role", "reader",
                              "--quiet")
        sink.admin("peer", "add", f"source-{tag}", "--url", source.api_root + "/", "--key",
                   reader)
        arrivals = Arrivals(http, f"{sink.api_root}/collections/{sink_coll}/objects/",
                            sink_token)
        sink.admin("peer", "pull", f"source-{tag}", src_coll, "--into", sink_coll)
        started = time.monotonic()  # the runner picks the agreement up within a second
        deadline = started + args.timeout
        while len(arrivals.seen) < args.objects and time.monotonic() < deadline:
            await arrivals.poll()
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - started
        got = len(arrivals.seen)
        print(f"\nthroughput: {got:,} of {args.objects:,} objects pulled in {elapsed:.2f} s"
              f" from the agreement = {got / elapsed:,.0f} objects/s (pages of 500)")
        if got > 1:
            first, last = min(arrivals.seen.values()), max(arrivals.seen.values())
            print(f"  first to last arrival: {last - first:.2f} s ="
                  f" {(got - 1) / max(last - first, 1e-9):,.0f} objects/s")

        # Lag: single posts spread over 1.5 poll intervals, read on the sink every 0.1 s.
        count = args.lag_objects
        gap = 1.5 * args.poll / count
        sent: dict[str, float] = {}
        next_send = time.monotonic()
        deadline = time.monotonic() + 1.5 * args.poll + 3 * args.poll + 30
        i = args.objects
        while time.monotonic() < deadline:
            now = time.monotonic()
            if len(sent) < count and now >= next_send:
                obj = _indicator(i, "lag")
                i += 1
                sent[obj["id"]] = now
                await _post(http, objects_url, src_token, [obj])
                next_send += gap
            await arrivals.poll()
            if len(sent) == count and all(k in arrivals.seen for k in sent):
                break
            await asyncio.sleep(0.1)
        lags = sorted(arrivals.seen[k] - t for k, t in sent.items() if k in arrivals.seen)
        if lags:
            p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
            print(f"lag at a {args.poll:g} s poll interval: {len(lags)} of {count} arrived;"
                  f" p50 {statistics.median(lags):.2f} s, p99 {p99:.2f} s, max {lags[-1]:.2f} s")
        else:
            print("lag: nothing arrived in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--lag-objects", type=int, default=40)
    parser.add_argument("--poll", type=float, default=5.0, help="the sink's poll interval (s)")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--database-url", help="a PostgreSQL server to create two databases on")
    args = parser.parse_args()
    with _databases(args.database_url, 2) as (source_db, sink_db):
        env = {"ACCORD_FEDERATION_POLL_S": str(args.poll), "ACCORD_WEBHOOK_ALLOW_PRIVATE": "true"}
        with AccordServer(source_db, env=env) as source, AccordServer(sink_db, env=env) as sink:
            describe_server(sink)
            asyncio.run(_measure(source, sink, args))


if __name__ == "__main__":
    main()
