"""The analyst lookup: values matched through the facets ingest writes, in one query.

Exact values and the CIDR ranges holding an address are all equality probes of the
GIN-indexed value arrays (`ioc_values`, the blocklist facets, and `obs_values`, the rest):
an address is probed as itself and as each of its prefixes, one index scan in all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import cast

import asyncpg

from schemas.principal import Principal
from server.store import exclusions
from server.store.query import Params
from server.store.sightings import Aggregate, aggregate_of, aggregates_sql
from server.store.visibility import visible


@dataclass(frozen=True, slots=True)
class Probe:
    """One search key of one looked-up value (its index in the request)."""

    index: int
    kind: str
    value: str
    match: str  # "exact", "range" (a prefix holding the address) or "parent"


@dataclass(frozen=True, slots=True)
class Hit:
    """A current, visible version whose values match a probe."""

    index: int
    match: str
    matched: str
    kind: str
    stix_id: str
    stix_type: str
    tlp: str
    confidence: int | None
    valid_until: datetime | None
    revoked: bool
    labels: list[str] | None
    valid_from: str | None
    producer_org: uuid.UUID
    producer_name: str
    withheld: bool
    collection_id: uuid.UUID
    collection_title: str
    half_lives: str  # the trust group's decay half-lives, JSON (0026)


async def prefix_lengths(conn: asyncpg.Pool | asyncpg.Connection,
                         ) -> dict[str, frozenset[int]]:
    """The prefix lengths of the CIDR ranges stored, by kind (ipv4, ipv6): migration 0025
    keeps them, for all groups alike (a length says nothing of who stored what)."""
    found: dict[str, set[int]] = {}
    for kind, bits in await conn.fetch("SELECT kind, bits FROM lookup_prefix_lengths"):
        found.setdefault(kind, set()).add(bits)
    return {k: frozenset(v) for k, v in found.items()}


async def share_snapshot(first: asyncpg.Connection, second: asyncpg.Connection) -> None:
    """Make `second`'s transaction see what `first`'s sees (both repeatable read, begun by
    the caller; `first` stays open while `second` runs): one answer of two queries."""
    snapshot = await first.fetchval("SELECT pg_export_snapshot()")
    await second.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")


_FEW_KEYS = 64


def _order(h: Hit, version: datetime) -> tuple:
    return (h.index, h.stix_id, -version.timestamp(), str(h.collection_id))


@dataclass(frozen=True, slots=True)
class Found:
    """What one lookup query answers."""

    hits: list[Hit]
    # The sighting aggregates of the indicators among the hits, by indicator id.
    aggregates: dict[str, Aggregate]
    # How many prefix lengths the query saw stored (the probes' lengths were current if
    # they were as many: the set only grows).
    prefix_lengths: int
    # Whether the principal's organisation has an exclusion list, and the exact keys (kind,
    # value) on it (checked only when asked: `find`'s `exclusions_check`).
    has_list: bool = False
    excluded: frozenset[tuple[str, str]] = frozenset()


class _StandIn:
    """A principal whose values are the names of the parameters that will carry them."""

    org_id = "org"
    sector = SimpleNamespace(value="sector")

    def __init__(self, is_platform_admin: bool) -> None:
        self.is_platform_admin = is_platform_admin


@lru_cache(maxsize=4)
def _template(is_platform_admin: bool, exclusions_check: bool) -> tuple[str, tuple[str, ...]]:
    """The lookup query for one kind of caller, and the names of its parameters in order:
    built once, not at each lookup (it was a twentieth of a lookup's server time)."""
    principal = cast(Principal, _StandIn(is_platform_admin))
    p = Params()
    kinds, values = p("kinds"), p("values")
    # The check of the exclusion list, a sixth of a single lookup's PostgreSQL time even
    # when the list is empty, only where the caller knows there is one; whether there is
    # comes back either way.
    excluded = (exclusions.excluded_keys(principal.org_id, p, p("exact_kinds"),
                                         p("exact_values"))
                if exclusions_check else "NULL::text[]")
    has_list = exclusions.has_list_sql(principal.org_id, p)
    ids_sql = ("ARRAY(SELECT DISTINCT stix_id COLLATE \"default\" FROM hits"
               " WHERE stix_type = 'indicator')")
    hits = (
        f"SELECT q.kind, q.v, o.stix_id, o.stix_type, o.tlp,"
        f" o.confidence, o.valid_until, o.revoked, o.labels,"
        f" o.body::jsonb ->> 'valid_from' AS valid_from, o.producer_org,"
        f" org.name AS producer_name, o.withheld, o.collection_id, c.title AS collection_title,"
        f" g.half_lives::text AS half_lives, o.version"
        f" FROM unnest({kinds}::text[], {values}::text[]) AS q(kind, v)"
        f" CROSS JOIN LATERAL (SELECT o.* FROM objects o"
        f" WHERE (o.ioc_values && ARRAY[q.v] OR o.obs_values && ARRAY[q.v])"
        f" AND {visible(principal, p, 'o')}"
        # Only a superseded row (one with a later version stored) needs the look for a
        # later version this reader may see.
        f" AND (NOT o.superseded OR NOT EXISTS (SELECT 1 FROM objects n"
        f" WHERE n.collection_id = o.collection_id AND n.stix_id = o.stix_id"
        f" AND n.version > o.version AND {visible(principal, p, 'n')}))"
        f" OFFSET 0) o"
        f" JOIN collections c ON c.id = o.collection_id"
        f" JOIN trust_groups g ON g.id = c.group_id"
        f" JOIN organizations org ON org.id = o.producer_org"
        # The value under the probe's kind (an array holds values of several kinds).
        f" WHERE EXISTS (SELECT 1 FROM unnest("
        f"coalesce(o.ioc_kinds, '{{}}') || coalesce(o.obs_kinds, '{{}}'),"
        f" coalesce(o.ioc_values, '{{}}') || coalesce(o.obs_values, '{{}}')) AS u(k, v)"
        f" WHERE u.v = q.v AND u.k = q.kind)"
    )
    sql = (
        f"WITH hits AS MATERIALIZED ({hits}),"
        # One round trip for the matches, their sightings and the prefix lengths' count
        # (each query of its own was a sixth of a lookup's server time, most of it in the
        # socket writes). The count's row is there when nothing matches.
        f" agg AS ({aggregates_sql(principal, p, ids_sql)})"
        f" SELECT n.lengths, h.*, a.*, n.excluded, n.has_list"
        f" FROM (SELECT count(*) AS lengths, {excluded} AS excluded, {has_list} AS has_list"
        f" FROM lookup_prefix_lengths) n"
        f" LEFT JOIN hits h ON true"
        f" LEFT JOIN agg a ON h.stix_type = 'indicator' AND a.ref = h.stix_id"
    )
    return sql, tuple(p.values)


async def find(conn: asyncpg.Connection, principal: Principal, probes: list[Probe],
               exclusions_check: bool = True) -> Found:
    """Every current version visible to the principal holding a probe's value (of its kind),
    in request order, then id, newest version first; and the sighting aggregates of the
    indicators among them over the sightings the principal can see (none goes wider than
    its indicator: server.ingest.sightings), in the same query.

    A version is current when no later version of it in its collection is visible to the
    principal: an indicator whose pattern changed no longer matches its old value. Hidden
    rows are filtered inside the query, so an invisible match and no match answer alike.

    One query: the distinct (kind, value) keys, unnested, each joined to the GIN indexes
    by its own one-element probe (a few microseconds a key). Callers probe an address's
    prefixes only at the lengths of the stored ranges (`prefix_lengths`). One `&&` with every key in
    one array is what not to do: a GIN scan with n keys costs n for each row it returns
    (12 s for 38,000 keys at a million indicators), and without that index the test is
    n x m per row. Probes sharing a key (prefixes of nearby addresses) share its scan;
    each row is then handed to its probes here.
    """
    by_key: dict[tuple[str, str], list[Probe]] = {}
    for x in probes:
        by_key.setdefault((x.kind, x.value), []).append(x)
    keys = sorted(by_key)
    exact = [k for k in keys if any(x.match == "exact" for x in by_key[k])]
    sql, names = _template(principal.is_platform_admin, exclusions_check)
    given = {"org": principal.org_id, "sector": principal.sector.value,
             "kinds": [k for k, _ in keys], "values": [v for _, v in keys],
             "exact_kinds": [k for k, _ in exact], "exact_values": [v for _, v in exact]}
    args = [given[n] for n in names]
    if len(keys) <= _FEW_KEYS:
        # A single lookup: one round trip (a transaction and its settings took three more,
        # half of the answer's time); a few keys plan as index probes on their own.
        rows = await conn.fetch(sql, *args)
    else:
        async with conn.transaction():
            # Index probes only: starting parallel workers costs far more than the query,
            # and on a small table the planner would scan the table once for each key.
            await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0;"
                               " SET LOCAL enable_seqscan = off")
            rows = await conn.fetch(sql, *args)
    found: list[tuple[tuple, Hit]] = []
    summaries: dict[str, Aggregate] = {}
    for r in rows:
        if r[1] is None:  # the count's row, nothing matched
            continue
        for x in by_key[(r[1], r[2])]:
            h = Hit(x.index, x.match, r[2], r[1], *r[3:17])
            found.append((_order(h, r[17]), h))
        summary = aggregate_of(r)
        if summary is not None:
            summaries[r["ref"]] = summary
    found.sort(key=lambda e: e[0])
    listed = frozenset(tuple(t.split(" ", 1)) for t in rows[0]["excluded"] or ())
    return Found([h for _, h in found], summaries, rows[0][0], rows[0]["has_list"], listed)
