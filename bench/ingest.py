"""End-to-end ingest benchmark: POST 1,000-indicator envelopes to a real `accord serve`.

Run from the repository root: `.venv/bin/python bench/ingest.py [--vs-medallion] [--real]`.
Objects/s counts objects acknowledged in complete status resources (validated and stored),
from the first POST to the last complete status. Each round posts its own distinct
indicators to a new collection of the same server; the best and the median are printed.
With --real, each round also posts real ATT&CK objects (Mobile 17.1 and ICS 18.1 from
tests/fixtures, in file order, every id renamed for the round so each round is new) as a
contributor posts an export, and prints objects/s and MB/s beside the indicators' figure.
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
    as_own_objects,
    attack_objects,
    describe_server,
    envelopes,
    make_indicators,
    post_all,
    ratio,
    renamed,
    with_markings,
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
    p.add_argument("--real", action="store_true",
                   help="also post real ATT&CK objects each round (ids renamed per round)")
    p.add_argument("--real-only", action="store_true", help="--real, without the indicators")
    p.add_argument("--real-copies", type=int, default=10,
                   help="renamed copies of ATT&CK Mobile + ICS (3,974 objects) a round")
    p.add_argument("--real-envelope", type=int, default=500,
                   help="objects per envelope of real data (a tool cutting an export)")
    p.add_argument("--as-own", action="store_true",
                   help="real data without created_by_ref, each envelope led by the marking"
                        " definitions it uses (for servers with the rules before issue 9)")
    return p.parse_args()


async def _ingest(client: TaxiiClient, bodies: list[bytes], args: argparse.Namespace
                  ) -> IngestResult:
    async with client:
        return await post_all(client, bodies, args.concurrency, args.time_limit)


def _accord(args: argparse.Namespace, workloads: dict[str, list[list[bytes]]]
            ) -> dict[str, IngestResult]:
    """Time each round of each workload on one server (a new collection each time), rounds
    interleaved so host slowdowns hit every workload alike; the median round of each."""
    results: dict[str, list[IngestResult]] = {name: [] for name in workloads}
    rounds = max(len(r) for r in workloads.values())
    with AccordServer(args.database_url, workers=args.workers) as server:
        describe_server(server)
        for n in range(rounds):
            for name, bodies_by_round in workloads.items():
                token, collection_id = server.setup()
                client = TaxiiClient(server.target(token, collection_id), args.concurrency)
                with contextlib.ExitStack() as measured:
                    if args.profile and n == 0 and name == list(workloads)[-1]:
                        assert server.proc is not None
                        measured.enter_context(PySpy(server.proc.pid, args.profile))
                    measured.enter_context(CpuMeter(server))
                    result = asyncio.run(_ingest(client, bodies_by_round[n], args))
                print(f"Accord ingest round {n + 1}, {name}: {result.summary()}")
                results[name].append(result)
    medians = {}
    for name, done in results.items():
        rates = sorted(r.rate for r in done)
        medians[name] = done[[r.rate for r in done].index(rates[(len(rates) - 1) // 2])]
        print(f"Accord ingest, {name}: best {rates[-1]:,.0f} objects/s, median"
              f" {statistics.median(rates):,.0f} objects/s"
              f" ({statistics.median(r.megabytes_per_s for r in done):.1f} MB/s)"
              f" over {len(rates)} round(s)")
    return medians


def _medallion(args: argparse.Namespace, bodies: list[bytes]) -> IngestResult:
    with MedallionServer() as server:
        client = TaxiiClient(server.target(), args.concurrency)
        result = asyncio.run(_ingest(client, bodies, args))
    print(f"medallion ingest: {result.summary()}")
    return result


def _real_rounds(args: argparse.Namespace) -> list[list[bytes]]:
    base = attack_objects()
    if args.as_own:
        base = as_own_objects(base)
    rounds = []
    for n in range(args.rounds):
        objects = [obj for copy in range(args.real_copies)
                   for obj in renamed(base, f"{os.getpid()}-{n}-{copy}")]
        rounds.append(with_markings(objects, args.real_envelope) if args.as_own
                      else envelopes(objects, args.real_envelope))
    size = sum(map(len, rounds[0])) / 1e6
    print(f"real data: {len(base):,} ATT&CK objects (Mobile 17.1 + ICS 18.1) x"
          f" {args.real_copies} renamed copies = {len(base) * args.real_copies:,} objects,"
          f" {size:.1f} MB a round, envelopes of {args.real_envelope}"
          f"{', as own objects' if args.as_own else ', as exported'}")
    return rounds


def main() -> None:
    """Generate, then time Accord (and medallion) ingest; print objects/s and the ratio."""
    args = _args()
    made = time.perf_counter()
    workloads: dict[str, list[list[bytes]]] = {}
    objects: list[dict] = []
    if not args.real_only:
        objects = make_indicators(max(args.objects * args.rounds, args.medallion_objects))
        workloads["indicators"] = [
            envelopes(objects[n * args.objects:(n + 1) * args.objects], args.envelope)
            for n in range(args.rounds)]
        print(f"generated {len(objects):,} indicators in {time.perf_counter() - made:.1f} s;"
              f" {args.rounds} round(s) of {len(workloads['indicators'][0])} envelopes of"
              f" {args.envelope}, concurrency {args.concurrency}")
    if args.real or args.real_only:
        workloads["real ATT&CK"] = _real_rounds(args)
    accord = _accord(args, workloads)
    if args.vs_medallion and objects:
        medallion = _medallion(
            args, envelopes(objects[:args.medallion_objects], args.envelope))
        print(f"Accord/medallion ingest: {ratio(accord['indicators'].rate, medallion.rate)}"
              f" ({accord['indicators'].objects:,} vs {medallion.objects:,} objects)")


if __name__ == "__main__":
    main()
