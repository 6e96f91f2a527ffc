"""Sightings of indicators: stored as ordinary objects, read here as aggregates.

Two reads: the indicator copies a sighter can see (what its sighting is bounded by, at
ingest), and per indicator the counts its readers get, over the sighting objects each
reader can see. Who sighted is named only where the sighter chose to be credited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from schemas.lookup import DEFAULT_CONFIDENCE, DEFAULT_HALF_LIFE, HALF_LIFE_DAYS
from schemas.principal import Principal
from server.store.query import Params
from server.store.visibility import visible


@dataclass(frozen=True, slots=True)
class IndicatorCopy:
    """The sharing terms of one indicator version a sighter can see in a trust group."""

    stix_id: str
    producer_org: uuid.UUID
    tlp: str
    sectors: list[str] | None
    recipients: list[uuid.UUID]


async def indicator_copies(conn: asyncpg.Connection, principal: Principal,
                           group_id: uuid.UUID, ids: list[str]) -> dict[str, list[IndicatorCopy]]:
    """The versions of these indicators the principal can see in this trust group, by id.

    An id absent from the answer is unknown or invisible alike: callers refuse both the same.
    """
    p = Params()
    rows = await conn.fetch(
        f"SELECT o.stix_id, o.producer_org, o.tlp, o.sectors, o.recipients FROM objects o"
        f" WHERE o.group_id = {p(group_id)} AND o.stix_id = ANY({p(ids)}::text[])"
        f" AND o.stix_type = 'indicator' AND {visible(principal, p, 'o')}",
        *p.values,
    )
    found: dict[str, list[IndicatorCopy]] = {}
    for r in rows:
        found.setdefault(r["stix_id"], []).append(IndicatorCopy(
            r["stix_id"], r["producer_org"], r["tlp"], r["sectors"], list(r["recipients"])))
    return found


@dataclass(slots=True)
class Aggregate:
    """What a reader of an indicator learns of its sightings: counts, never who (unless
    credited)."""

    organizations: int = 0
    count: int = 0
    last_seen: datetime | None = None
    false_positives: int = 0
    expired: int = 0
    credited: list[str] = field(default_factory=list)


# A sighting's kind is said by its labels, as MISP's three sighting types: a false
# positive, an indicator no longer valid at the sighter, else seen.
_KIND = ("CASE WHEN j -> 'labels' ? 'false-positive' THEN 'false-positive'"
         " WHEN j -> 'labels' ? 'expired' THEN 'expired' ELSE 'seen' END")


def aggregates_sql(principal: Principal, p: Params, ids: str) -> str:
    """SQL of the sighting aggregates (ref, orgs, count, last_seen, fps, expired, credited)
    of the indicators whose ids the SQL array `ids` holds, over the sightings the principal
    can see (the latest visible version of each sighting id, counted once across
    collections)."""
    return (
        f"SELECT s.ref,"
        f" count(DISTINCT s.producer_org) FILTER (WHERE s.kind = 'seen') AS orgs,"
        f" coalesce(sum(s.n) FILTER (WHERE s.kind = 'seen'), 0)::bigint AS count,"
        f" max(s.last_seen) FILTER (WHERE s.kind = 'seen') AS last_seen,"
        f" count(DISTINCT s.producer_org) FILTER (WHERE s.kind = 'false-positive') AS fps,"
        f" count(DISTINCT s.producer_org) FILTER (WHERE s.kind = 'expired') AS expired,"
        f" array_agg(DISTINCT org.name) FILTER (WHERE NOT s.withheld) AS credited"
        f" FROM (SELECT DISTINCT ON (o.stix_id) o.stix_id, o.producer_org, o.withheld,"
        f" j ->> 'sighting_of_ref' AS ref, {_KIND} AS kind,"
        f" CASE WHEN jsonb_typeof(j -> 'count') = 'number' THEN (j ->> 'count')::numeric"
        f" ELSE 1 END AS n,"
        f" coalesce(j ->> 'last_seen', j ->> 'modified', j ->> 'created')::timestamptz"
        f" AS last_seen"
        f" FROM objects o, LATERAL (SELECT o.body::jsonb AS j) b"
        f" WHERE o.stix_type = 'sighting'"
        f" AND (o.body::jsonb ->> 'sighting_of_ref') = ANY({ids})"
        f" AND {visible(principal, p, 'o')}"
        f" ORDER BY o.stix_id, o.version DESC) s"
        f" JOIN organizations org ON org.id = s.producer_org GROUP BY s.ref"
    )


def aggregate_of(row: asyncpg.Record) -> Aggregate | None:
    """The Aggregate of a row holding aggregates_sql's columns (None where no sighting)."""
    if row["ref"] is None:
        return None
    return Aggregate(row["orgs"], row["count"], row["last_seen"], row["fps"], row["expired"],
                     sorted(row["credited"] or []))


# The trust group's own half-life of the kind (0026), else the shipped default.
_HALF_LIFE = ("coalesce((SELECT nullif((hl.half_lives ->> coalesce({o}.ioc_kinds[1],"
              " {o}.obs_kinds[1]))::float8, 0) FROM trust_groups hl WHERE hl.id = {o}.group_id),"
              " CASE coalesce({o}.ioc_kinds[1], {o}.obs_kinds[1]) "
              + " ".join(f"WHEN '{k}' THEN {v}" for k, v in HALF_LIFE_DAYS.items())
              + f" ELSE {DEFAULT_HALF_LIFE} END)")


def score_at_least(principal: Principal | None, p: Params, minimum: int, o: str = "o") -> str:
    """SQL condition: the row is no indicator, or its decay score (server.intel.score, in
    SQL) is at least `minimum`, counting the sightings the principal can see (none if None).

    Scored at the start of the hour, so that every answer within an hour agrees with the
    export ETag naming that hour (server.store.exports)."""
    seen = (f"SELECT s.body::jsonb AS j, s.producer_org FROM objects s"
            f" WHERE s.stix_type = 'sighting'"
            f" AND (s.body::jsonb ->> 'sighting_of_ref') = {o}.stix_id"
            f" AND {visible(principal, p, 's')}") if principal is not None else (
            "SELECT NULL::jsonb AS j, NULL::uuid AS producer_org WHERE false")
    kind = _KIND.replace("j ->", "x.j ->")
    start = (f"coalesce(greatest(({o}.body::jsonb ->> 'valid_from')::timestamptz,"
             f" max(coalesce(x.j ->> 'last_seen', x.j ->> 'modified')::timestamptz)"
             f" FILTER (WHERE {kind} = 'seen')), date_trunc('hour', now(), 'UTC'))")
    score = (f"round(coalesce({o}.confidence, {DEFAULT_CONFIDENCE})"
             f" * power(0.5, greatest(0, extract(epoch FROM date_trunc('hour', now(), 'UTC')"
             f" - {start}) / 86400.0)"
             f" / ({_HALF_LIFE.format(o=o)}))"
             f" * power(0.5, count(DISTINCT x.producer_org)"
             f" FILTER (WHERE {kind} = 'false-positive')))")
    return (f"({o}.stix_type <> 'indicator' OR (NOT {o}.revoked"
            f" AND ({o}.valid_until IS NULL OR {o}.valid_until > now())"
            f" AND (SELECT {score} FROM ({seen}) x) >= {p(minimum)}))")


def of_producer(principal: Principal | None, p: Params, o: str = "o") -> str:
    """SQL condition: the row is a sighting of an indicator the principal's organisation
    produced (false without a principal)."""
    if principal is None:
        return "false"
    return (f"({o}.stix_type = 'sighting' AND EXISTS (SELECT 1 FROM objects i"
            # The (collection, id) index, over the sighting's trust group: a sighting is
            # stored only where its indicator is (server.ingest.sightings).
            f" WHERE i.collection_id IN (SELECT c.id FROM collections c"
            f" WHERE c.group_id = {o}.group_id)"
            f" AND i.stix_id = ({o}.body::jsonb ->> 'sighting_of_ref')"
            f" AND i.producer_org = {p(principal.org_id)}))")
