"""Stored STIX object versions: bulk insert of an envelope, filtered keyset reads, delete."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import orjson

from schemas.feeds import FeedFilter
from schemas.principal import Principal
from schemas.taxii import Cursor, ObjectQuery
from schemas.tlp import with_tlp1_marking
from server.store.feeds import condition as feed_condition
from server.store.query import Params
from server.store.records import (
    BodyRow,
    BodyTlpRow,
    ManifestRow,
    Page,
    ProducerRow,
    VersionRow,
    VersionTextRow,
)
from server.store.visibility import visible


# Per-object records on the ingest hot path are plain slotted classes: frozen dataclasses
# pay an object.__setattr__ per field, a measurable share of ingest time.
@dataclass(slots=True)
class Facets:
    """Facts extracted at ingest that feed filters and blocklists query."""

    confidence: int | None = None
    labels: list[str] | None = None
    indicator_types: list[str] | None = None
    valid_until: datetime | None = None
    revoked: bool = False
    created_by_ref: str | None = None
    ioc_kinds: list[str] | None = None
    ioc_values: list[str] | None = None
    # Lookup values the blocklist facets leave out (server.ingest.lookup_values).
    obs_kinds: list[str] | None = None
    obs_values: list[str] | None = None
    # A blocklist value is on a shipped warninglist (server.ingest.warninglists).
    warned: bool | None = None


@dataclass(slots=True)
class StagedObject:
    """One validated object version and its sharing terms, ready to store."""

    stix_id: str
    stix_type: str
    spec_version: str
    version: datetime | None
    version_text: str | None
    body: str
    producer_org: uuid.UUID
    tlp: str = "amber"
    sectors: list[str] | None = None
    recipients: list[uuid.UUID] = field(default_factory=list)
    withheld: bool = False
    facets: Facets = field(default_factory=Facets)


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    """What happened to each staged object: stored now, already stored identically, refused
    (another producer's other content), or its producer's correction of a stored version."""

    stored: list[tuple[str, str]]
    duplicates: list[tuple[str, str]]
    conflicts: list[tuple[str, str]]
    corrected: list[tuple[str, str]] = field(default_factory=list)


# Array columns are staged as text in array-literal form and cast in the insert: asyncpg's
# per-value array encoder costs ~2 us per array per row, the literal a fraction of that.
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS ingest_staging_v6 ("
    " ord integer, stix_id text, stix_type text, spec_version text,"
    " version timestamptz, version_text text, body text, producer_org uuid, tlp text,"
    " sectors text, recipients text, withheld boolean, confidence integer,"
    " labels text, indicator_types text, valid_until timestamptz, revoked boolean,"
    " created_by_ref text, ioc_kinds text, ioc_values text, obs_kinds text, obs_values text,"
    " warned boolean)"
    " ON COMMIT DELETE ROWS"
)
_FACETS = (
    "confidence", "labels", "indicator_types", "valid_until", "revoked", "created_by_ref",
    "ioc_kinds", "ioc_values", "obs_kinds", "obs_values", "warned",
)
_STAGING_COLUMNS = (
    "ord", "stix_id", "stix_type", "spec_version", "version", "version_text", "body",
    "producer_org", "tlp", "sectors", "recipients", "withheld", *_FACETS,
)
_ARRAYS = {"sectors": "text[]", "recipients": "uuid[]", "labels": "text[]",
           "indicator_types": "text[]", "ioc_kinds": "text[]", "ioc_values": "text[]",
           "obs_kinds": "text[]", "obs_values": "text[]"}


def _staged(column: str) -> str:
    """A staging column as the insert reads it: array literals cast back to arrays."""
    return f"s.{column}::{_ARRAYS[column]}" if column in _ARRAYS else f"s.{column}"


def _array(values: list | None) -> str | None:
    """A PostgreSQL array literal of these strings (or uuids), every element quoted."""
    if values is None:
        return None
    if not values:
        return "{}"
    text = orjson.dumps(values, default=str)  # asyncpg hands back its own UUID type
    if b"\\" not in text:
        # JSON's quoting is the array literal's when nothing needs escaping.
        return "{" + text[1:-1].decode() + "}"
    # PostgreSQL text cannot hold NUL: a facet (a search key) drops it; the stored object
    # keeps the value as posted.
    return "{" + ",".join(
        ['"' + str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "") + '"'
         for v in values]
    ) + "}"


class _CommonArrays:
    """_array for the lists that repeat across the objects of one envelope (labels, types,
    IOC kinds), each literal made once; it lives as long as the envelope's write."""

    __slots__ = ("_literals",)

    def __init__(self) -> None:
        self._literals: dict[tuple, str | None] = {}

    def literal(self, values: list | None) -> str | None:
        """The array literal of `values`, made once per distinct short list."""
        if values is None:
            return None
        if len(values) > 8 or sum(map(len, values)) > 256:
            return _array(values)  # posters choose these: only short lists are worth keeping
        key = tuple(values)
        literal = self._literals.get(key)
        if literal is None:
            literal = self._literals[key] = _array(values)
        return literal


def _row(ord_: int, o: StagedObject, common: Callable[[list | None], str | None]) -> tuple:
    f = o.facets
    return (ord_, o.stix_id, o.stix_type, o.spec_version, o.version, o.version_text, o.body,
            o.producer_org, o.tlp, common(o.sectors), _array(o.recipients), o.withheld,
            f.confidence, common(f.labels), common(f.indicator_types),
            f.valid_until, f.revoked, f.created_by_ref, common(f.ioc_kinds),
            _array(f.ioc_values), common(f.obs_kinds), _array(f.obs_values), f.warned)


# Listeners in every server process wake their stream and webhook subscribers on it.
NOTIFY_CHANNEL = "accord_objects"
_US = "interval '1 microsecond'"
_FLOOR = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SEQ = 2**63 - 1
_ISO = "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"


# Staged rows into objects. An object whose id was withdrawn from the collection is stored
# withdrawn (DESIGN.md: it stays withdrawn until an admin restores it).
_INSERT = (
    f"INSERT INTO objects (collection_id, group_id, stix_id, stix_type, spec_version,"
    f" version, version_text, versioned, date_added, producer_org, body, tlp, sectors,"
    f" recipients, withheld, withdrawn, {', '.join(_FACETS)})"
    f" SELECT $1, $3, s.stix_id, s.stix_type, s.spec_version,"
    f"  coalesce(s.version, a.added),"
    f"  coalesce(s.version_text, to_char(a.added AT TIME ZONE 'UTC', {_ISO})),"
    f"  s.version IS NOT NULL, a.added, s.producer_org, s.body, s.tlp, {_staged('sectors')},"
    f"  {_staged('recipients')}, s.withheld,"
    # Uncorrelated, so PostgreSQL builds the (usually empty) set once, not a probe a row.
    f"  s.stix_id IN (SELECT w.stix_id FROM withdrawn_objects w WHERE w.collection_id = $1),"
    f"  {', '.join(_staged(f) for f in _FACETS)}"
    f" FROM ingest_staging_v6 s,"
    f"  LATERAL (SELECT $2::timestamptz + s.ord * {_US} AS added) a"
)


async def store_envelope(
    conn: asyncpg.Connection,
    collection_id: uuid.UUID,
    group_id: uuid.UUID,
    objects: list[StagedObject],
) -> StoreOutcome:
    """Store an envelope's valid objects atomically; duplicates of stored versions are kept once.

    date_added values are handed out under the ingest clock's row lock, so they increase
    strictly in commit order and a reader paging with added_after never skips an object.
    Call inside the caller's transaction, so the status is written in the same commit.
    """
    await conn.execute(_STAGING)
    # Rows go at commit; an earlier call in the same transaction may have left some.
    await conn.execute("DELETE FROM ingest_staging_v6")
    common = _CommonArrays().literal  # a bound method: cheaper to call than __call__
    await conn.copy_records_to_table(
        "ingest_staging_v6", records=[_row(i, o, common) for i, o in enumerate(objects)],
        columns=_STAGING_COLUMNS,
    )
    base = await conn.fetchval(
        f"UPDATE ingest_clock SET last_added ="
        f" greatest(clock_timestamp(), last_added + {_US}) + ($1 - 1) * {_US}"
        f" RETURNING last_added - ($1 - 1) * {_US}",
        len(objects),
    )
    status = await conn.execute(_INSERT + " ORDER BY s.ord ON CONFLICT DO NOTHING",
                                collection_id, base, group_id)
    count = int(status.split()[-1])
    if count == len(objects) and all(o.version_text is not None for o in objects):
        # Everything new and versioned (the usual envelope): nothing to read back.
        await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
        return StoreOutcome([(o.stix_id, o.version_text) for o in objects], [], [])
    # This envelope's date_added range is its own (handed out under the clock's lock), so
    # the rows in it are exactly those inserted now.
    inserted = await conn.fetch(
        f"SELECT stix_id, version_text, versioned FROM objects WHERE collection_id = $1"
        f" AND date_added >= $2 AND date_added < $2 + $3 * {_US}",
        collection_id, base, len(objects),
    )
    stored_keys = {(r["stix_id"], r["version_text"] if r["versioned"] else None) for r in inserted}
    left = [(n, o) for n, o in enumerate(objects) if (o.stix_id, o.version_text) not in stored_keys]
    existing: dict[tuple[str, datetime | None], asyncpg.Record] = {}
    if left:
        rows = await conn.fetch(
            "SELECT seq, stix_id, version, version_text, versioned, body, producer_org"
            " FROM objects WHERE collection_id = $1 AND stix_id = ANY($2::text[])",
            collection_id, list({o.stix_id for _, o in left}),
        )
        for r in rows:
            existing[(r["stix_id"], r["version"] if r["versioned"] else None)] = r
    stored = [(r["stix_id"], r["version_text"]) for r in inserted]
    duplicates, conflicts, corrected = [], [], []
    replace_seqs: list[int] = []
    replace_ords: list[int] = []
    for n, o in left:
        row = existing.get((o.stix_id, o.version))
        if row is None or row["body"] == o.body:
            # Same id and version, identical content: a success (TAXII 2.1 s5.5).
            duplicates.append((o.stix_id, row["version_text"] if row else o.version_text or ""))
        elif row["producer_org"] == o.producer_org:
            # The producer's correction of a version it released (publishers edit without
            # moving `modified`): the new content replaces the old, as a new row with a
            # new date_added, so pollers, streams and webhooks receive it.
            corrected.append((o.stix_id, row["version_text"]))
            replace_seqs.append(row["seq"])
            replace_ords.append(n)
        else:
            # Another producer's other content under a stored version: refused, so that
            # what readers have is never changed by someone else.
            conflicts.append((o.stix_id, row["version_text"]))
    if replace_seqs:
        await conn.execute("DELETE FROM objects WHERE seq = ANY($1::bigint[])", replace_seqs)
        status = await conn.execute(
            _INSERT + " WHERE s.ord = ANY($4::integer[]) ORDER BY s.ord",
            collection_id, base, group_id, replace_ords,
        )
        count += int(status.split()[-1])
    if count:
        await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    return StoreOutcome(stored, duplicates, conflicts, corrected)


class Projection(enum.Enum):
    """What a read returns of each stored version, and the record class it comes as."""

    BODY = ("o.body", BodyRow)
    BODY_TLP = ("o.body, o.tlp", BodyTlpRow)  # to serve TLP 1.0 ids too (schemas.tlp)
    # The producer (what Accord vouches for), or none for withheld posts: DESIGN.md.
    MANIFEST = ("o.stix_id, o.version_text,"
                " (SELECT p.name FROM organizations p WHERE p.id = o.producer_org"
                " AND NOT o.withheld) AS producer_name,"
                " (SELECT p.identity_id FROM organizations p WHERE p.id = o.producer_org"
                " AND NOT o.withheld) AS producer_identity", ManifestRow)
    VERSION = ("o.version_text", VersionTextRow)
    PRODUCER = ("o.producer_org", ProducerRow)
    POSITION = ("", VersionRow)  # seq and date_added only

    def __init__(self, columns: str, record: type[VersionRow]) -> None:
        self.columns = columns
        self.record = record

    @property
    def select(self) -> str:
        """The select list: every projection carries the version's place in commit order."""
        return "o.seq, o.date_added" + (f", {self.columns}" if self.columns else "")


@dataclass(frozen=True, slots=True)
class _Query:
    sql: str
    args: list


def _filtered(
    principal: Principal,
    collection_id: uuid.UUID | None,
    q: ObjectQuery,
    projection: Projection,
    *,
    stix_id: str | None = None,
    paged: bool = True,
    feed: FeedFilter | None = None,
) -> _Query:
    """The page query: the visibility predicate plus every TAXII filter, keyset ordered.

    Scoped to one collection, or (collection_id None) to what a feed's filter selects.
    """
    p = Params()
    where = [visible(principal, p, "o")]
    if collection_id is not None:
        where.append(f"o.collection_id = {p(collection_id)}")
    if feed is not None:
        where.append(feed_condition(feed, p, "o", principal))
    ids = (stix_id,) if stix_id else q.ids
    if ids:
        where.append(f"o.stix_id = ANY({p(list(ids))}::text[])")
    if q.types:
        where.append(f"o.stix_type = ANY({p(list(q.types))}::text[])")
    spec = ""
    if q.spec_versions:
        spec_param = p(list(q.spec_versions))
        where.append(f"o.spec_version = ANY({spec_param}::text[])")
        spec = f" AND n.spec_version = ANY({spec_param}::text[])"
    # added_after and next become one keyset lower bound, always present: with it the
    # planner walks the (date_added, seq) index and stops at the limit, even on page one.
    # The walk stops early only if the planner expects at least `limit` rows to pass;
    # judged against the whole table's date_added histogram, a cursor in the middle of a
    # collection that was filled in one period looks like the table's last few percent
    # (5,000 rows of 50,000 at 1M), and with the filters below that is fewer than a page,
    # so the planner costs a walk of everything after the cursor and PostgreSQL 15 took a
    # bitmap scan of it plus a sort instead (200-850 ms a page). The bound is therefore
    # handed over as a one-row subquery (an InitPlan): still an index condition, but
    # estimated at the planner's default third instead of from that histogram.
    bound = (_FLOOR, 0)
    if q.added_after is not None:
        bound = (q.added_after, _MAX_SEQ)
    if q.cursor is not None:
        bound = max(bound, (q.cursor.date_added, q.cursor.seq))
    where.append(f"(o.date_added, o.seq) > (SELECT {p(bound[0])}::timestamptz,"
                 f" {p(bound[1])}::bigint)")
    v = q.versions
    if not v.all:
        # first/last are judged among the versions this reader may see, so a hidden
        # later version never shows through its timestamp. A scalar subquery (not an
        # anti-join) keeps the plan a walk of the keyset index that stops at the limit.
        # `>=` the latest (`<=` the first) means `=` here: o passes the same visibility
        # and spec conditions as n, so o.version lies between the first and the latest
        # version of the set the subquery reads. The planner estimates `=` against a
        # subquery at 0.5 % of rows and the inequality at a third; nearly every row is
        # its latest version, and 0.5 % is what made a page look like a full walk.
        def _extreme(order: str) -> str:
            op = ">=" if order == "DESC" else "<="
            return (
                f"o.version {op} (SELECT n.version FROM objects n"
                f" WHERE n.collection_id = o.collection_id AND n.stix_id = o.stix_id"
                f" AND {visible(principal, p, 'n')}{spec} ORDER BY n.version {order} LIMIT 1)"
            )

        alternatives = []
        if v.last:
            alternatives.append(_extreme("DESC"))
        if v.first:
            alternatives.append(_extreme("ASC"))
        if v.timestamps:
            alternatives.append(f"o.version = ANY({p(list(v.timestamps))}::timestamptz[])")
        where.append("(" + " OR ".join(alternatives) + ")")
    sql = f"SELECT {projection.select} FROM objects o WHERE " + " AND ".join(where)
    if paged:
        # One row beyond the page tells whether more follow.
        sql += f" ORDER BY o.date_added, o.seq LIMIT {p(q.limit + 1)}"
    return _Query(sql, p.values)


async def read_page(
    conn: asyncpg.Connection,
    principal: Principal,
    collection_id: uuid.UUID | None,
    q: ObjectQuery,
    projection: Projection,
    *,
    stix_id: str | None = None,
    feed: FeedFilter | None = None,
) -> Page:
    """One page of visible object versions (of a collection or a feed), as the projection's
    records."""
    query = _filtered(principal, collection_id, q, projection, stix_id=stix_id, feed=feed)
    rows = await conn.fetch(query.sql, *query.args, record_class=projection.record)
    if len(rows) <= q.limit:
        return Page(rows, None)
    rows = rows[: q.limit]
    return Page(rows, rows[-1].cursor)


async def has_visible(
    conn: asyncpg.Connection, principal: Principal, collection_id: uuid.UUID, stix_id: str
) -> bool:
    """Whether any version of the object is visible to the principal in this collection."""
    p = Params()
    sql = (
        f"SELECT EXISTS (SELECT 1 FROM objects o WHERE o.collection_id = {p(collection_id)}"
        f" AND o.stix_id = {p(stix_id)} AND {visible(principal, p, 'o')})"
    )
    return await conn.fetchval(sql, *p.values)


async def matching_versions(
    conn: asyncpg.Connection,
    principal: Principal,
    collection_id: uuid.UUID,
    stix_id: str,
    q: ObjectQuery,
) -> list[ProducerRow]:
    """Every visible version of one object that the query matches, with its producer."""
    query = _filtered(
        principal, collection_id, q, Projection.PRODUCER, stix_id=stix_id, paged=False
    )
    return await conn.fetch(query.sql, *query.args, record_class=ProducerRow)


async def delete_versions(conn: asyncpg.Connection, seqs: list[int]) -> int:
    """Delete stored versions by sequence number; return how many went."""
    status = await conn.execute("DELETE FROM objects WHERE seq = ANY($1::bigint[])", seqs)
    return int(status.split()[-1])


async def stored_ids(
    conn: asyncpg.Connection, collection_id: uuid.UUID, stix_ids: list[str]
) -> set[str]:
    """Which of these ids have a version stored in this collection (and only this one)."""
    rows = await conn.fetch(
        "SELECT DISTINCT stix_id FROM objects"
        " WHERE collection_id = $1 AND stix_id = ANY($2::text[])",
        collection_id, stix_ids,
    )
    return {r["stix_id"] for r in rows}


@dataclass(slots=True)
class Claims:
    """Who else holds the ids of a post: in its trust group, in other groups, reserved."""

    in_group: dict[str, uuid.UUID] = field(default_factory=dict)
    elsewhere: set[str] = field(default_factory=set)
    reserved: dict[str, uuid.UUID] = field(default_factory=dict)


async def claim_owners(
    conn: asyncpg.Connection, group_id: uuid.UUID, org_id: uuid.UUID, stix_ids: list[str],
    named: list[str],
) -> Claims:
    """Record org_id as owner in this group of the ids nobody there owns yet; report the ids
    others own in the group, those others own in other groups, and the reserved ids among
    `named` (the caller passes created_by_ref values and the ids that may be reserved)
    that are not org_id's.

    Run in the ingest transaction: a concurrent claim of the same id waits for ours. Call
    `release_claims` for the ids the post did not store, so a refused object claims nothing.
    """
    claims = Claims()
    if not stix_ids and not named:
        return claims
    rows = await conn.fetch(
        "WITH claimed AS (INSERT INTO group_owners (group_id, stix_id, producer_org)"
        " SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING RETURNING 1)"
        " SELECT 0 AS kind, NULL AS stix_id, NULL::uuid AS owner, count(*) AS n FROM claimed"
        # Only a member of another group can have received the id there: for the rest
        # (most posters) the look-up is skipped whole, a one-time filter.
        " UNION ALL SELECT 1, g.stix_id, g.producer_org, 0 FROM group_owners g"
        "  WHERE EXISTS (SELECT 1 FROM group_members m WHERE m.org_id = $3 AND m.group_id <> $1)"
        "  AND g.stix_id = ANY($2::text[]) AND g.group_id <> $1 AND g.producer_org <> $3"
        " UNION ALL SELECT 2, r.stix_id, r.owner_org, 0 FROM reserved_ids r"
        "  WHERE r.stix_id = ANY($4::text[]) AND r.owner_org <> $3",
        group_id, stix_ids, org_id, named,
    )
    fresh = 0
    for r in rows:
        if r["kind"] == 0:
            fresh = r["n"]
        elif r["kind"] == 1:
            claims.elsewhere.add(r["stix_id"])
        else:
            claims.reserved[r["stix_id"]] = r["owner"]
    if fresh < len(stix_ids):  # some were owned in the group already: by whom
        owned = await conn.fetch(
            "SELECT stix_id, producer_org FROM group_owners"
            " WHERE group_id = $1 AND stix_id = ANY($2::text[]) AND producer_org <> $3",
            group_id, stix_ids, org_id,
        )
        claims.in_group = {r["stix_id"]: r["producer_org"] for r in owned}
    return claims


async def release_claims(
    conn: asyncpg.Connection, group_id: uuid.UUID, org_id: uuid.UUID, stix_ids: list[str]
) -> None:
    """Drop org_id's ownership in the group of these ids where no version of them is stored
    in the group (the claims of refused objects)."""
    if stix_ids:
        await conn.execute(
            "DELETE FROM group_owners w WHERE w.group_id = $1 AND w.producer_org = $2"
            " AND w.stix_id = ANY($3::text[]) AND NOT EXISTS (SELECT 1 FROM objects o"
            "  WHERE o.collection_id IN (SELECT c.id FROM collections c WHERE c.group_id = $1)"
            "  AND o.stix_id = w.stix_id)",
            group_id, org_id, stix_ids,
        )


async def transfer_claims(
    conn: asyncpg.Connection, group_id: uuid.UUID, owners: dict[str, uuid.UUID]
) -> None:
    """Make these organisations the owners in the group of these ids (re-shared copies stay
    their producer's line)."""
    if owners:
        await conn.execute(
            "UPDATE group_owners w SET producer_org = v.org FROM"
            " unnest($2::text[], $3::uuid[]) AS v(stix_id, org)"
            " WHERE w.group_id = $1 AND w.stix_id = v.stix_id",
            group_id, list(owners), list(owners.values()),
        )


async def reserve_ids(conn: asyncpg.Connection, stix_ids: list[str], org_id: uuid.UUID) -> None:
    """Reserve these ids for org_id platform-wide (the platform's reference objects)."""
    await conn.execute(
        "INSERT INTO reserved_ids (stix_id, owner_org) SELECT unnest($1::text[]), $2"
        " ON CONFLICT (stix_id) DO UPDATE SET owner_org = EXCLUDED.owner_org",
        stix_ids, org_id,
    )


@dataclass(frozen=True, slots=True)
class StoredCopy:
    """A stored version the principal may see, and whether it is in the target collection."""

    body: str
    tlp: str
    sectors: list[str] | None
    here: bool
    producer_org: uuid.UUID
    withheld: bool


async def stored_copies(
    conn: asyncpg.Connection, principal: Principal, collection_id: uuid.UUID,
    stix_ids: list[str],
) -> dict[tuple[str, datetime], StoredCopy]:
    """Versions of these ids the principal may see, by (id, version); a copy in
    `collection_id` is preferred.

    Used to recognise an identical re-share or duplicate, and a restricted object received
    in another group: one judges only what one can see. The search runs over the
    collections of the principal's groups, on the (collection, id) index.
    """
    p = Params()
    org = p(principal.org_id)
    here = p(collection_id)
    sql = (
        f"SELECT DISTINCT ON (o.stix_id, o.version) o.stix_id, o.version, o.body, o.tlp,"
        f" o.sectors, o.producer_org, o.withheld, o.collection_id = {here} AS here"
        f" FROM objects o"
        f" WHERE o.collection_id IN (SELECT c.id FROM collections c"
        f" JOIN group_members m ON m.group_id = c.group_id WHERE m.org_id = {org})"
        f" AND o.stix_id = ANY({p(stix_ids)}::text[]) AND o.versioned"
        f" AND {visible(principal, p, 'o')}"
        # Only the owner's copy in its group is the object.
        f" AND o.producer_org = (SELECT w.producer_org FROM group_owners w"
        f" WHERE w.group_id = o.group_id AND w.stix_id = o.stix_id)"
        f" ORDER BY o.stix_id, o.version, o.collection_id = {here} DESC"
    )
    rows = await conn.fetch(sql, *p.values)
    return {(r["stix_id"], r["version"]): StoredCopy(
        r["body"], r["tlp"], r["sectors"], r["here"], r["producer_org"], r["withheld"],
    ) for r in rows}


async def stored_markings(
    conn: asyncpg.Connection, collection_id: uuid.UUID, stix_ids: list[str]
) -> dict[str, str]:
    """The stored JSON of the latest version of these marking-definitions in this
    collection (and only this one), by id."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (stix_id) stix_id, body FROM objects"
        " WHERE collection_id = $1 AND stix_id = ANY($2::text[])"
        " ORDER BY stix_id, version DESC",
        collection_id, stix_ids,
    )
    return {r["stix_id"]: r["body"] for r in rows}


async def _visible_versions(
    conn: asyncpg.Connection, principal: Principal, seqs: list[int], projection: Projection
) -> list:
    p = Params()
    sql = (
        f"SELECT {projection.select} FROM objects o WHERE o.seq = ANY({p(seqs)}::bigint[])"
        f" AND {visible(principal, p, 'o')} ORDER BY o.date_added, o.seq"
    )
    return await conn.fetch(sql, *p.values, record_class=projection.record)


async def withdraw_object(
    conn: asyncpg.Connection, collection_id: uuid.UUID, stix_id: str, withdrawn: bool
) -> int:
    """Withdraw (or restore) every stored version of an object in a collection; how many.

    A moderation write, not a read: withdrawn versions are hidden from every reader by the
    visibility predicate, so restoring must find them without it.
    """
    status = await conn.execute(
        "UPDATE objects SET withdrawn = $3 WHERE collection_id = $1 AND stix_id = $2",
        collection_id, stix_id, withdrawn,
    )
    count = int(status.split()[-1])
    if withdrawn and count:
        # Later versions and copies posted to the collection are stored withdrawn too.
        await conn.execute(
            "INSERT INTO withdrawn_objects (collection_id, stix_id) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING", collection_id, stix_id)
    elif not withdrawn:
        await conn.execute(
            "DELETE FROM withdrawn_objects WHERE collection_id = $1 AND stix_id = $2",
            collection_id, stix_id)
    return count


async def latest_cursor(conn: asyncpg.Connection) -> Cursor:
    """A cursor after everything committed so far (a stream that starts now)."""
    added = await conn.fetchval("SELECT last_added FROM ingest_clock")
    return Cursor(added, _MAX_SEQ)


async def bodies_visible(
    conn: asyncpg.Connection, principal: Principal, seqs: list[int], *, tlp1: bool = False
) -> list[str]:
    """Stored JSON of these versions that the principal may see now, in commit order
    (with the TLP 1.0 id of each one's level too if `tlp1`)."""
    if tlp1:
        rows = await _visible_versions(conn, principal, seqs, Projection.BODY_TLP)
        return [with_tlp1_marking(r.body, r.tlp) for r in rows]
    return [r.body for r in await _visible_versions(conn, principal, seqs, Projection.BODY)]
