"""What an organisation's exclusion list costs its blocklist export: a reader's full
export.txt of a database an earlier `bench/lookup.py` run filled, without a list and with
`--entries` entries (a third each addresses-and-ranges, domains, hashes), best of
`--rounds`.

Run from the repository root:
`.venv/bin/python bench/exclusions.py --database-url DSN [--entries 1000] [--rounds 3]`.
The list is emptied again at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
import orjson
import scale
from common import AccordServer, BenchError


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--database-url", required=True, help="filled by bench/lookup.py")
    p.add_argument("--entries", type=int, default=1000, help="exclusion-list entries")
    p.add_argument("--rounds", type=int, default=3, help="exports timed per case")
    return p.parse_args()


def _entries(n: int) -> list[dict]:
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append({"value": f"45.{i // 250 % 250}.{i % 250}.0/24"})
        elif i % 3 == 1:
            out.append({"value": f"partner{i}.example"})
        else:
            out.append({"value": f"{i:064x}"})
    return out


async def _run(server: AccordServer, reader: str, admin: str, args) -> list[tuple[str, float, int]]:
    rows = []
    async with aiohttp.ClientSession() as http:
        made = await http.post(f"{server.base}/api/v1/feeds", data=orjson.dumps(
            {"name": "exclusions bench", "filter": {"types": ["indicator"]}}),
            headers={"Authorization": f"Bearer {reader}", "Content-Type": "application/json"})
        if made.status != 201:
            raise BenchError(f"feed: {made.status} {await made.text()}")
        url = f"{server.base}/api/v1/feeds/{(await made.json())['id']}/export.txt"

        async def put(entries: list[dict]) -> None:
            async with http.put(f"{server.base}/api/v1/exclusions",
                                data=orjson.dumps({"entries": entries}),
                                headers={"Authorization": f"Bearer {admin}",
                                         "Content-Type": "application/json"}) as resp:
                if resp.status != 200:
                    raise BenchError(f"exclusions: {resp.status} {await resp.text()}")

        for label, entries in (("no list", []), (f"{args.entries:,} entries",
                                                 _entries(args.entries))):
            await put(entries)
            best, lines = float("inf"), 0
            for _ in range(args.rounds):
                started = time.perf_counter()
                async with http.get(url, headers={"Authorization": f"Bearer {reader}"}) as r:
                    body = await r.read()
                    if r.status != 200:
                        raise BenchError(f"export: {r.status}")
                best = min(best, time.perf_counter() - started)
                lines = body.count(b"\n")
            print(f"{label}: best {best:.2f} s, {lines:,} lines", flush=True)
            rows.append((label, best, lines))
        await put([])
    return rows


def main() -> None:
    """Time the export without and with a list; print the table."""
    args = _args()
    with AccordServer(args.database_url, workers=1) as server:
        setup = scale.Reused(server, args.database_url)
        admin = server.admin("key", "create", "--org", setup.reader_org, "--role",
                             "org-admin", "--quiet")
        rows = asyncio.run(_run(server, setup.reader_key, admin, args))
    print("\n| reader's export.txt | best | lines |\n|---|---|---|")
    for label, best, lines in rows:
        print(f"| {label} | {best:.2f} s | {lines:,} |")


if __name__ == "__main__":
    main()
