"""The observable lookup: classify values, run one store query, shape the answer."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from schemas.lookup import CollectionRef, LookupResponse, LookupResult, Match
from schemas.principal import Principal
from schemas.sightings import SightingSummary
from schemas.stix import parse_timestamp
from server.ingest import warninglists
from server.ingest.observables import LookupKeys, lookup_keys
from server.intel.score import decay_score
from server.store import lookup as store
from server.store import sightings

_RANK = {"exact": 0, "range": 1, "parent": 2}


def _timestamp(value: str | None) -> datetime | None:
    try:
        return parse_timestamp(value) if value else None
    except ValueError:
        return None


def _warned(lists: warninglists.Warninglists, keys: LookupKeys) -> list[str]:
    if keys.kind is None:
        return []
    value = keys.address if keys.address is not None else keys.exact[1] if keys.exact else None
    return lists.match(keys.kind, value) if value else []


def _summary(found: sightings.Aggregate | None) -> SightingSummary:
    if found is None:
        return SightingSummary()
    return SightingSummary(organizations=found.organizations, count=found.count,
                           last_seen=found.last_seen, false_positives=found.false_positives,
                           expired=found.expired, credited=found.credited)


async def lookup(pool: asyncpg.Pool, principal: Principal, values: list[str]) -> LookupResponse:
    """What the principal may see of each value, all values in one query."""
    keys: list[LookupKeys] = [lookup_keys(v) for v in values]
    probes: list[store.Probe] = []
    addresses: list[tuple[int, str]] = []
    for i, k in enumerate(keys):
        if k.address is not None:
            addresses.append((i, k.address))
        if k.exact is not None:
            probes.append(store.Probe(i, *k.exact, "exact"))
        probes.extend(store.Probe(i, "domain", parent, "parent") for parent in k.parents)
    hits = []
    summaries: dict[str, sightings.Aggregate] = {}
    if probes or addresses:
        async with pool.acquire() as conn:
            hits = await store.find(conn, principal, probes, addresses)
            # Only the copies the reader sees: a sighting goes no wider than its indicator.
            copies = sorted({(h["collection_id"], h["stix_id"]) for h in hits})
            summaries = await sightings.aggregates(conn, copies)
    matches: list[dict[tuple[str, str], Match]] = [{} for _ in values]
    producers: list[set] = [set() for _ in values]
    now = datetime.now(UTC)
    for h in hits:  # newest version of an object first (the query's order)
        i = h["i"]
        if h["match"] != "parent":
            producers[i].add(h["producer_org"])
        key = (h["stix_id"], h["matched"])
        known = matches[i].get(key)
        coll = CollectionRef(id=str(h["collection_id"]), title=h["collection_title"])
        if known is not None:
            if coll not in known.collections:
                known.collections.append(coll)
            continue
        summary = _summary(summaries.get(h["stix_id"]))
        matches[i][key] = Match(
            id=h["stix_id"], type=h["stix_type"], match=h["match"], matched_value=h["matched"],
            producer="withheld" if h["withheld"] else h["producer_name"], tlp=h["tlp"],
            confidence=h["confidence"], valid_from=h["valid_from"],
            valid_until=h["valid_until"], revoked=h["revoked"], labels=h["labels"] or [],
            collections=[coll], sightings=summary,
            score=decay_score(kind=h["kind"], confidence=h["confidence"],
                              valid_from=_timestamp(h["valid_from"]),
                              last_seen=summary.last_seen,
                              false_positives=summary.false_positives, revoked=h["revoked"],
                              valid_until=h["valid_until"], now=now),
        )
    results = []
    lists = warninglists.shipped()
    for i, value in enumerate(values):
        found = sorted(matches[i].values(), key=lambda m: (_RANK[m.match], m.matched_value, m.id))
        for m in found:
            m.collections.sort(key=lambda c: c.id)
        results.append(LookupResult(value=value, kind=keys[i].kind, matches=found,
                                    warninglists=_warned(lists, keys[i]),
                                    producers=len(producers[i])))
    return LookupResponse(results=results)
