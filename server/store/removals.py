"""Removal events that are not new object versions: expiries and erasures (issues 12, 14).

Rows of `removal_events` share the objects' cursor space (migration 0023): their seq comes
from the objects' sequence and their date_added from the ingest clock, so a feed reads
objects and removals in one commit order. Each row carries the visibility and filter
columns of the version it removes under the same names as `objects`, so the one
visibility predicate and the feed condition judge it as they judge that version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schemas.feeds import FeedFilter
from schemas.principal import Principal
from schemas.taxii import Cursor
from server.store.feeds import condition as feed_condition
from server.store.objects import NOTIFY_CHANNEL
from server.store.query import Params
from server.store.records import VersionRow
from server.store.visibility import visible

# Copied from the removed version; every column the predicate and the filters below read.
_COPIED = (
    "collection_id, group_id, stix_id, stix_type, producer_org, tlp, sectors, recipients,"
    " withdrawn, withheld, ioc_kinds"
)
_SEQ = "nextval(pg_get_serial_sequence('objects', 'seq'))"
# One instant of the ingest clock for the whole statement (its row lock orders commits).
_TICK_ROW = "(SELECT accord_clock_tick() AS at)"


class RemovalRow(VersionRow):
    """A removal event: what a consumer learns is the id, type, reason and time, no more."""

    __slots__ = ()

    @property
    def stix_id(self) -> str:
        return self["stix_id"]

    @property
    def stix_type(self) -> str:
        return self["stix_type"]

    @property
    def reason(self) -> str:
        return self["reason"]


def _selects(f: FeedFilter) -> FeedFilter:
    """The structural part of a feed filter (collections, groups, types, TLP, observable
    kinds): not whether an object is still current (a removal is what a valid-only or
    score feed most needs), nor its content (labels, confidence, indicator types, author,
    warninglists, sightings), which a removal event does not keep. A feed may so receive a
    removal of an id it never held, always one its organisation could see."""
    # Kept by name, so a content filter added to FeedFilter later never reaches for a
    # column removal_events lacks (`warned` did); warninglisted values are a content
    # condition that is on by default, so it is switched off here.
    return FeedFilter.model_construct(include_warninglisted=True,
                                      **{k: getattr(f, k) for k in _STRUCTURAL})


_STRUCTURAL = ("collections", "groups", "types", "observable_kinds", "tlp_max")


async def after(
    conn: asyncpg.Connection, principal: Principal, f: FeedFilter, cursor: Cursor | None,
    limit: int, until: Cursor | None = None,
) -> list[RemovalRow]:
    """Removal events the feed selects and the principal may see now, after `cursor` (and
    not after `until`), in commit order; at most limit + 1."""
    p = Params()
    lower = (cursor.date_added, cursor.seq) if cursor else (datetime(1970, 1, 1), 0)
    # No principal: the structural part depends on nobody (a removal of a value the
    # organisation excludes is one it never received, which a set ignores).
    where = [visible(principal, p, "o"), feed_condition(_selects(f), p, "o"),
             f"(o.date_added, o.seq) > ({p(lower[0])}::timestamptz, {p(lower[1])}::bigint)"]
    if until is not None:
        where.append(f"(o.date_added, o.seq) <= ({p(until.date_added)}::timestamptz,"
                     f" {p(until.seq)}::bigint)")
    sql = (f"SELECT o.seq, o.date_added, o.stix_id, o.stix_type, o.reason"
           f" FROM removal_events o WHERE {' AND '.join(where)}"
           f" ORDER BY o.date_added, o.seq LIMIT {p(limit + 1)}")
    return await conn.fetch(sql, *p.values, record_class=RemovalRow)


async def visible_removals(
    conn: asyncpg.Connection, principal: Principal, seqs: list[int]
) -> list[RemovalRow]:
    """These removal events that the principal may see now, in commit order."""
    if not seqs:
        return []
    p = Params()
    sql = (f"SELECT o.seq, o.date_added, o.stix_id, o.stix_type, o.reason"
           f" FROM removal_events o WHERE o.seq = ANY({p(seqs)}::bigint[])"
           f" AND {visible(principal, p, 'o')} ORDER BY o.date_added, o.seq")
    return await conn.fetch(sql, *p.values, record_class=RemovalRow)


async def record_removals(conn: asyncpg.Connection, seqs: list[int], reason: str) -> int:
    """One removal event per stored version in `seqs` (read before they are deleted), all
    at one instant of the ingest clock; returns how many."""
    if not seqs:
        return 0
    # Streams and webhook workers in every process wake at this commit.
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    status = await conn.execute(
        f"INSERT INTO removal_events (seq, date_added, reason, {_COPIED})"
        f" SELECT {_SEQ}, t.at, $2, {_COPIED} FROM (SELECT {_COPIED}, o.date_added AS d,"
        f"  o.seq AS s FROM objects o WHERE o.seq = ANY($1::bigint[])) o, {_TICK_ROW} t"
        f" ORDER BY o.d, o.s",
        seqs, reason,
    )
    return int(status.split()[-1])


async def expire(conn: asyncpg.Connection) -> int:
    """Turn every indicator version whose valid_until passed since the last run into a
    removal event, once (the clock row is locked: concurrent runs in other processes wait,
    then find nothing new). Only the latest version of an object counts: an earlier one
    whose validity a later version extended is no instruction to un-block. Call in a
    transaction."""
    last, now = await conn.fetchrow(
        "SELECT last_run, now() FROM expiry_clock FOR UPDATE")
    # Per group, so that objects_expiry (group_id, valid_until) serves a range scan.
    seqs = [r["seq"] for r in await conn.fetch(
        "SELECT o.seq FROM trust_groups g, LATERAL (SELECT o.seq FROM objects o"
        " WHERE o.group_id = g.id AND o.valid_until > $1 AND o.valid_until <= $2"
        " AND o.valid_until IS NOT NULL) x JOIN objects o ON o.seq = x.seq"
        " WHERE o.stix_type = 'indicator' AND NOT o.revoked AND NOT o.superseded",
        last, now)]
    count = await record_removals(conn, seqs, "expired")
    await conn.execute("UPDATE expiry_clock SET last_run = $1", now)
    return count


@dataclass(frozen=True, slots=True)
class ErasedVersions:
    """What an erasure deleted, by table: counts only, never content."""

    versions: int
    sightings: int
    pending: int
    withheld: int
    statuses: int


async def erasable_versions(
    conn: asyncpg.Connection, stix_id: str, producer_org: uuid.UUID | None
) -> list[int]:
    """Stored versions of an id, of one producer (None: every producer's)."""
    return [r["seq"] for r in await conn.fetch(
        "SELECT seq FROM objects WHERE stix_id = $1 AND ($2::uuid IS NULL OR producer_org = $2)",
        stix_id, producer_org)]


async def erase(
    conn: asyncpg.Connection, stix_id: str, producer_org: uuid.UUID | None
) -> ErasedVersions | None:
    """Delete every stored version of an object (of one producer, or every producer's) and
    everything derived from it: blocklist rows and lookup values (triggers and columns of
    its rows), sightings of it, pending, held and withheld copies, its entries in status
    resources; leave a removal event per version. None if nothing was stored. Call in a
    transaction."""
    seqs = await erasable_versions(conn, stix_id, producer_org)
    pending = await _delete_count(
        conn, "DELETE FROM pending_objects WHERE stix_id = $1 AND ($2::uuid IS NULL OR"
        " (poster->>'org_id')::uuid = $2)", stix_id, producer_org)
    # Held for privacy review (issue 14): shared with nobody yet, but its body is the very
    # personal data an erasure request is about.
    pending += await _delete_count(
        conn, "DELETE FROM held_objects WHERE stix_id = $1 AND ($2::uuid IS NULL OR"
        " producer_org = $2)", stix_id, producer_org)
    # Withheld copies waiting for release: its own, and sightings of it (anonymous
    # sightings wait there too), in the groups it is erased from.
    withheld = await _delete_count(
        conn, "DELETE FROM withheld_queue w WHERE (w.stix_id = $1 AND ($2::uuid IS NULL OR"
        " w.producer_org = $2)) OR (w.stix_type = 'sighting'"
        " AND (w.body::jsonb ->> 'sighting_of_ref') = $1 AND ($2::uuid IS NULL OR w.group_id"
        " IN (SELECT o.group_id FROM objects o WHERE o.seq = ANY($3::bigint[]))))",
        stix_id, producer_org, seqs)
    if not seqs and not pending and not withheld:
        return None
    # Sightings of it in the trust groups it is erased from (another producer's object of
    # the same id in an unrelated group keeps its own).
    sightings = [r["seq"] for r in await conn.fetch(
        "SELECT s.seq FROM objects s WHERE s.stix_type = 'sighting'"
        " AND (s.body::jsonb ->> 'sighting_of_ref') = $1 AND ($2::uuid IS NULL OR s.group_id"
        " IN (SELECT o.group_id FROM objects o WHERE o.seq = ANY($3::bigint[])))",
        stix_id, producer_org, seqs)]
    await record_removals(conn, seqs + sightings, "erased")
    await conn.execute("DELETE FROM objects WHERE seq = ANY($1::bigint[])", seqs + sightings)
    statuses = await _scrub_statuses(conn, stix_id, producer_org)
    return ErasedVersions(len(seqs), len(sightings), pending, withheld, statuses)


async def _delete_count(conn: asyncpg.Connection, sql: str, *args: object) -> int:
    return int((await conn.execute(sql, *args)).split()[-1])


async def _scrub_statuses(
    conn: asyncpg.Connection, stix_id: str, producer_org: uuid.UUID | None
) -> int:
    # A status lists each posted object's id (and, for failures, a message about it):
    # the erased id leaves every list; the counts stay, as what the post was told.
    scrub = ("(SELECT coalesce(jsonb_agg(e), '[]'::jsonb) FROM jsonb_array_elements({c}::jsonb)"
             " e WHERE e->>'id' IS DISTINCT FROM $1)::text")
    status = await conn.execute(
        f"UPDATE statuses SET successes = {scrub.format(c='successes')},"
        f" failures = {scrub.format(c='failures')}, pendings = {scrub.format(c='pendings')}"
        f" WHERE ($2::uuid IS NULL OR org_id = $2) AND strpos(successes || failures || pendings,"
        f" $1) > 0", stix_id, producer_org)
    return int(status.split()[-1])


@dataclass(frozen=True, slots=True)
class Purged:
    """One collection's retention purge: counts only."""

    collection_id: uuid.UUID
    retention_days: int
    versions: int
    sightings: int


async def purge_expired_retention(conn: asyncpg.Connection, batch: int = 10_000) -> list[Purged]:
    """Delete object versions older than their collection's retention period (the
    collection's, else its group's; none: kept), and the sightings of them, in batches of
    `batch` versions per collection. Call in a transaction."""
    rows = await conn.fetch(
        "SELECT c.id, coalesce(c.retention_days, g.retention_days) AS days FROM collections c"
        " JOIN trust_groups g ON g.id = c.group_id"
        " WHERE coalesce(c.retention_days, g.retention_days) IS NOT NULL ORDER BY c.id")
    done = []
    for r in rows:
        old = await conn.fetch(
            "SELECT seq, stix_id FROM objects WHERE collection_id = $1"
            " AND date_added < now() - $2 * interval '1 day' ORDER BY date_added, seq LIMIT $3",
            r["id"], r["days"], batch)
        if not old:
            continue
        # Sightings of an indicator whose every version is gone from this collection.
        ids = list({o["stix_id"] for o in old if o["stix_id"].startswith("indicator--")})
        seqs = [o["seq"] for o in old]
        sightings = [s["seq"] for s in await conn.fetch(
            "SELECT s.seq FROM objects s WHERE s.stix_type = 'sighting'"
            " AND (s.body::jsonb ->> 'sighting_of_ref') = ANY($1::text[])"
            " AND s.collection_id = $2 AND NOT s.seq = ANY($3::bigint[])"
            " AND NOT EXISTS (SELECT 1 FROM objects i WHERE i.collection_id = $2"
            "  AND i.stix_id = s.body::jsonb ->> 'sighting_of_ref'"
            "  AND NOT i.seq = ANY($3::bigint[]))",
            ids, r["id"], seqs)] if ids else []
        await conn.execute("DELETE FROM objects WHERE seq = ANY($1::bigint[])",
                           seqs + sightings)
        done.append(Purged(r["id"], r["days"], len(seqs), len(sightings)))
    return done
