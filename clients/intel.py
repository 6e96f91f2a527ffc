"""`accord lookup` and `accord sight`: an analyst's "have we seen this?" and feedback."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from clients.client import AccordClient

JSON = "application/json"
# The server's bound on one bulk lookup.
_BULK = 10_000


async def lookup(client: AccordClient, values: list[str]) -> list[dict[str, Any]]:
    """Look values up, 10,000 per request; one result per value, in order."""
    results: list[dict[str, Any]] = []
    for start in range(0, len(values), _BULK):
        chunk = values[start:start + _BULK]
        answer = await client._request("POST", "/api/v1/lookup", accept=JSON,
                                       body=orjson.dumps({"values": chunk}), content_type=JSON)
        results.extend(answer.json()["results"])
    return results


async def sight(client: AccordClient, indicator_id: str, **spec: Any) -> dict[str, Any]:
    """Report a sighting of an indicator on your organisation's behalf."""
    answer = await client._request(
        "POST", "/api/v1/sightings", accept=JSON, content_type=JSON, ok=(201,),
        body=orjson.dumps({"indicator_id": indicator_id, **spec}),
    )
    return answer.json()


def _values(args: argparse.Namespace) -> list[str]:
    values = list(args.values)
    if args.file:
        text = Path(args.file).read_text("utf-8")
        values += [line.strip() for line in text.splitlines()
                   if line.strip() and not line.lstrip().startswith("#")]
    return values


def _line(result: dict[str, Any]) -> str:
    matches = result["matches"]
    head = (f"{result['value']}  {result['kind'] or 'unrecognised'}  "
            f"{len(matches)} match(es), reported by {result['producers']} organisation(s)")
    lines = [head]
    for m in matches:
        s = m["sightings"]
        valid = "revoked" if m["revoked"] else f"valid until {m['valid_until'] or 'open'}"
        lines.append(
            f"  {m['match']:6} {m['matched_value']}  {m['id']}  producer {m['producer']}"
            f"  TLP:{m['tlp'].upper()}  confidence {m['confidence']}  {valid}"
            f"  seen by {s['organizations']} org(s) {s['count']}x,"
            f" {s['false_positives']} false-positive report(s)")
    return "\n".join(lines)


async def lookup_command(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord lookup VALUE... [--file FILE] [--json]`; exit 0 if any value matched, else 3."""
    values = _values(args)
    if not values:
        raise SystemExit("accord lookup: give values or --file")
    results = await lookup(client, values)
    for result in results:
        print(orjson.dumps(result).decode() if args.json else _line(result))
    return 0 if any(r["matches"] for r in results) else 3


async def sight_command(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord sight INDICATOR_ID [--false-positive | --expired] [--count N] [--credited]`."""
    kind = "false-positive" if args.false_positive else "expired" if args.expired else "seen"
    done = await sight(client, args.indicator, kind=kind, count=args.count,
                       credited=args.credited)
    print(orjson.dumps(done).decode())
    return 0


def add_intel_commands(commands: Any, connection_flags: Callable[[Any], None],
                       run: Callable[[Any], Any]) -> None:
    """Register `accord lookup` and `accord sight`."""
    p = commands.add_parser(
        "lookup", help="have we seen this? look values up (addresses, domains, URLs, hashes)",
        description="Look values up among the indicators and observables you may see. Exit"
                    " status 0 if any value matched, 3 if none did.")
    p.add_argument("values", nargs="*", metavar="VALUE")
    p.add_argument("--file", help="one value a line (# starts a comment)")
    p.add_argument("--json", action="store_true", help="one JSON result a line")
    connection_flags(p)
    p.set_defaults(run=run(lookup_command))

    p = commands.add_parser("sight", help="report that an indicator fired at your site",
                            description="Report a sighting; readers see counts, never who"
                                        " sighted unless you pass --credited.")
    p.add_argument("indicator", metavar="INDICATOR_ID")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--false-positive", action="store_true")
    kind.add_argument("--expired", action="store_true", help="no longer valid at your site")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--credited", action="store_true",
                   help="name your organisation to the indicator's readers")
    connection_flags(p)
    p.set_defaults(run=run(sight_command))
