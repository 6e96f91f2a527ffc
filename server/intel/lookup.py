"""The observable lookup: classify values, run the store query (two for a large bulk),
shape the answer."""

from __future__ import annotations

import asyncio
import heapq
import uuid
from datetime import UTC, datetime

import asyncpg
import orjson

from schemas.lookup import CollectionRef, LookupResponse, LookupResult, Match, SightingSummary
from schemas.principal import Principal
from schemas.stix import parse_timestamp
from server.ingest import warninglists
from server.ingest.lookup_values import classify
from server.intel.prefixes import PrefixLengths
from server.intel.score import decay_score
from server.store import lookup as store
from server.store import sightings

_RANK = {"exact": 0, "range": 1, "parent": 2}
# Per process: whether each organisation had an exclusion list at its last lookup (unknown:
# assume so). A list made since is seen in the same answer, and the lookup runs again.
_HAS_LIST: dict[uuid.UUID, bool] = {}


def _timestamp(value: str | None) -> datetime | None:
    try:
        return parse_timestamp(value) if value else None
    except ValueError:
        return None


def _parsed(cache: dict[str, dict[str, float]], text: str) -> dict[str, float]:
    found = cache.get(text)
    if found is None:
        found = cache[text] = orjson.loads(text)
    return found


def _summary(found: sightings.Aggregate | None) -> SightingSummary:
    if found is None:
        return SightingSummary()
    return SightingSummary(organizations=found.organizations, count=found.count,
                           last_seen=found.last_seen, false_positives=found.false_positives,
                           expired=found.expired, credited=found.credited)


# Past this many probes a bulk lookup's query is split in two, run on two connections at
# once under one snapshot: PostgreSQL runs one query on one core, and the query was half of
# a 10,000-value lookup's time.
_SPLIT_ABOVE = 2_000
# How long a bulk lookup waits for its second connection before running as one query: it
# holds the first meanwhile, and lookups holding one each must not wait on one another.
_SECOND_WAIT_S = 0.05


async def _find(pool: asyncpg.Pool, principal: Principal, probes: list[store.Probe],
                checked: bool) -> store.Found:
    # Every other value to each part (a run of unknown values costs more than one of known
    # ones), whole; each part's hits are in request order, and merged in it.
    parts = ([x for x in probes if x.index % 2 == 0], [x for x in probes if x.index % 2 == 1]) \
        if len(probes) > _SPLIT_ABOVE else ()
    async with pool.acquire() as conn:
        if not parts or not all(parts):
            return await store.find(conn, principal, probes, checked)
        try:
            other = await pool.acquire(timeout=_SECOND_WAIT_S)
        except TimeoutError:
            return await store.find(conn, principal, probes, checked)
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True), \
                    other.transaction(isolation="repeatable_read", readonly=True):
                await store.share_snapshot(conn, other)
                first, second = await asyncio.gather(
                    store.find(conn, principal, parts[0], checked),
                    store.find(other, principal, parts[1], checked))
        finally:
            await pool.release(other)
    hits = list(heapq.merge(first.hits, second.hits, key=lambda h: h.index))
    return store.Found(hits, {**first.aggregates, **second.aggregates},
                       max(first.prefix_lengths, second.prefix_lengths),
                       first.has_list or second.has_list, first.excluded | second.excluded)


async def lookup(pool: asyncpg.Pool, principal: Principal, values: list[str],
                 prefixes: PrefixLengths) -> LookupResponse:
    """What the principal may see of each value, all values in one query (two, past
    `_SPLIT_ABOVE` probes)."""
    hits: list[store.Hit] = []
    summaries: dict[str, sightings.Aggregate] = {}
    excluded: frozenset[tuple[str, str]] = frozenset()
    for _ in range(2):
        # An address is probed as each prefix a stored range can have, not all 32 (or
        # 128): at the lengths stored, as this process last read them.
        lengths = await prefixes.get(pool)
        classified = [classify(v, lengths) for v in values]
        probes = [store.Probe(i, kind, key, match)
                  for i, (_, keys) in enumerate(classified) for kind, key, match in keys]
        if not probes:
            break
        checked = _HAS_LIST.get(principal.org_id, True)
        found = await _find(pool, principal, probes, checked)
        hits, summaries, excluded = found.hits, found.aggregates, found.excluded
        _HAS_LIST[principal.org_id] = found.has_list
        # A range of a new length stored since the lengths were read: read them again
        # and look again, once (a length stored in between is as good as stored after
        # the lookup began). The same for an exclusion list made since.
        if not prefixes.stale(found.prefix_lengths) and (checked or not found.has_list):
            break
    matches: list[dict[tuple[str, str], Match]] = [{} for _ in values]
    producers: list[set] = [set() for _ in values]
    now = datetime.now(UTC)
    half_lives: dict[str, dict[str, float]] = {}  # by the group's JSON (mostly "{}")
    for h in hits:  # newest version of an object first (the query's order)
        i = h.index
        if h.match != "parent":
            producers[i].add(h.producer_org)
        key = (h.stix_id, h.matched)
        known = matches[i].get(key)
        coll = CollectionRef(id=str(h.collection_id), title=h.collection_title)
        if known is not None:
            if coll not in known.collections:
                known.collections.append(coll)
            if h.withheld:  # withheld in one copy: withheld in the answer
                known.producer = "withheld"
            continue
        summary = _summary(summaries.get(h.stix_id))
        matches[i][key] = Match(
            id=h.stix_id, type=h.stix_type, match=h.match, matched_value=h.matched,
            producer="withheld" if h.withheld else h.producer_name, tlp=h.tlp,
            confidence=h.confidence, valid_from=h.valid_from, valid_until=h.valid_until,
            revoked=h.revoked, labels=h.labels or [], collections=[coll], sightings=summary,
            score=decay_score(kind=h.kind, confidence=h.confidence,
                              valid_from=_timestamp(h.valid_from),
                              last_seen=summary.last_seen,
                              false_positives=summary.false_positives, revoked=h.revoked,
                              valid_until=h.valid_until, now=now,
                              half_lives=_parsed(half_lives, h.half_lives)),
        )
    lists = warninglists.shipped()
    results = []
    for i, value in enumerate(values):
        kind, keys = classified[i]
        found = sorted(matches[i].values(), key=lambda m: (_RANK[m.match], m.matched_value, m.id))
        for m in found:
            m.collections.sort(key=lambda c: c.id)
        warned = lists.match(kind, keys[0][1]) if kind and keys else []
        results.append(LookupResult(
            value=value, kind=kind, matches=found, warninglists=warned,
            producers=len(producers[i]),
            excluded=any((k, v) in excluded for k, v, m in keys if m == "exact")))
    return LookupResponse(results=results)
