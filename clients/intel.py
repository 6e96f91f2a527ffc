"""`accord lookup` and `accord sight`: an analyst's "have we seen this?" and feedback."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from clients.client import AccordClient
from clients.errors import ApiError
from clients.iocs import ACCORD_EXTENSION

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


def sighting(indicator_id: str, *, kind: str = "seen", count: int = 1,
             credited: bool = False) -> dict[str, Any]:
    """A STIX sighting of an indicator; anonymous unless `credited` (the Accord extension).

    The kind is said by its labels, as the server reads them: `false-positive`, `expired`,
    else seen.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    obj: dict[str, Any] = {
        "type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
        "created": now, "modified": now, "sighting_of_ref": indicator_id, "count": count,
        "last_seen": now,
    }
    if kind != "seen":
        obj["labels"] = [kind]
    if credited:
        obj["extensions"] = {ACCORD_EXTENSION: {"extension_type": "property-extension",
                                                "attribution": "credited"}}
    return obj


async def sight(client: AccordClient, collection: str, indicator_id: str,
                **spec: Any) -> dict[str, Any]:
    """Post a sighting of an indicator to a collection of its trust group; the status."""
    where = await client.find_collection(collection)
    obj = sighting(indicator_id, **spec)
    return await client.post_envelope(where, [orjson.dumps(obj)])


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
    """`accord sight INDICATOR_ID --collection C [--false-positive | --expired] [--count N]
    [--credited]`; exit 1 if the sighting was refused."""
    kind = "false-positive" if args.false_positive else "expired" if args.expired else "seen"
    status = await sight(client, args.collection, args.indicator, kind=kind,
                         count=args.count, credited=args.credited)
    for failure in status.get("failures", []):
        print(f"accord sight: {failure.get('message')}", file=sys.stderr)
    print(orjson.dumps(status).decode())
    return 0 if status.get("success_count") else 1


_EDIT_ATTEMPTS = 10


async def exclusions_command(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord exclusions [list | add VALUE... | remove VALUE... | clear]` for your
    organisation's exclusion list (changes need an org-admin key)."""
    given = set(_values(args)) if args.action != "list" else set()
    if args.action in ("add", "remove") and not given:
        raise SystemExit(f"accord exclusions {args.action}: give values or --file")
    for attempt in range(_EDIT_ATTEMPTS):
        answer = await client._request("GET", "/api/v1/exclusions", accept=JSON)
        entries = answer.json()["entries"]
        if args.action == "list":
            break
        missing = sorted(given - {e["value"] for e in entries})
        if args.action == "remove" and missing:
            raise SystemExit(f"accord exclusions remove: not on the list (as listed):"
                             f" {', '.join(missing)}")
        # `remove` names values as the list shows them (as stored: `partner.example`).
        kept = [] if args.action == "clear" else [
            {"value": e["value"], "note": e["note"]} for e in entries
            if args.action == "add" or e["value"] not in given]
        if args.action == "add":
            kept += [{"value": v, "note": args.note} for v in sorted(given)]
        # The change is made to the list as read: if another admin changed it meanwhile,
        # the server refuses (412) and the change is made again to the list as it is now.
        try:
            answer = await client._request(
                "PUT", "/api/v1/exclusions", accept=JSON, body=orjson.dumps({"entries": kept}),
                content_type=JSON, headers={"If-Match": answer.headers.get("ETag", "*")})
        except ApiError as exc:
            if exc.http_status != 412 or attempt == _EDIT_ATTEMPTS - 1:
                raise
            await asyncio.sleep(random.uniform(0, 0.05 * (attempt + 1)))  # out of step
            continue
        entries = answer.json()["entries"]
        break
    for e in entries:
        print(f"{e['kind']:6}  {e['value']}" + (f"  # {e['note']}" if e["note"] else ""))
    return 0


def add_intel_commands(commands: Any, connection_flags: Callable[[Any], None],
                       run: Callable[[Any], Any]) -> None:
    """Register `accord lookup`, `accord sight` and `accord exclusions`."""
    p = commands.add_parser(
        "lookup", help="have we seen this? look values up (addresses, domains, URLs, hashes)",
        description="Look values up among the indicators and observables you may see. Exit"
                    " status 0 if any value matched, 3 if none did.")
    p.add_argument("values", nargs="*", metavar="VALUE",
                   help="addresses, CIDR ranges, domains, URLs, e-mail addresses, hashes")
    p.add_argument("--file", help="one value a line (# starts a comment)")
    p.add_argument("--json", action="store_true", help="one JSON result a line")
    connection_flags(p)
    p.set_defaults(run=run(lookup_command))

    p = commands.add_parser("sight", help="report that an indicator fired at your site",
                            description="Post a STIX sighting of an indicator to a collection"
                                        " of its trust group; readers see counts, never who"
                                        " sighted unless you pass --credited.")
    p.add_argument("indicator", metavar="INDICATOR_ID", help="the indicator sighted")
    p.add_argument("--collection", required=True,
                   help="collection (id or title) to post the sighting to")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--false-positive", action="store_true",
                      help="the indicator misfired at your site")
    kind.add_argument("--expired", action="store_true", help="no longer valid at your site")
    p.add_argument("--count", type=int, default=1, help="times seen (default 1)")
    p.add_argument("--credited", action="store_true",
                   help="name your organisation to the indicator's readers")
    connection_flags(p)
    p.set_defaults(run=run(sight_command))

    p = commands.add_parser(
        "exclusions", help="values your organisation must never block (its exclusion list)",
        description="Your organisation's exclusion list: its feeds and blocklist exports leave"
                    " out every indicator with a matching value, and its lookups flag them. An"
                    " address or range excludes every value overlapping it, a domain its"
                    " subdomains too.",
        epilog="example: accord exclusions add 203.0.113.0/24 intranet.example --note ours")
    p.add_argument("action", nargs="?", default="list",
                   choices=["list", "add", "remove", "clear"],
                   help="list (the default), add or remove values, or clear the list")
    p.add_argument("values", nargs="*", metavar="VALUE", help="values to add or remove")
    p.add_argument("--file", help="one value a line (# starts a comment)")
    p.add_argument("--note", help="why (stored with the values added)")
    connection_flags(p)
    p.set_defaults(run=run(exclusions_command))
