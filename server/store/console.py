"""Reads the web console makes that the TAXII API does not: search, one object across
collections, a feed's preview, the organisation's recent posts.

Every read of stored objects goes through `visibility.visible`, as the TAXII reads do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schemas.feeds import FeedFilter
from schemas.principal import Principal
from server.store.feeds import condition as feed_condition
from server.store.query import Params
from server.store.visibility import visible

_SEARCH_LIMIT = 50
# Objects are indexed by (collection, id, version): naming the collections lets an id lookup
# be one index probe per collection instead of a scan of every stored version.
_EVERY_COLLECTION = "SELECT c.id FROM collections c"
# The one-hop references of relationships and sightings, as indexed by migration 0014.
_REFS = ("ARRAY[(o.body::jsonb)->>'source_ref', (o.body::jsonb)->>'target_ref',"
         " (o.body::jsonb)->>'sighting_of_ref']")
_HAS_REFS = "o.stix_type IN ('relationship', 'sighting')"


@dataclass(frozen=True, slots=True)
class Found:
    """A search hit: the latest visible version of an object."""

    stix_id: str
    stix_type: str
    tlp: str
    name: str | None
    date_added: datetime


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One visible version of an object, with what the console shows beside it."""

    body: str
    version_text: str
    date_added: datetime
    tlp: str
    collection_id: uuid.UUID
    collection_title: str
    producer: str | None  # None: withheld from this reader
    withdrawn: bool


@dataclass(frozen=True, slots=True)
class RecentPost:
    """One of the organisation's posts (a status resource) with its collection."""

    id: uuid.UUID
    created: datetime
    collection_title: str
    total: int
    successes: int
    failures: int
    pending: int
    first_failure: str | None


class SearchTooSlow(Exception):
    """A text search ran past its time budget (it scans; an id or a value does not)."""


async def _found(conn: asyncpg.Connection, p: Params, where: list[str], limit: int,
                 seen: dict[str, Found], *, few: bool = False) -> None:
    select = ("SELECT o.stix_id, o.stix_type, o.tlp, o.body, o.date_added, o.seq"
              " FROM objects o WHERE " + " AND ".join(where))
    if few:
        # A handful of rows found by index (one id): OFFSET 0 keeps the planner from
        # walking the whole date_added index newest first to honour the ORDER BY.
        select = f"SELECT * FROM ({select} OFFSET 0) o"
    # The name is parsed out of the body only for the rows kept: parsing every candidate
    # (a value a thousand indicators hold) was 45 of 47 ms at 1,000,000 objects.
    sql = (f"SELECT h.stix_id, h.stix_type, h.tlp, (h.body::jsonb)->>'name' AS name,"
           f" h.date_added FROM ({select} ORDER BY o.date_added DESC, o.seq DESC"
           f" LIMIT {p(limit * 4)}) h ORDER BY h.date_added DESC, h.seq DESC")
    for r in await conn.fetch(sql, *p.values):
        if r["stix_id"] not in seen and len(seen) < limit:
            seen[r["stix_id"]] = Found(r["stix_id"], r["stix_type"], r["tlp"], r["name"],
                                       r["date_added"])


async def search(
    conn: asyncpg.Connection, principal: Principal, *, text: str | None = None,
    stix_type: str | None = None, label: str | None = None, limit: int = _SEARCH_LIMIT,
    text_budget_ms: int = 3000, shared_only: bool = False,
) -> list[Found]:
    """Latest visible versions matching an id, an observable value, a type, a label, or
    text in name/description, newest first.

    An id is one index probe per collection; a value uses the GIN index on ioc_values where
    the schema has one (`@>` is the operator it serves). Only when no object holds it as a
    value is it looked for as text in name/description: a scan
    newest first, stopped at `text_budget_ms` (SearchTooSlow) so that a rare word cannot
    hold a connection for long. `shared_only` leaves out the platform's reference objects
    (TLP definitions and the like, which every organisation reads).
    """
    def base() -> tuple[Params, list[str]]:
        p = Params()
        where = [visible(principal, p, "o")]
        if stix_type:
            where.append(f"o.stix_type = {p(stix_type)}")
        if label:
            where.append(f"o.labels @> ARRAY[{p(label)}]::text[]")
        if shared_only:
            where.append("o.group_id NOT IN (SELECT rg.id FROM trust_groups rg"
                         " WHERE rg.is_reference)")
        return p, where

    seen: dict[str, Found] = {}
    if text and "--" in text and " " not in text:
        p, where = base()
        where.append(f"o.stix_id = {p(text.lower())} AND o.collection_id IN ({_EVERY_COLLECTION})")
        await _found(conn, p, where, limit, seen, few=True)
        return list(seen.values())
    if not text:
        p, where = base()
        await _found(conn, p, where, limit, seen)
        return list(seen.values())
    p, where = base()
    where.append(f"o.ioc_values @> ARRAY[{p(text)}]::text[]")
    await _found(conn, p, where, limit, seen)
    if not seen:
        # Not an observable value anything holds: look for it as text.
        p, where = base()
        needle = p("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                   + "%")
        where.append(f"((o.body::jsonb)->>'name' ILIKE {needle}"
                     f" OR (o.body::jsonb)->>'description' ILIKE {needle})")
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL statement_timeout = {int(text_budget_ms)}")
                await _found(conn, p, where, limit, seen)
        except asyncpg.QueryCanceledError:
            raise SearchTooSlow from None
    return list(seen.values())


async def object_versions(
    conn: asyncpg.Connection, principal: Principal, stix_id: str
) -> list[ObjectVersion]:
    """Every visible version of an object in any collection, oldest first.

    The producer is named unless withheld (then only its own organisation and platform
    admins see it).
    """
    p = Params()
    reveal = "true" if principal.is_platform_admin else f"o.producer_org = {p(principal.org_id)}"
    sql = (
        f"SELECT o.body, o.version_text, o.date_added, o.tlp, o.collection_id,"
        f" c.title AS collection_title,"
        f" CASE WHEN NOT o.withheld OR {reveal} THEN po.name END AS producer, o.withdrawn"
        f" FROM objects o JOIN collections c ON c.id = o.collection_id"
        f" JOIN organizations po ON po.id = o.producer_org"
        f" WHERE o.stix_id = {p(stix_id)} AND o.collection_id IN ({_EVERY_COLLECTION})"
        f" AND {visible(principal, p, 'o')} ORDER BY o.version, o.date_added"
    )
    return [ObjectVersion(**dict(r)) for r in await conn.fetch(sql, *p.values)]


async def related(
    conn: asyncpg.Connection, principal: Principal, stix_id: str, refs: list[str],
    limit: int = 50,
) -> list[Found]:
    """Objects one hop away that the principal may see: those this one refers to, and
    relationships and sightings that refer to it."""
    p = Params()
    me = p(stix_id)
    sql = (
        f"SELECT DISTINCT ON (o.stix_id) o.stix_id, o.stix_type, o.tlp,"
        f" (o.body::jsonb)->>'name' AS name, o.date_added FROM objects o"
        f" WHERE {visible(principal, p, 'o')} AND ((o.stix_id = ANY({p(refs)}::text[])"
        f" AND o.collection_id IN ({_EVERY_COLLECTION}))"
        f" OR ({_HAS_REFS} AND {_REFS} @> ARRAY[{me}]::text[]))"
        f" ORDER BY o.stix_id, o.version DESC LIMIT {p(limit)}"
    )
    return [Found(**dict(r)) for r in await conn.fetch(sql, *p.values)]


async def identity_names(conn: asyncpg.Connection, principal: Principal,
                         identity_ids: list[str]) -> dict[str, str]:
    """Names of identities: member organisations' own, else visible identity objects."""
    names = {r["identity_id"]: r["name"] for r in await conn.fetch(
        "SELECT identity_id, name FROM organizations WHERE identity_id = ANY($1::text[])",
        identity_ids,
    )}
    left = [i for i in identity_ids if i not in names]
    if left:
        p = Params()
        sql = (
            f"SELECT DISTINCT ON (o.stix_id) o.stix_id, (o.body::jsonb)->>'name' AS name"
            f" FROM objects o WHERE o.stix_id = ANY({p(left)}::text[])"
            f" AND o.collection_id IN ({_EVERY_COLLECTION})"
            f" AND {visible(principal, p, 'o')} ORDER BY o.stix_id, o.version DESC"
        )
        names.update({r["stix_id"]: r["name"] for r in await conn.fetch(sql, *p.values)
                      if r["name"]})
    return names


async def preview(
    conn: asyncpg.Connection, principal: Principal, feed: FeedFilter, sample: int = 5,
    cap: int = 10_000,
) -> tuple[dict[tuple[str, str], int], bool, list[str]]:
    """What a feed would deliver now: a count per (type, TLP) of the first `cap` matching
    versions, whether more match, and a sample of the newest bodies.

    Counting stops at the cap, so a preview costs the same however much is stored.
    """
    def where(p: Params) -> str:
        return f"{visible(principal, p, 'o')} AND {feed_condition(feed, p, 'o', principal)}"

    p = Params()
    counts = {
        (r["stix_type"], r["tlp"]): r["n"]
        for r in await conn.fetch(
            f"SELECT stix_type, tlp, count(*) AS n FROM (SELECT o.stix_type, o.tlp"
            f" FROM objects o WHERE {where(p)} LIMIT {p(cap + 1)}) m"
            f" GROUP BY stix_type, tlp ORDER BY stix_type, tlp", *p.values)
    }
    more = sum(counts.values()) > cap
    p = Params()
    bodies = [r["body"] for r in await conn.fetch(
        f"SELECT o.body FROM objects o WHERE {where(p)}"
        f" ORDER BY o.date_added DESC, o.seq DESC LIMIT {p(sample)}", *p.values)]
    return counts, more, bodies


async def recent_posts(conn: asyncpg.Connection, org_id: uuid.UUID,
                       retention_hours: int, limit: int = 20) -> list[RecentPost]:
    """The organisation's recent posts, those with failures first, newest first."""
    rows = await conn.fetch(
        "SELECT s.id, s.created, c.title AS collection_title, s.total,"
        " s.success_count AS successes, s.failure_count AS failures, s.pending_count AS pending,"
        " CASE WHEN s.failure_count > 0 THEN (s.failures::jsonb)->0->>'message' END"
        "  AS first_failure"
        " FROM statuses s JOIN collections c ON c.id = s.collection_id"
        " WHERE s.org_id = $1 AND s.created > now() - $2 * interval '1 hour'"
        " ORDER BY s.failure_count > 0 DESC, s.created DESC LIMIT $3",
        org_id, retention_hours, limit,
    )
    return [RecentPost(**dict(r)) for r in rows]


@dataclass(frozen=True, slots=True)
class ReachCount:
    """How many of a group's objects (that the asker sees) a member receives, by TLP and rule."""

    tlp: str
    rule: str  # receives, own, red-not-addressed, sector, other
    sectors: list[str] | None
    count: int


async def member_reach(
    conn: asyncpg.Connection, asker: Principal, member: Principal, group_id: uuid.UUID
) -> list[ReachCount]:
    """Counts only: of the group's objects the asker may see, which the member receives.

    "Receives" is the visibility predicate itself, evaluated for the member, so the preview
    can never disagree with what the member is served; the other rules only explain why not.
    """
    p = Params()
    m = p(member.org_id)
    rule = (
        f"CASE WHEN o.producer_org = {m} THEN 'own'"
        f" WHEN {visible(member, p, 'o')} THEN 'receives'"
        f" WHEN o.tlp = 'red' AND NOT {m} = ANY(o.recipients) THEN 'red-not-addressed'"
        f" WHEN o.sectors IS NOT NULL AND NOT {p(member.sector.value)} = ANY(o.sectors)"
        f" THEN 'sector' ELSE 'other' END"
    )
    sql = (
        f"SELECT o.tlp, {rule} AS rule,"
        f" CASE WHEN o.sectors IS NOT NULL THEN o.sectors END AS sectors, count(*) AS count"
        f" FROM objects o WHERE o.group_id = {p(group_id)} AND {visible(asker, p, 'o')}"
        f" GROUP BY 1, 2, 3 ORDER BY 2, 1"
    )
    return [ReachCount(**dict(r)) for r in await conn.fetch(sql, *p.values)]
