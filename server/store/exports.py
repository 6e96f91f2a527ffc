"""Blocklist exports of a feed: a cheap watermark for ETags, streamed full exports, deltas.

The watermark of an export is (basis, at, expired):
- basis: what decides which rows the reader may see and the feed selects, apart from the
  rows themselves: the reader's organisation, sector, platform-admin role and trust-group
  memberships, the feed's filter (its `updated`), the format and kinds asked for, when the
  organisation's exclusion list last changed, and for a `min_score` feed the hour;
- at: the newest commit-ordered instant of any change to a row of the scope (the trust
  groups the reader reads and the feed admits): a version stored (date_added), a stored
  version changed (withdrawn, restored: `changed`), a version deleted (objects_deleted);
- expired: the latest `valid_until` in the scope that has passed (an indicator expiring
  while nobody posts changes the export, and this).
Each is read from an index in a few probes per trust group, whatever the export's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from schemas.feeds import FeedFilter
from schemas.principal import Principal
from server.store import exclusions
from server.store.feeds import condition as feed_condition
from server.store.query import Params
from server.store.visibility import visible

_FLOOR = datetime(1970, 1, 1, tzinfo=UTC)
# A delta with more candidate values than this is answered as a full export instead.
MAX_DELTA_VALUES = 200_000
# ETags older than this can no longer be the base of a delta (the answer to ?since= is then
# a full export, `X-Accord-Export: full`).
MARK_DAYS = 30
# Deleted versions are kept this long for deltas: a day beyond the oldest ETag that can
# still be a delta's base (a deletion a delta must tell is newer than its base's ETag).
DELETED_DAYS = MARK_DAYS + 1
# Rows purged at a time, so that no export request pays for a long backlog at once.
_PURGE_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class Watermark:
    """The state an export answer is computed at, and the ETag that names it."""

    etag: str
    basis: str
    at: datetime
    expired: datetime


@dataclass(frozen=True, slots=True)
class Delta:
    """Values to add and to remove since an earlier watermark (each sorted)."""

    added: list[str]
    removed: list[str]


def _scope(principal: Principal, f: FeedFilter, p: Params) -> tuple[str, str]:
    """SQL of the scope's trust-group ids and collection ids."""
    if principal.is_platform_admin:
        groups = "SELECT g.id FROM trust_groups g WHERE true"
    else:
        org = p(principal.org_id)
        groups = (f"SELECT g.id FROM trust_groups g WHERE (g.is_reference OR g.id IN"
                  f" (SELECT gm.group_id FROM group_members gm WHERE gm.org_id = {org}))")
    if f.groups:
        groups += f" AND g.id = ANY({p(f.groups)}::uuid[])"
    colls = f"SELECT c.id FROM collections c WHERE c.group_id IN ({groups})"
    if f.collections:
        colls += f" AND c.id = ANY({p(f.collections)}::uuid[])"
    return groups, colls


def watermark_sql(principal: Principal, f: FeedFilter, p: Params) -> str:
    """The watermark query: the scope's groups, newest change and latest passed expiry."""
    groups, colls = _scope(principal, f, p)
    return (
        f"WITH scope AS ({groups}), colls AS ({colls}) SELECT"
        f" (SELECT secret FROM export_secret) AS secret,"
        f" (SELECT string_agg(id::text, ',' ORDER BY id) FROM scope) AS groups,"
        f" {exclusions.changed_sql(principal.org_id, p)} AS exclusions,"
        f" (SELECT string_agg(g.id || '=' || g.half_lives::text, ',' ORDER BY g.id)"
        f"  FROM trust_groups g WHERE g.id IN (SELECT id FROM scope)) AS half_lives,"
        f" greatest("
        f"  (SELECT max((SELECT max(o.date_added) FROM objects o"
        f"   WHERE o.collection_id = colls.id)) FROM colls),"
        f"  (SELECT max((SELECT max(o.changed) FROM objects o"
        f"   WHERE o.group_id = scope.id AND o.changed IS NOT NULL)) FROM scope),"
        f"  (SELECT max((SELECT max(d.deleted_at) FROM objects_deleted d"
        f"   WHERE d.group_id = scope.id)) FROM scope)) AS at,"
        f" (SELECT max((SELECT max(o.valid_until) FROM objects o WHERE o.group_id = scope.id"
        f"   AND o.valid_until IS NOT NULL AND o.valid_until <= now())) FROM scope) AS expired"
    )


async def watermark(
    conn: asyncpg.Connection, principal: Principal, feed_id: object, f: FeedFilter,
    feed_updated: datetime, shape: str,
) -> Watermark:
    """The export's watermark and ETag, from index probes only (no row of the export)."""
    p = Params()
    sql = watermark_sql(principal, _watched(f), p)
    row = await conn.fetchrow(sql, *p.values)
    basis = (f"{principal.org_id}|{principal.sector.value}|{principal.is_platform_admin}|"
             f"{feed_id}|{feed_updated.isoformat()}|{row['groups'] or ''}|{shape}"
             f"|{row['exclusions'] or ''}")
    if f.min_score is not None:
        basis += f"|{_decay_epoch()}|{row['half_lives'] or ''}"
    at, expired = row["at"] or _FLOOR, row["expired"] or _FLOOR
    raw = f"{row['secret']}|{basis}|{at.isoformat()}|{expired.isoformat()}"
    etag = hashlib.sha256(raw.encode()).hexdigest()[:32]
    return Watermark(etag, basis, at, expired)


def _decay_epoch() -> str:
    """The hour a `min_score` feed's answer is scored at (server.store.sightings scores at
    the start of the hour).

    Decay moves every score as time passes, with no row changing: which values crossed the
    threshold is known only by scoring them all, so the hour is part of the basis (a new
    ETag each hour, and a `since=` from an earlier hour is answered in full), and so are
    the groups' half-lives.
    """
    return datetime.now(UTC).strftime("%Y-%m-%dT%H")


def _watched(f: FeedFilter) -> FeedFilter:
    """The filter whose scope the watermark watches. A `min_score` feed's scores move with
    the sightings of every trust group the reader reads (a sighting is stored beside its
    indicator's copy, which may be in a group or collection the feed does not select), so
    its watermark watches all of them."""
    if f.min_score is None:
        return f
    return f.model_copy(update={"groups": None, "collections": None})


async def remember(conn: asyncpg.Connection, mark: Watermark) -> None:
    """Keep the state behind an ETag handed out, for later ?since= (and forget old ones)."""
    inserted = await conn.fetchval(
        "INSERT INTO export_marks (etag, basis, at, expired) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING RETURNING true",
        mark.etag, mark.basis, mark.at, mark.expired,
    )
    if inserted and mark.etag.endswith("0"):  # now and then, not on every new mark
        await purge(conn)


async def purge(conn: asyncpg.Connection) -> None:
    """Forget ETags past MARK_DAYS and deleted versions past DELETED_DAYS (a batch).

    The newest deletion of each trust group stays whatever its age: it may be the newest
    change there, and the watermark must never move back to an instant it named before
    (an ETag handed out then would match content it no longer describes).
    """
    await conn.execute(
        "DELETE FROM export_marks WHERE created < now() - $1 * interval '1 day'", MARK_DAYS
    )
    await conn.execute(
        "DELETE FROM objects_deleted WHERE ctid = ANY(ARRAY(SELECT d.ctid"
        " FROM objects_deleted d WHERE d.deleted_at < now() - $1 * interval '1 day'"
        " AND d.deleted_at < (SELECT max(n.deleted_at) FROM objects_deleted n"
        " WHERE n.group_id = d.group_id) LIMIT $2))", DELETED_DAYS, _PURGE_BATCH,
    )


async def recall(conn: asyncpg.Connection, etag: str) -> Watermark | None:
    """The state behind an ETag this server handed out, if it is still kept and recent
    enough to be a delta's base (deletions older than that are purged)."""
    row = await conn.fetchrow(
        "SELECT etag, basis, at, expired FROM export_marks WHERE etag = $1"
        " AND created >= now() - $2 * interval '1 day'", etag, MARK_DAYS,
    )
    return Watermark(*row.values()) if row else None


def _selected(principal: Principal, f: FeedFilter, p: Params) -> str:
    """Visible rows the feed selects that are current indicators with values."""
    selected = f.model_copy(update={"types": ["indicator"], "valid_only": True})
    return (f"{visible(principal, p, 'o')} AND {feed_condition(selected, p, 'o', principal)}"
            f" AND o.ioc_kinds IS NOT NULL")


def _no_later_visible(principal: Principal, p: Params) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM objects n WHERE n.collection_id = o.collection_id"
            f" AND n.stix_id = o.stix_id AND n.version > o.version"
            f" AND {visible(principal, p, 'n')})")


def _current(principal: Principal, f: FeedFilter, p: Params) -> str:
    """Condition on `objects` o: a row the export carries (visible, selected, a current
    indicator with values, and the latest version the reader may see).

    Only a superseded row (one with a later version stored) can fail the last test, so
    only those pay a probe of the (collection, id, version) index for a later visible one.
    """
    return (f"{_selected(principal, f, p)}"
            f" AND (NOT o.superseded OR {_no_later_visible(principal, p)})")


def _current_rows(principal: Principal, f: FeedFilter, p: Params, columns: str,
                  table: str = "objects", also: str = "") -> str:
    """The rows `_current` admits as a union the planner can scan in parallel: the rows
    with no later version (nearly all, no per-row check) and the superseded ones.

    `also`: a further condition on o, appended to both branches.
    `table` is `objects` or `blocklist_rows` (migration 0021: the same columns, and rows,
    for indicators with values, without their bodies); a later version is always looked
    for in `objects`, whether or not it carries values.
    """
    sel = _selected(principal, f, p) + also
    return (f"SELECT {columns} FROM {table} o WHERE {sel} AND NOT o.superseded UNION ALL"
            f" SELECT {columns} FROM {table} o WHERE {sel} AND o.superseded"
            f" AND {_no_later_visible(principal, p)}")


def _kinds(kinds: list[str] | None, p: Params) -> str:
    return f" AND u.k = ANY({p(kinds)}::text[])" if kinds else ""


Output = Callable[[bytes], Awaitable[None]]


# Defence in depth behind ingest, where only canonical values become blocklist values
# (server.ingest.facets): whatever is stored, nothing with white space, a control character,
# a quote or a separator leaves in a blocklist line.
_SAFE_VALUE = (
    " AND CASE u.k WHEN 'ipv4' THEN u.v ~ '^[0-9./]+$'"
    " WHEN 'ipv6' THEN u.v ~ '^[0-9a-f:./]+$'"
    " WHEN 'domain' THEN u.v ~ '^[a-z0-9._-]+$'"
    " WHEN 'url' THEN u.v ~ '^[!-~]+$' WHEN 'email' THEN u.v ~ '^[!-~]+$'"
    " ELSE u.v ~ '^[0-9a-f]+$' END"
)


def _reads_bodies(f: FeedFilter) -> bool:
    """Whether the feed's filter needs columns blocklist_rows does not copy: the decay score
    (valid_from in the body, the sightings). The warninglist flag is copied (0025)."""
    return f.min_score is not None


def _values(principal: Principal, f: FeedFilter, kinds: list[str] | None, p: Params,
            columns: str = "", table: str | None = None) -> str:
    """(kind, value) of each current indicator's values, as a set-returning projection (one
    pass, no per-row function scan), in storage order, plus `columns` of the indicator.
    (`table="objects"` gives the same rows the slow way, for bench/explain.py.)"""
    table = table or ("objects" if _reads_bodies(f) else "blocklist_rows")
    inner = _current_rows(principal, f, p,
                          f"unnest(o.ioc_kinds) AS k, unnest(o.ioc_values) AS v{columns}",
                          table)
    # blocklist_rows holds only rows whose values pass _SAFE_VALUE (checked as they are
    # written, migration 0016); `objects` is checked here.
    guard = _SAFE_VALUE if table == "objects" else ""
    return f"SELECT * FROM ({inner}) u WHERE true{_kinds(kinds, p)}{guard}"


def _unescaping(output: Output) -> Output:
    """output, fed COPY's text format decoded: a field's newline arrives as the two bytes
    `\\n` and a backslash as `\\\\`. Stored values have neither white space nor control
    characters (_SAFE_VALUE), so these two are the only escapes COPY can send here; asyncpg
    hands over whole rows, so an escape is never cut in two. Two passes of C-speed bytes
    operations per chunk, against one tuple and one COPY row per value in PostgreSQL."""

    async def write(data: bytes) -> None:
        if b"\\\\" in data:  # a URL or an e-mail address with a backslash
            data = b"\\".join(part.replace(b"\\n", b"\n") for part in data.split(b"\\\\"))
        else:
            data = data.replace(b"\\n", b"\n")
        await output(data)

    return write


async def copy_text(conn: asyncpg.Connection, principal: Principal, f: FeedFilter,
                    kinds: list[str] | None, output: Output) -> None:
    """One value a line, in storage order, written by PostgreSQL (COPY) to output.

    Not sorted nor de-duplicated: a value two indicators carry comes twice. Sorting a
    million values cost more than the scan itself; a blocklist is a set either way.
    Without a kind to select, each indicator's values leave as one COPY row (joined by
    newlines, which COPY escapes and _unescaping restores): at a million indicators that
    took 0.78 s of PostgreSQL CPU against 1.06 s for a row per value through unnest (no
    parallel workers, best of 3, bench/README.md).
    """
    p = Params()
    if kinds or _reads_bodies(f):
        sql = f"SELECT v FROM ({_values(principal, f, kinds, p)}) x"
    else:
        sql = _lines(principal, f, p)
    await conn.copy_from_query(sql, *p.values, output=_unescaping(output))


def _lines(principal: Principal, f: FeedFilter, p: Params) -> str:
    """The export's rows of blocklist_rows, one text field per indicator: its values joined
    by newlines (an indicator with an empty list of values has no line)."""
    return _current_rows(principal, f, p, "array_to_string(o.ioc_values, E'\\n') AS v",
                         "blocklist_rows", " AND cardinality(o.ioc_values) > 0")


def _cell(column: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP: prefix with a quote)."""
    return (f"CASE WHEN left({column}, 1) IN ('=', '+', '-', '@', chr(9), chr(13))"
            f" THEN chr(39) || {column} ELSE {column} END")


async def copy_csv(conn: asyncpg.Connection, principal: Principal, f: FeedFilter,
                   kinds: list[str] | None, output: Output) -> None:
    """One CSV line per (value, indicator), with a header, in storage order (COPY)."""
    p = Params()
    # The producer is what Accord vouches for (DESIGN.md), or "withheld"; an organisation's
    # name and an e-mail address (`=x@evil.example`) are text a spreadsheet could run.
    extra = (", o.stix_id AS indicator, o.tlp, o.confidence, to_char(o.valid_until AT TIME"
             " ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS valid_until,"
             " (SELECT CASE WHEN o.withheld THEN 'withheld' ELSE pr.name END"
             " FROM organizations pr WHERE pr.id = o.producer_org) AS producer")
    sql = (f"SELECT k AS kind, {_cell('v')} AS value, indicator, tlp, confidence,"
           f" valid_until, {_cell('producer')} AS producer"
           f" FROM ({_values(principal, f, kinds, p, extra)}) x")
    await conn.copy_from_query(sql, *p.values, output=output, format="csv", header=True)


async def bodies(conn: asyncpg.Connection, principal: Principal, f: FeedFilter,
                 batch: int = 2000) -> AsyncIterator[list[str]]:
    """Stored JSON of the export's indicators in storage order, in batches (a server-side
    cursor: call inside a transaction)."""
    p = Params()
    sql = _current_rows(principal, f, p, "o.body")
    cursor = await conn.cursor(sql, *p.values)
    while rows := await cursor.fetch(batch):
        yield [r["body"] for r in rows]


async def delta(conn: asyncpg.Connection, principal: Principal, f: FeedFilter,
                kinds: list[str] | None, since: Watermark, now: Watermark) -> Delta | None:
    """What changed in the export between two watermarks of one basis; None if too much.

    Candidates are the values of the versions touched since `since` (stored, changed,
    deleted, expired, and every other version of their objects), among rows the reader
    would see but for withdrawal; each is then looked up in the current export (by value,
    on the GIN index). A value the export holds now is added; a candidate of a version
    that existed at `since` and that the export no longer holds is removed. Added values
    may already be there, removed ones already gone: both are idempotent for a set.
    """
    p = Params()
    at, expired = p(since.at), p(since.expired)
    groups, colls = _scope(principal, f, p)
    # Candidates are judged without what time or sightings change (validity, score): a
    # value that left the export by either must still be a candidate to be removed. (Nor
    # by sightings_of_mine, which reads bodies that deleted rows lack: such a feed holds
    # sightings, never a blocklist value.)
    wide = f.model_copy(update={"types": ["indicator"], "valid_only": False,
                                "min_score": None, "sightings_of_mine": None})
    cond = (f"{visible(principal, p, 'o', but_withdrawn=True)}"
            f" AND {feed_condition(wide, p, 'o', principal)} AND o.ioc_kinds IS NOT NULL")
    touched = (
        f"SELECT o.collection_id, o.stix_id FROM objects o WHERE o.collection_id IN ({colls})"
        f" AND o.date_added > {at}"
        f" UNION SELECT o.collection_id, o.stix_id FROM objects o"
        f" WHERE o.group_id IN ({groups}) AND o.changed > {at}"
        f" UNION SELECT o.collection_id, o.stix_id FROM objects o WHERE o.group_id IN ({groups})"
        f" AND o.valid_until > {expired} AND o.valid_until <= {p(now.expired)}"
    )
    if f.min_score is not None:
        # A sighting moves its indicator's score: the indicators of sightings stored,
        # changed or deleted since are touched too. A sighting deleted before migration
        # 0028 does not name its indicator, so one of those makes the answer a full export.
        q = Params()
        deleted_in, _ = _scope(principal, _watched(f), q)
        if await conn.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM objects_deleted d WHERE d.group_id IN"
                f" ({deleted_in}) AND d.deleted_at > {q(since.at)}"
                f" AND d.stix_type = 'sighting' AND d.sighting_of_ref IS NULL)", *q.values):
            return None
        all_groups, all_colls = _scope(principal, _watched(f), p)
        # Sightings the reader can see, wherever they are, touch the feed's copies of
        # their indicators (a sighting it cannot see moves none of its scores).
        sighting = (f"SELECT i.collection_id, i.stix_id FROM objects s, objects i"
                    f" WHERE s.stix_type = 'sighting'"
                    f" AND {visible(principal, p, 's', but_withdrawn=True)}"
                    f" AND i.collection_id IN ({colls})"
                    f" AND i.stix_id = (s.body::jsonb ->> 'sighting_of_ref') AND")
        touched += (f" UNION {sighting} s.collection_id IN ({all_colls}) AND s.date_added > {at}"
                    f" UNION {sighting} s.group_id IN ({all_groups}) AND s.changed > {at}"
                    f" UNION SELECT i.collection_id, i.stix_id FROM objects_deleted s, objects i"
                    f" WHERE s.group_id IN ({all_groups}) AND s.deleted_at > {at}"
                    f" AND s.stix_type = 'sighting'"
                    f" AND {visible(principal, p, 's', but_withdrawn=True)}"
                    f" AND i.collection_id IN ({colls}) AND i.stix_id = s.sighting_of_ref")
    # The versions of each touched object through the (collection, id, version) index, one
    # probe per object whatever the statistics say (OFFSET 0 keeps the planner from
    # joining the other way round: without statistics it scanned the whole table, 2 s).
    candidates_sql = (
        f"WITH touched AS MATERIALIZED ({touched}) SELECT DISTINCT u.v COLLATE \"C\" AS v,"
        f" x.old FROM touched t, LATERAL (SELECT o.ioc_kinds, o.ioc_values,"
        f" o.date_added <= {at} AS old FROM objects o WHERE o.collection_id = t.collection_id"
        f" AND o.stix_id = t.stix_id AND {cond} OFFSET 0) x,"
        f" unnest(x.ioc_kinds, x.ioc_values) AS u(k, v) WHERE true{_kinds(kinds, p)}"
        f"{_SAFE_VALUE}"
        f" UNION SELECT u.v COLLATE \"C\", true FROM objects_deleted o,"
        f" unnest(o.ioc_kinds, o.ioc_values) AS u(k, v) WHERE o.group_id IN ({groups})"
        f" AND o.deleted_at > {at} AND o.date_added <= {at} AND {cond}{_kinds(kinds, p)}"
        f"{_SAFE_VALUE}"
        f" LIMIT {MAX_DELTA_VALUES + 1}"
    )
    rows = await conn.fetch(candidates_sql, *p.values)
    if len(rows) > MAX_DELTA_VALUES:
        return None
    values = sorted({r["v"] for r in rows})
    old = {r["v"] for r in rows if r["old"]}
    if not values:
        return Delta([], [])
    q = Params()
    present_sql = (
        f"SELECT DISTINCT u.v COLLATE \"C\" AS v FROM objects o,"
        f" unnest(o.ioc_kinds, o.ioc_values) AS u(k, v)"
        f" WHERE o.ioc_values && {q(values)}::text[] AND u.v = ANY({q(values)}::text[])"
        f" AND {_current(principal, f, q)}{_kinds(kinds, q)}"
    )
    present = {r["v"] for r in await conn.fetch(present_sql, *q.values)}
    return Delta([v for v in values if v in present],
                 [v for v in values if v not in present and v in old])
