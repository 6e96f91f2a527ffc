"""One member cannot stall everyone: others' latency while a member floods slow patterns.

Three organisations share a trust group: a *flooder* posts envelopes of indicators whose
patterns miss the fast recogniser (two levels of parentheses, a WITHIN qualifier), a
*poster* posts ordinary 10-indicator envelopes one after the other, and a *reader* pages
the collection. The poster's and the reader's latencies are measured first on a quiet
server, then during the flood; p50 and p99 are printed side by side (target: flood p99
within 2x of quiet). `--pattern-workers 0` checks slow patterns on the event loop (the
behaviour before issue 10's fix), for comparison. Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    AccordServer,
    TaxiiClient,
    describe_server,
    machine_facts,
    make_indicators,
    print_facts,
)

_MAX_REQUESTS = 100_000  # per loop, whatever the duration


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    p.add_argument("--flood-envelope", type=int, default=500,
                   help="slow-pattern indicators per flood envelope")
    p.add_argument("--flood-clients", type=int, default=2, help="concurrent flood posters")
    p.add_argument("--pattern-workers", type=int, default=2,
                   help="ACCORD_PATTERN_WORKERS of the server (0: on the event loop)")
    p.add_argument("--workers", type=int, default=1, help="accord serve --workers")
    p.add_argument("--database-url", help="PostgreSQL DSN (default: embedded, temp dir)")
    return p.parse_args()


def _slow_indicator(n: int, tag: str) -> dict:
    stamp = "2026-01-01T00:00:00.000Z"
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
        "created": stamp, "modified": stamp, "valid_from": stamp, "pattern_type": "stix",
        "pattern": (f"(([ipv4-addr:value = '10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250}']"
                    f" OR [domain-name:value = '{tag}-{n}.example']) AND"
                    f" ([url:value = 'http://{tag}-{n}.example/'] OR"
                    f" [file:name = '{tag}-{n}.exe'])) WITHIN 300 SECONDS"),
    }


def _quantiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0] if values else float("nan"),) * 2  # type: ignore[return-value]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[98]


async def _poster(client: TaxiiClient, indicators: list[dict], until: float) -> list[float]:
    latencies = []
    for n in range(_MAX_REQUESTS):
        if time.monotonic() >= until or (n + 1) * 10 > len(indicators):
            break
        body = orjson.dumps({"objects": indicators[n * 10:(n + 1) * 10]})
        started = time.perf_counter()
        status = await client.post(body)
        latencies.append((time.perf_counter() - started) * 1000)
        assert status["success_count"] == 10, status
    return latencies


async def _reader(client: TaxiiClient, until: float) -> list[float]:
    latencies = []
    for _ in range(_MAX_REQUESTS):
        if time.monotonic() >= until:
            break
        started = time.perf_counter()
        await client.get(client.target.objects_url, {"limit": "50"})
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def _flooder(client: TaxiiClient, size: int, until: float, tag: str) -> int:
    checked = 0
    for e in range(_MAX_REQUESTS):
        if time.monotonic() >= until:
            break
        body = orjson.dumps({"objects": [_slow_indicator(e * size + i, tag)
                                         for i in range(size)]})
        status = await client.post(body)
        checked += status["success_count"]
    return checked


async def _phase(poster: TaxiiClient, reader: TaxiiClient, flooders: list[TaxiiClient],
                 indicators: list[dict], args: argparse.Namespace
                 ) -> tuple[list[float], list[float], int, float]:
    until = time.monotonic() + args.seconds
    started = time.monotonic()
    floods = [asyncio.create_task(_flooder(f, args.flood_envelope, until + 5, f"f{n}"))
              for n, f in enumerate(flooders)]
    if floods:
        await asyncio.sleep(1.0)  # the flood is under way before the others are measured
    posted, read = await asyncio.gather(_poster(poster, indicators, until),
                                        _reader(reader, until))
    checked = sum(await asyncio.gather(*floods))
    return posted, read, checked, time.monotonic() - started


async def _run(server: AccordServer, args: argparse.Namespace) -> None:
    flood_token, collection = server.setup()
    org = server.org
    assert org is not None
    keys = {}
    for role in ("poster", "reader"):
        name = f"{org}-{role}"
        server.admin("org", "create", name, "--sector", "private")
        keys[role] = server.admin("key", "create", "--org", name, "--role", "contributor",
                                  "--quiet")
    group_name = org.replace("bench-org-", "bench-group-")  # as AccordServer.setup names it
    for role in ("poster", "reader"):
        server.admin("group", "add-member", group_name, f"{org}-{role}")
    indicators = make_indicators(40_000)
    poster = TaxiiClient(server.target(keys["poster"], collection), connections=1)
    reader = TaxiiClient(server.target(keys["reader"], collection), connections=1)
    flooders = [TaxiiClient(server.target(flood_token, collection), connections=1)
                for _ in range(args.flood_clients)]
    async with poster, reader:
        for f in flooders:
            await f.__aenter__()
        try:
            half = len(indicators) // 2
            q_post, q_read, _, _ = await _phase(poster, reader, [], indicators[:half], args)
            f_post, f_read, checked, took = await _phase(poster, reader, flooders,
                                                         indicators[half:], args)
        finally:
            for f in flooders:
                await f.__aexit__(None, None, None)
    print(f"flood: {checked:,} slow-pattern indicators stored in {took:.1f} s"
          f" ({checked / took:,.0f}/s) by {args.flood_clients} clients")
    print(f"{'':8} {'quiet p50':>10} {'quiet p99':>10} {'flood p50':>10} {'flood p99':>10}"
          f" {'p99 x':>6} {'requests q/f':>14}")
    for name, quiet, flood in (("poster", q_post, f_post), ("reader", q_read, f_read)):
        (qm, q99), (fm, f99) = _quantiles(quiet), _quantiles(flood)
        print(f"{name:8} {qm:9.1f}ms {q99:9.1f}ms {fm:9.1f}ms {f99:9.1f}ms"
              f" {f99 / q99:5.2f}x {len(quiet):>6}/{len(flood):<6}")


def main() -> None:
    """Start a server, measure the quiet and the flooded phase, print the latencies."""
    args = _args()
    env = {"ACCORD_PATTERN_WORKERS": str(args.pattern_workers)}
    print_facts("machine", machine_facts())
    with AccordServer(args.database_url, env=env, workers=args.workers) as server:
        describe_server(server)
        print(f"pattern workers: {args.pattern_workers}; phases of {args.seconds:.0f} s")
        asyncio.run(_run(server, args))


if __name__ == "__main__":
    main()
