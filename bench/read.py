"""Paged read benchmark: read a whole collection with limit 1,000, following `next`.

Run from the repository root: `.venv/bin/python bench/read.py [--vs-medallion]`.
The collection is loaded through the HTTP POST path first (not timed); each round reads it
from the first page until `more` is false, one client, as a TAXII poller does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path

from common import (
    AccordServer,
    CpuMeter,
    MedallionServer,
    PySpy,
    TaxiiClient,
    describe_server,
    envelopes,
    make_indicators,
    post_all,
    ratio,
    read_all,
)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--objects", type=int, default=100_000, help="indicators stored in Accord")
    p.add_argument("--limit", type=int, default=1000, help="objects per page")
    p.add_argument("--rounds", type=int, default=3, help="full reads of the collection")
    p.add_argument("--concurrency", type=int, default=4, help="concurrent loading clients")
    p.add_argument("--database-url", help="PostgreSQL DSN (default: embedded, temp dir)")
    p.add_argument("--time-limit", type=float, default=600, help="seconds per phase, at most")
    p.add_argument("--vs-medallion", action="store_true",
                   help="also run the workload on medallion (memory backend)")
    p.add_argument("--medallion-objects", type=int, default=2000,
                   help="indicators stored in medallion (its reads are slow)")
    p.add_argument("--medallion-rounds", type=int, default=1, help="full reads of medallion")
    p.add_argument("--accept-encoding", default="gzip, deflate",
                   help='what the client asks for (default as requests sends it; "identity"'
                   " reads uncompressed)")
    p.add_argument("--tlp1-markings", action="store_true",
                   help="read a collection that also serves TLP 1.0 marking ids")
    p.add_argument("--profile", type=Path, metavar="FILE",
                   help="py-spy the Accord server while timed; collapsed stacks to FILE")
    return p.parse_args()


Measure = Callable[[], contextlib.AbstractContextManager[object]]


async def _load_and_read(client: TaxiiClient, count: int, rounds: int,
                         args: argparse.Namespace, measure: Measure) -> list[float]:
    """Load `count` indicators, then read them `rounds` times; objects/s of each round."""
    name = client.target.name
    async with client:
        loaded = await post_all(client, envelopes(make_indicators(count), 1000),
                                args.concurrency, args.time_limit)
        print(f"{name}: loaded {loaded.summary()}")
        if loaded.objects != count:
            raise SystemExit(f"{name}: stored {loaded.objects} of {count} objects")
        rates = []
        with measure():
            for n in range(1, rounds + 1):
                client.wire_bytes = client.body_bytes = 0
                seen, seconds = await read_all(client, args.limit, count, args.time_limit)
                rates.append(seen / seconds)
                print(f"{name} read round {n}: {seen:,} objects in {seconds:.2f} s"
                      f" = {seen / seconds:,.0f} objects/s;"
                      f" {client.wire_bytes / 1e6:,.1f} MB on the wire for"
                      f" {client.body_bytes / 1e6:,.1f} MB of JSON")
                if seen != count:
                    raise SystemExit(f"{name}: read {seen} objects, expected {count}")
    print(f"{name} read: best {max(rates):,.0f} objects/s,"
          f" median {statistics.median(rates):,.0f} objects/s over {rounds} round(s)")
    return rates


def main() -> None:
    """Load then time paged reads on Accord (and medallion); print objects/s and the ratio."""
    args = _args()
    with AccordServer(args.database_url) as server:
        describe_server(server)
        token, collection_id = server.setup()
        if args.tlp1_markings:
            server.admin("collection", "set", collection_id, "--tlp1-markings")
        print(f"collection serves TLP 1.0 ids too: {args.tlp1_markings}")
        client = TaxiiClient(server.target(token, collection_id), args.concurrency,
                             accept_encoding=args.accept_encoding)
        print(f"client Accept-Encoding: {args.accept_encoding}")

        @contextlib.contextmanager
        def measure() -> Iterator[None]:
            with contextlib.ExitStack() as measured:
                if args.profile:
                    assert server.proc is not None
                    measured.enter_context(PySpy(server.proc.pid, args.profile))
                measured.enter_context(CpuMeter(server))
                yield

        accord = asyncio.run(_load_and_read(client, args.objects, args.rounds, args, measure))
    if args.vs_medallion:
        with MedallionServer(max_page_size=args.limit) as medallion_server:
            client = TaxiiClient(medallion_server.target(), args.concurrency)
            medallion = asyncio.run(_load_and_read(
                client, args.medallion_objects, args.medallion_rounds, args,
                contextlib.nullcontext))
        print(f"Accord/medallion read (best): {ratio(max(accord), max(medallion))}"
              f" ({args.objects:,} vs {args.medallion_objects:,} objects stored)")


if __name__ == "__main__":
    main()
