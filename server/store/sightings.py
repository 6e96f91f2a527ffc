"""Sightings of indicators: recorded where the sighter sees the indicator, read as aggregates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from schemas.principal import Principal
from server.store.query import Params
from server.store.visibility import visible


async def record(
    conn: asyncpg.Connection, principal: Principal, stix_id: str, kind: str, count: int,
    first_seen: datetime | None, last_seen: datetime, credited: bool,
    sighting_ref: str | None = None,
) -> int:
    """Record a sighting against every collection where the principal sees the indicator;
    how many (0: no such indicator visible to it, whether or not one exists)."""
    p = Params()
    org = p(principal.org_id)
    sql = (
        f"INSERT INTO sightings (report, collection_id, stix_id, sighter_org, kind, count,"
        f" first_seen, last_seen, credited, sighting_ref)"
        f" SELECT {p(uuid.uuid4())}::uuid, t.collection_id, {p(stix_id)}, {org}, {p(kind)},"
        f" {p(count)}, {p(first_seen)}::timestamptz, {p(last_seen)}::timestamptz,"
        f" {p(credited)}, {p(sighting_ref)}"
        f" FROM (SELECT DISTINCT o.collection_id FROM objects o"
        # The (collection, id) index over the collections the principal could see into.
        f" WHERE o.collection_id IN (SELECT c.id FROM collections c"
        f" JOIN group_members m ON m.group_id = c.group_id WHERE m.org_id = {org}"
        f" UNION ALL SELECT DISTINCT w.collection_id FROM objects w"
        f" WHERE w.producer_org = {org} AND w.stix_id = {p(stix_id)})"
        f" AND o.stix_id = {p(stix_id)} AND o.stix_type = 'indicator'"
        f" AND {visible(principal, p, 'o')}) t"
        # A new version of a sighting object replaces its earlier report.
        f" ON CONFLICT (sighting_ref, sighter_org, collection_id) WHERE sighting_ref IS NOT NULL"
        f" DO UPDATE SET kind = EXCLUDED.kind, count = EXCLUDED.count,"
        f" first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen,"
        f" credited = EXCLUDED.credited"
    )
    status = await conn.execute(sql, *p.values)
    return int(status.split()[-1])


@dataclass(slots=True)
class Aggregate:
    """What readers of an indicator learn of its sightings: counts, never who (unless
    credited)."""

    organizations: int = 0
    count: int = 0
    last_seen: datetime | None = None
    false_positives: int = 0
    expired: int = 0
    credited: list[str] = field(default_factory=list)


async def aggregates(
    conn: asyncpg.Connection, copies: list[tuple[uuid.UUID, str]]
) -> dict[str, Aggregate]:
    """Sighting aggregates by indicator id over these (collection, id) copies, which the
    caller has already judged visible to the reader."""
    if not copies:
        return {}
    rows = await conn.fetch(
        "SELECT s.stix_id,"
        " count(DISTINCT s.sighter_org) FILTER (WHERE s.kind = 'seen') AS orgs,"
        " coalesce(sum(s.count) FILTER (WHERE s.kind = 'seen'), 0) AS count,"
        " max(s.last_seen) FILTER (WHERE s.kind = 'seen') AS last_seen,"
        " count(DISTINCT s.sighter_org) FILTER (WHERE s.kind = 'false-positive') AS fps,"
        " count(DISTINCT s.sighter_org) FILTER (WHERE s.kind = 'expired') AS expired,"
        " array_agg(DISTINCT org.name) FILTER (WHERE s.credited) AS credited"
        " FROM (SELECT DISTINCT ON (s.report) s.*"
        " FROM unnest($1::uuid[], $2::text[]) AS k(collection_id, stix_id)"
        " JOIN sightings s ON s.stix_id = k.stix_id AND s.collection_id = k.collection_id) s"
        " JOIN organizations org ON org.id = s.sighter_org GROUP BY s.stix_id",
        [c for c, _ in copies], [i for _, i in copies],
    )
    return {r["stix_id"]: Aggregate(r["orgs"], r["count"], r["last_seen"], r["fps"],
                                    r["expired"], sorted(r["credited"] or []))
            for r in rows}
