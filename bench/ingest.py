"""End-to-end ingest benchmark: POST 1,000-indicator envelopes to a real `accord serve`.

Run from the repository root: `.venv/bin/python bench/ingest.py [--vs-medallion]`.
Objects/s counts objects acknowledged in complete status resources (validated and stored),
from the first POST to the last complete status. Each round posts its own distinct
indicators to a new collection of the same server; the best and the median are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
from pathlib import Path

from common import (
    AccordServer,
    CpuMeter,
    IngestResult,
    MedallionServer,
    PySpy,
    TaxiiClient,
    describe_server,
    envelopes,
    make_indicators,
    post_all,
    ratio,
)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--objects", type=int, default=50_000,
                   help="indicators to POST to Accord in each round")
    p.add_argument("--rounds", type=int, default=3,
                   help="timed rounds, each with new indicators and a new collection")
    p.add_argument("--envelope", type=int, default=1000, help="objects per envelope")
    p.add_argument("--concurrency", type=int, default=4, help="concurrent POSTing clients")
    p.add_argument("--database-url", help="PostgreSQL DSN (default: embedded, temp dir)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="server processes (accord serve --workers); default: one per core,"
                        " as a deployment on this machine would run")
    p.add_argument("--time-limit", type=float, default=600, help="seconds per run, at most")
    p.add_argument("--vs-medallion", action="store_true",
                   help="also run the workload on medallion (memory backend)")
    p.add_argument("--medallion-objects", type=int, default=5000,
                   help="indicators to POST to medallion (it slows as it grows)")
    p.add_argument("--profile", type=Path, metavar="FILE",
                   help="py-spy the Accord server while timed; collapsed stacks to FILE")
    return p.parse_args()


async def _ingest(client: TaxiiClient, bodies: list[bytes], args: argparse.Namespace
                  ) -> IngestResult:
    async with client:
        return await post_all(client, bodies, args.concurrency, args.time_limit)


def _accord(args: argparse.Namespace, rounds: list[list[bytes]]) -> IngestResult:
    """Time each round on one server; the median round is the result."""
    results = []
    with AccordServer(args.database_url, workers=args.workers) as server:
        describe_server(server)
        for n, bodies in enumerate(rounds, 1):
            token, collection_id = server.setup()
            client = TaxiiClient(server.target(token, collection_id), args.concurrency)
            with contextlib.ExitStack() as measured:
                if args.profile and n == 1:
                    assert server.proc is not None
                    measured.enter_context(PySpy(server.proc.pid, args.profile))
                measured.enter_context(CpuMeter(server))
                result = asyncio.run(_ingest(client, bodies, args))
            print(f"Accord ingest round {n}: {result.summary()}")
            results.append(result)
    rates = sorted(r.rate for r in results)
    median = results[[r.rate for r in results].index(rates[(len(rates) - 1) // 2])]
    print(f"Accord ingest: best {rates[-1]:,.0f} objects/s, median"
          f" {statistics.median(rates):,.0f} objects/s over {len(rates)} round(s)")
    return median


def _medallion(args: argparse.Namespace, bodies: list[bytes]) -> IngestResult:
    with MedallionServer() as server:
        client = TaxiiClient(server.target(), args.concurrency)
        result = asyncio.run(_ingest(client, bodies, args))
    print(f"medallion ingest: {result.summary()}")
    return result


def main() -> None:
    """Generate, then time Accord (and medallion) ingest; print objects/s and the ratio."""
    args = _args()
    made = time.perf_counter()
    objects = make_indicators(max(args.objects * args.rounds, args.medallion_objects))
    rounds = [envelopes(objects[n * args.objects:(n + 1) * args.objects], args.envelope)
              for n in range(args.rounds)]
    print(f"generated {len(objects):,} indicators in {time.perf_counter() - made:.1f} s;"
          f" {args.rounds} round(s) of {len(rounds[0])} envelopes of {args.envelope},"
          f" concurrency {args.concurrency}")
    accord = _accord(args, rounds)
    if args.vs_medallion:
        medallion = _medallion(
            args, envelopes(objects[:args.medallion_objects], args.envelope))
        print(f"Accord/medallion ingest: {ratio(accord.rate, medallion.rate)}"
              f" ({accord.objects:,} vs {medallion.objects:,} objects)")


if __name__ == "__main__":
    main()
