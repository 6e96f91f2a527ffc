"""Console benchmark: server time of each console page with many stored objects.

Run from the repository root: `.venv/bin/python bench/console.py [--count N]
[--database-url DSN] [--requests R]`. Loads N indicators (1,000,000 by default) through the
real ingest (HTTP POST, envelopes of 1,000) into one collection of a two-member trust group,
opens a console session for the member that did not post (every read goes through the
membership clause of the visibility predicate), then requests each page R times and prints
p50/p95/max of the server's own time per page, read from its access log ("ms": from the
request's arrival to the response, as the request-id middleware measures it).
Every phase is bounded in count and time; the server is stopped by its pid at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from common import ROOT, AccordServer, TaxiiClient, describe_server, make_indicators, post_all

ENVELOPE = 1000
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_PASSWORD = "bench console passphrase"


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--count", type=int, default=1_000_000, help="indicators loaded")
    p.add_argument("--database-url", help="PostgreSQL DSN (default: embedded, temp dir)")
    p.add_argument("--requests", type=int, default=100, help="requests per page")
    p.add_argument("--concurrency", type=int, default=2, help="concurrent posting clients")
    p.add_argument("--time-limit", type=float, default=3600, help="seconds per phase, at most")
    p.add_argument("--reader-org", help="measure again on a database this script loaded with"
                   " the same --count: the reader organisation it printed (no new load)")
    return p.parse_args()


def _envelopes(count: int) -> list[bytes]:
    """count indicators in envelopes of ENVELOPE, generated a chunk at a time (distinct ids)."""
    bodies = []
    for chunk, first in enumerate(range(0, count, ENVELOPE)):
        n = min(ENVELOPE, count - first)
        bodies.append(orjson.dumps({"objects": make_indicators(n, seed=10_000 + chunk)}))
    return bodies


def _setup(server: AccordServer) -> tuple[str, str, str]:
    """A producer and a reader organisation in one group with a collection; (producer key,
    collection id, reader organisation name)."""
    tag = uuid.uuid4().hex[:6]
    producer, reader, group = f"bench-producer-{tag}", f"bench-reader-{tag}", f"bench-g-{tag}"
    for org in (producer, reader):
        server.admin("org", "create", org, "--sector", "private")
    server.admin("group", "create", group, "--member", producer, "--member", reader)
    collection = server.admin("collection", "create", f"bench-console-{tag}", "--group", group)
    key = server.admin("key", "create", "--org", producer, "--role", "contributor", "--quiet")
    return key, collection, reader


def _invitation(server: AccordServer, org: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "server.console.invite", "--org", org, "--email",
         f"bench-{uuid.uuid4().hex[:6]}@example.org", "--name", "Bench Reader",
         "--base-url", server.base], cwd=ROOT, env=server.env, capture_output=True, text=True,
        timeout=120, check=True)
    return done.stdout.split()[0]


async def _csrf(s: aiohttp.ClientSession, url: str) -> str:
    async with s.get(url) as resp:
        return _CSRF.search(await resp.text()).group(1)


async def _measure(server: AccordServer, link: str, ids: list[str], values: list[str],
                   args: argparse.Namespace) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    deadline = time.monotonic() + args.time_limit
    async with aiohttp.ClientSession(cookie_jar=jar) as s:
        token = await _csrf(s, link)
        async with s.post(link, data={"csrf": token, "password": _PASSWORD,
                                      "confirm": _PASSWORD, "secret": "A" * 32,
                                      "code": ""}, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
        csrf = await _csrf(s, f"{server.base}/console/")
        rng = random.Random(7)
        pages: list[tuple[str, str, Any]] = [
            ("GET", "/console/", None),
            ("GET", "/console/search", None),
            ("POST", "/console/search", lambda: {"q": rng.choice(ids)}),
            ("POST", "/console/search", lambda: {"q": rng.choice(values)}),
            ("POST", "/console/search", lambda: {"label": "compromised", "type": "indicator"}),
            ("GET", "/console/objects/{id}", None),
            ("GET", "/console/feeds", None),
            ("GET", "/console/groups", None),
            ("GET", "/console/admin", None),
        ]
        for method, path, form in pages:
            for _ in range(args.requests):
                if time.monotonic() > deadline:
                    raise TimeoutError("measuring over the time limit")
                url = server.base + path.replace("{id}", rng.choice(ids))
                if method == "GET":
                    async with s.get(url) as resp:
                        await resp.read()
                        assert resp.status == 200, (url, resp.status)
                else:
                    async with s.post(url, data={"csrf": csrf, **form()}) as resp:
                        await resp.read()
                        assert resp.status == 200, (url, resp.status)
        # The feed preview counts every matching object: few requests, it is the heavy page.
        for _ in range(max(3, args.requests // 20)):
            async with s.post(f"{server.base}/console/feeds/new",
                              data={"csrf": csrf, "types": "indicator", "action": "preview"}
                              ) as resp:
                await resp.read()
                assert resp.status == 200


_SEARCHES = ("by id", "by value", "by label and type")


def _report(log: Path, count: int, requests: int) -> None:
    times: dict[tuple[str, str, str], list[float]] = {}
    searches = 0
    for line in log.read_text().splitlines():
        if '"route":"/console' not in line:
            continue
        event = orjson.loads(line)
        if event.get("status") != 200:
            continue
        kind = ""
        if event["method"] == "POST" and event["route"] == "/console/search":
            # _measure sends the searches in this order, `requests` of each kind.
            kind = _SEARCHES[min(searches // requests, len(_SEARCHES) - 1)]
            searches += 1
        times.setdefault((event["method"], event["route"], kind), []).append(event["ms"])
    print(f"\nconsole page server time with {count:,} stored indicators (ms):")
    print(f"{'page':52} {'n':>5} {'p50':>8} {'p95':>8} {'max':>8}")
    for (method, route, kind), ms in sorted(times.items()):
        ms.sort()
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        name = f"{method} {route}" + (f" {kind}" if kind else "")
        print(f"{name:52} {len(ms):5} {statistics.median(ms):8.1f} {p95:8.1f} {ms[-1]:8.1f}")


async def _statistics(dsn: str) -> None:
    """Statistics as autovacuum would gather them after a load (as bench/scale.py does):
    without them the label search was planned as a scan and sort (2 s p95)."""
    import asyncpg
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SHOW autovacuum") == "off":
            t = time.perf_counter()
            await conn.execute("ANALYZE objects")
            print(f"autovacuum is off on this server: ran ANALYZE objects"
                  f" ({time.perf_counter() - t:.1f} s), as autovacuum would after a load",
                  flush=True)
    finally:
        await conn.close()


async def _main(args: argparse.Namespace) -> None:
    with AccordServer(args.database_url, env={"ACCORD_LOG_LEVEL": "INFO"}) as server:
        describe_server(server)
        bodies = _envelopes(args.count)
        sample = [orjson.loads(b)["objects"] for b in random.Random(3).sample(
            bodies, min(20, len(bodies)))]
        ids = [o["id"] for objs in sample for o in objs]
        # The last quoted string of a pattern is its value ('SHA-256' is a hash's name).
        values = [re.findall(r"'([^']+)'", o["pattern"])[-1] for objs in sample
                  for o in objs[:5]]
        count = args.count
        reader = args.reader_org
        if reader is None:
            key, collection, reader = _setup(server)
            print(f"reader organisation: {reader}", flush=True)
            t0 = time.perf_counter()
            async with TaxiiClient(server.target(key, collection), args.concurrency) as client:
                loaded = await post_all(client, bodies, args.concurrency, args.time_limit)
            seconds = time.perf_counter() - t0
            count = loaded.objects
            print(f"loaded {count:,} indicators in {seconds:.0f} s"
                  f" ({loaded.failures} failures)", flush=True)
            if args.database_url:
                await _statistics(args.database_url)
        await _measure(server, _invitation(server, reader), ids, values, args)
        _report(server.log, count, args.requests)


if __name__ == "__main__":
    asyncio.run(_main(_args()))
