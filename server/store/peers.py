"""Federation peers, their pull and push agreements, the push outbox and its delivery log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schemas.principal import Principal, Role, Sector
from server.errors import Conflict, NotFound
from server.store import feeds
from server.store.keys import revoke_org_keys
from server.store.query import Params
from server.store.visibility import visible

# pg_try_advisory_lock key of the one federation runner per database ("accord-fed").
RUNNER_LOCK = 0x616363_6f7264


@dataclass(frozen=True, slots=True)
class Peer:
    id: uuid.UUID
    name: str
    org_id: uuid.UUID
    api_root: str
    auth_scheme: str
    secret: str
    client_cert: str | None
    client_key: str | None
    hop_limit: int
    onward: bool
    paused: bool
    created: datetime
    sector: str
    identity_id: str


@dataclass(frozen=True, slots=True)
class Pull:
    id: uuid.UUID
    peer_id: uuid.UUID
    remote_collection: str
    collection_id: uuid.UUID
    amber_group: uuid.UUID | None
    added_after: str | None
    next_token: str | None
    failures: int
    last_error: str | None
    last_success: datetime | None
    objects_in: int
    refused: int


@dataclass(frozen=True, slots=True)
class Push:
    id: uuid.UUID
    peer_id: uuid.UUID
    collection_id: uuid.UUID | None  # exactly one of collection_id and feed_id
    feed_id: uuid.UUID | None
    remote_collection: str
    tlp_max: str
    sectors: list[str] | None
    attribution: str
    objects_out: int
    pending: int = 0
    dead: int = 0


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: uuid.UUID
    push: Push
    peer: Peer
    seqs: list[int]
    attempts: int


@dataclass(frozen=True, slots=True)
class PushRow:
    """What a push needs of one stored version to judge and shape it."""

    seq: int
    body: str
    tlp: str
    sectors: list[str] | None
    producer_org: uuid.UUID
    withheld: bool


@dataclass(frozen=True, slots=True)
class PeerStats:
    name: str
    paused: bool
    objects_in: int
    objects_out: int
    pull_errors: int
    push_errors: int
    last_success: datetime | None
    pending: int


_PEER = ("p.id, p.name, p.org_id, p.api_root, p.auth_scheme, p.secret, p.client_cert,"
         " p.client_key, p.hop_limit, p.onward, p.paused, p.created, o.sector, o.identity_id")
_PEER_FROM = "peers p JOIN organizations o ON o.id = p.org_id"
_PULL = ("id, peer_id, remote_collection, collection_id, amber_group, added_after, next_token,"
         " failures, last_error, last_success, objects_in, refused")
_PUSH = ("id, peer_id, collection_id, feed_id, remote_collection, tlp_max, sectors,"
         " attribution, objects_out")


def _peer(row: asyncpg.Record, offset: int = 0) -> Peer:
    return Peer(*list(row.values())[offset:offset + 14])


def principal_of(peer: Peer) -> Principal:
    """The principal a peer acts and is judged as: a contributor of its organisation."""
    return Principal(key_id=f"peer:{peer.name}", org_id=peer.org_id, org_name=peer.name,
                     sector=Sector(peer.sector), role=Role.CONTRIBUTOR,
                     identity_id=peer.identity_id)


async def create_peer(
    conn: asyncpg.Connection, name: str, org_id: uuid.UUID, api_root: str, auth_scheme: str,
    secret: str, client_cert: str | None, client_key: str | None, hop_limit: int, onward: bool,
) -> Peer:
    """Register a peer whose organisation already exists."""
    try:
        await conn.execute(
            "INSERT INTO peers (id, name, org_id, api_root, auth_scheme, secret, client_cert,"
            " client_key, hop_limit, onward) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            uuid.uuid4(), name, org_id, api_root, auth_scheme, secret, client_cert, client_key,
            hop_limit, onward,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"a peer named {name!r} already exists") from exc
    return await peer_by_name(conn, name)


async def peer_by_name(conn: asyncpg.Connection, name: str) -> Peer:
    """The peer with this name, or NotFound."""
    row = await conn.fetchrow(f"SELECT {_PEER} FROM {_PEER_FROM} WHERE p.name = $1", name)
    if row is None:
        raise NotFound(f"no peer named {name!r}")
    return _peer(row)


async def list_peers(conn: asyncpg.Connection) -> list[Peer]:
    """Every peer, by name."""
    return [_peer(r) for r in await conn.fetch(
        f"SELECT {_PEER} FROM {_PEER_FROM} ORDER BY p.name")]


async def set_paused(conn: asyncpg.Connection, peer_id: uuid.UUID, paused: bool) -> None:
    """Pause or resume every agreement with a peer."""
    await conn.execute("UPDATE peers SET paused = $2 WHERE id = $1", peer_id, paused)


async def change_peer(conn: asyncpg.Connection, peer_id: uuid.UUID,
                      changes: dict[str, object]) -> None:
    """Set some of api_root, auth_scheme, secret, hop_limit, onward."""
    p = Params()
    sets = ", ".join(f"{column} = {p(value)}" for column, value in changes.items()
                     if column in ("api_root", "auth_scheme", "secret", "hop_limit", "onward"))
    if sets:
        await conn.execute(f"UPDATE peers SET {sets} WHERE id = {p(peer_id)}", *p.values)


async def any_peers(conn: asyncpg.Connection) -> bool:
    """Whether any peer is registered (the runner does nothing otherwise)."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM peers)"))


async def delete_peer(conn: asyncpg.Connection, peer_id: uuid.UUID) -> None:
    """Remove a peer, its agreements and queued pushes (its organisation and objects stay).

    Waits for a push attempt in flight (it holds its outbox row), so nothing is sent after;
    the keys issued to the peer's organisation are revoked, so nothing comes in either."""
    org = await conn.fetchval("DELETE FROM peers WHERE id = $1 RETURNING org_id", peer_id)
    if org is not None:
        await revoke_org_keys(conn, org)


async def add_pull(conn: asyncpg.Connection, peer_id: uuid.UUID, remote: str,
                   collection_id: uuid.UUID, amber_group: uuid.UUID | None) -> Pull:
    """Agree to pull a remote collection into a local one."""
    try:
        row = await conn.fetchrow(
            f"INSERT INTO peer_pulls (id, peer_id, remote_collection, collection_id, amber_group)"
            f" VALUES ($1, $2, $3, $4, $5) RETURNING {_PULL}",
            uuid.uuid4(), peer_id, remote, collection_id, amber_group,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("this pull agreement already exists") from exc
    return Pull(*row.values())


async def add_push(conn: asyncpg.Connection, peer_id: uuid.UUID,
                   collection_id: uuid.UUID | None, feed_id: uuid.UUID | None, remote: str,
                   tlp_max: str, sectors: list[str] | None, attribution: str) -> Push:
    """Agree to push a local collection, or a feed, to a remote collection."""
    try:
        row = await conn.fetchrow(
            f"INSERT INTO peer_pushes (id, peer_id, collection_id, feed_id, remote_collection,"
            f" tlp_max, sectors, attribution) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            f" RETURNING {_PUSH}",
            uuid.uuid4(), peer_id, collection_id, feed_id, remote, tlp_max, sectors, attribution,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("this push agreement already exists") from exc
    return Push(*row.values())


async def pulls_of(conn: asyncpg.Connection, peer_id: uuid.UUID) -> list[Pull]:
    """A peer's pull agreements."""
    rows = await conn.fetch(
        f"SELECT {_PULL} FROM peer_pulls WHERE peer_id = $1 ORDER BY created", peer_id)
    return [Pull(*r.values()) for r in rows]


async def pushes_of(conn: asyncpg.Connection, peer_id: uuid.UUID) -> list[Push]:
    """A peer's push agreements, with their pending and dead-lettered batches."""
    rows = await conn.fetch(
        f"SELECT {', '.join('s.' + c.strip() for c in _PUSH.split(','))},"
        f" (SELECT count(*) FROM peer_outbox b WHERE b.push_id = s.id AND b.state = 'pending'),"
        f" (SELECT count(*) FROM peer_outbox b WHERE b.push_id = s.id AND b.state = 'dead')"
        f" FROM peer_pushes s WHERE s.peer_id = $1 ORDER BY s.created", peer_id)
    return [Push(*r.values()) for r in rows]


async def remove_pull(conn: asyncpg.Connection, peer_id: uuid.UUID, pull_id: uuid.UUID) -> None:
    """End a pull agreement (NotFound if it is not this peer's)."""
    if await conn.execute("DELETE FROM peer_pulls WHERE id = $1 AND peer_id = $2",
                          pull_id, peer_id) == "DELETE 0":
        raise NotFound("no such pull agreement")


async def remove_push(conn: asyncpg.Connection, peer_id: uuid.UUID, push_id: uuid.UUID) -> None:
    """End a push agreement and drop its queued batches."""
    if await conn.execute("DELETE FROM peer_pushes WHERE id = $1 AND peer_id = $2",
                          push_id, peer_id) == "DELETE 0":
        raise NotFound("no such push agreement")


# --- the runner -----------------------------------------------------------------------------


async def try_runner_lock(conn: asyncpg.Connection) -> bool:
    """Take the session-level lock that makes this process the federation runner."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", RUNNER_LOCK))


async def still_locked(conn: asyncpg.Connection) -> None:
    """A round trip on the lock's connection: raises if it (and so the lock) is gone."""
    await conn.fetchval("SELECT 1")


async def due_pulls(conn: asyncpg.Connection) -> list[uuid.UUID]:
    """Pull agreements of peers not paused whose next poll is due."""
    rows = await conn.fetch(
        "SELECT l.id FROM peer_pulls l JOIN peers p ON p.id = l.peer_id"
        " WHERE NOT p.paused AND l.due <= now() ORDER BY l.due")
    return [r["id"] for r in rows]


async def lock_pull(conn: asyncpg.Connection, pull_id: uuid.UUID) -> tuple[Pull, Peer] | None:
    """The agreement and its peer, row-locked for this transaction; None once removed or
    paused (so a removal takes effect on the very next page)."""
    row = await conn.fetchrow(
        f"SELECT {', '.join('l.' + c.strip() for c in _PULL.split(','))}, {_PEER}"
        f" FROM peer_pulls l JOIN {_PEER_FROM} ON p.id = l.peer_id"
        f" WHERE l.id = $1 AND NOT p.paused FOR UPDATE OF l", pull_id)
    if row is None:
        return None
    values = list(row.values())
    return Pull(*values[:12]), _peer(row, 12)


async def save_pull_page(conn: asyncpg.Connection, pull_id: uuid.UUID, added_after: str | None,
                         next_token: str | None, stored: int, refused: int,
                         again_in_s: float, seen_until: str | None = None) -> None:
    """Advance the cursor (in the transaction that stored the page) and count the page."""
    await conn.execute(
        "UPDATE peer_pulls SET added_after = $2, next_token = $3, seen_until = CASE WHEN"
        " $3::text IS NULL THEN NULL ELSE COALESCE($7::text, seen_until) END,"
        " objects_in = objects_in + $4, refused = refused + $5, failures = 0,"
        " last_error = NULL, last_success = now(), due = now() + make_interval(secs => $6)"
        " WHERE id = $1", pull_id, added_after, next_token, stored, refused, again_in_s,
        seen_until)


async def forget_next(conn: asyncpg.Connection, pull_id: uuid.UUID, token: str) -> None:
    """Drop a `next` token the remote refused; resume after the last page's date instead."""
    await conn.execute("UPDATE peer_pulls SET next_token = NULL,"
                       " added_after = COALESCE(seen_until, added_after) WHERE id = $1"
                       " AND next_token = $2", pull_id, token)


async def pull_failed(conn: asyncpg.Connection, pull_id: uuid.UUID, error: str,
                      retry_in_s: float) -> None:
    """Record a failed poll and when to try again."""
    await conn.execute(
        "UPDATE peer_pulls SET failures = failures + 1, last_error = $2,"
        " due = now() + make_interval(secs => $3) WHERE id = $1",
        pull_id, error[:500], retry_in_s)


async def peer_origins(conn: asyncpg.Connection) -> dict[uuid.UUID, Peer]:
    """Every peer by its organisation's id: an object produced by one came from that peer."""
    return {p.org_id: p for p in await list_peers(conn)}


async def member_identities(conn: asyncpg.Connection) -> set[str]:
    """The STIX identities of local organisations and trust groups (never sent as authors
    under the exchange's or withheld attribution)."""
    rows = await conn.fetch(
        "SELECT identity_id FROM organizations UNION ALL SELECT identity_id FROM trust_groups")
    return {r["identity_id"] for r in rows}


async def platform_identity(conn: asyncpg.Connection) -> str:
    """The exchange's own STIX identity (the platform organisation's)."""
    return await conn.fetchval("SELECT identity_id FROM organizations WHERE is_platform")


# --- the push outbox ------------------------------------------------------------------------


async def live_pushes(conn: asyncpg.Connection) -> list[tuple[uuid.UUID, Peer]]:
    """Push agreements of peers not paused, with their peer."""
    rows = await conn.fetch(f"SELECT s.id, {_PEER} FROM peer_pushes s"
                            f" JOIN {_PEER_FROM} ON p.id = s.peer_id WHERE NOT p.paused")
    return [(r[0], _peer(r, 1)) for r in rows]


async def enqueue_push(conn: asyncpg.Connection, principal: Principal, push_id: uuid.UUID,
                       limit: int) -> int:
    """Queue the next versions the push selects that the peer may see as one batch, and
    advance its keyset position; returns how many were queued.

    A collection push selects that collection. A feed push selects what the feed does: its
    filter (the feed's own SQL condition, read afresh each time) among what the feed's
    organisation may see; the peer must be able to see it too."""
    row = await conn.fetchrow(
        "SELECT collection_id, feed_id, after_added, after_seq FROM peer_pushes WHERE id = $1"
        " FOR UPDATE SKIP LOCKED", push_id)
    if row is None:
        return 0
    p = Params()
    if row["feed_id"] is None:
        selects = f"o.collection_id = {p(row['collection_id'])}"
    else:
        feed = await feeds.get_feed_by_id(conn, row["feed_id"])
        owner = await feeds.feed_reader(conn, feed)
        selects = f"{feeds.condition(feed.filter, p)} AND {visible(owner, p)}"
    sql = (f"SELECT o.seq, o.date_added FROM objects o WHERE {selects}"
           f" AND (o.date_added, o.seq) > ({p(row['after_added'])}, {p(row['after_seq'])})"
           f" AND {visible(principal, p)} ORDER BY o.date_added, o.seq LIMIT {p(limit)}")
    found = await conn.fetch(sql, *p.values)
    if not found:
        return 0
    await conn.execute("INSERT INTO peer_outbox (id, push_id, seqs) VALUES ($1, $2, $3)",
                       uuid.uuid4(), push_id, [r["seq"] for r in found])
    await conn.execute("UPDATE peer_pushes SET after_added = $2, after_seq = $3 WHERE id = $1",
                       push_id, found[-1]["date_added"], found[-1]["seq"])
    return len(found)


async def claim_due_batches(conn: asyncpg.Connection, limit: int) -> list[OutboxItem]:
    """Due batches of peers not paused, locked for this transaction (held while sending, so
    removing the agreement waits for an attempt in flight and no attempt follows it)."""
    rows = await conn.fetch(
        f"SELECT b.id, b.seqs, b.attempts,"
        f" {', '.join('s.' + c.strip() for c in _PUSH.split(','))}, {_PEER}"
        f" FROM peer_outbox b JOIN peer_pushes s ON s.id = b.push_id"
        f" JOIN {_PEER_FROM} ON p.id = s.peer_id"
        f" WHERE b.state = 'pending' AND b.due <= now() AND NOT p.paused"
        f" ORDER BY b.due LIMIT $1 FOR UPDATE OF b SKIP LOCKED", limit)
    items = []
    for r in rows:
        values = list(r.values())
        items.append(OutboxItem(values[0], Push(*values[3:12]), _peer(r, 12), list(values[1]),
                                values[2]))
    return items


async def rows_visible(conn: asyncpg.Connection, principal: Principal, seqs: list[int],
                       also: Principal | None = None) -> list[PushRow]:
    """The versions among `seqs` the principal (and `also`, when given) may see right now,
    in commit order."""
    p = Params()
    both = f" AND {visible(also, p)}" if also is not None else ""
    sql = (f"SELECT o.seq, o.body, o.tlp, o.sectors, o.producer_org, o.withheld FROM objects o"
           f" WHERE o.seq = ANY({p(seqs)}::bigint[]) AND {visible(principal, p)}{both}"
           f" ORDER BY o.date_added, o.seq")
    return [PushRow(*r.values()) for r in await conn.fetch(sql, *p.values)]


async def feed_owner(conn: asyncpg.Connection, feed_id: uuid.UUID) -> Principal:
    """The principal a pushed feed selects as (its organisation, a reader)."""
    return await feeds.feed_reader(conn, await feeds.get_feed_by_id(conn, feed_id))


async def record_push_attempt(conn: asyncpg.Connection, item: OutboxItem, *, ok: bool,
                              sent: int, status: int | None, error: str | None,
                              retry_in_s: float, max_attempts: int) -> str:
    """Record one attempt: delivered, retried later, or dead-lettered; returns the state."""
    attempts = item.attempts + 1
    state = "delivered" if ok else ("dead" if attempts >= max_attempts else "pending")
    await conn.execute(
        "UPDATE peer_outbox SET state = $2, attempts = $3, last_status = $4, last_error = $5,"
        " due = now() + make_interval(secs => $6) WHERE id = $1",
        item.id, state, attempts, status, error, retry_in_s)
    if ok:
        await conn.execute("UPDATE peer_pushes SET objects_out = objects_out + $2 WHERE id = $1",
                           item.push.id, sent)
    await conn.execute(
        "INSERT INTO peer_deliveries (peer_id, outbox_id, objects, status, error, state)"
        " VALUES ($1, $2, $3, $4, $5, $6)", item.peer.id, item.id, sent, status, error, state)
    return state


async def deliveries(conn: asyncpg.Connection, peer_id: uuid.UUID,
                     limit: int = 20) -> list[asyncpg.Record]:
    """The peer's latest delivery attempts, newest first."""
    return await conn.fetch(
        "SELECT at, outbox_id, objects, status, error, state FROM peer_deliveries"
        " WHERE peer_id = $1 ORDER BY seq DESC LIMIT $2", peer_id, limit)


async def peer_stats(conn: asyncpg.Connection) -> list[PeerStats]:
    """Per-peer counters for metrics and the readiness details."""
    rows = await conn.fetch(
        "SELECT p.name, p.paused,"
        " COALESCE((SELECT sum(objects_in) FROM peer_pulls l WHERE l.peer_id = p.id), 0),"
        " COALESCE((SELECT sum(objects_out) FROM peer_pushes s WHERE s.peer_id = p.id), 0),"
        " COALESCE((SELECT sum(failures) FROM peer_pulls l WHERE l.peer_id = p.id), 0),"
        " (SELECT count(*) FROM peer_outbox b JOIN peer_pushes s ON s.id = b.push_id"
        "  WHERE s.peer_id = p.id AND b.attempts > 0 AND b.state <> 'delivered'),"
        " (SELECT max(last_success) FROM peer_pulls l WHERE l.peer_id = p.id),"
        " (SELECT count(*) FROM peer_outbox b JOIN peer_pushes s ON s.id = b.push_id"
        "  WHERE s.peer_id = p.id AND b.state = 'pending')"
        " FROM peers p ORDER BY p.name")
    return [PeerStats(*r.values()) for r in rows]


async def drop_beyond_tlp(conn: asyncpg.Connection, collection_id: uuid.UUID,
                          org_id: uuid.UUID, allowed: list[str]) -> list[str]:
    """Undo, before commit, what this transaction stored as `org_id` in the collection at a
    TLP level the pull agreement does not admit (whatever marking gave it that level), with
    the ownership those versions claimed. Returns the ids dropped."""
    rows = await conn.fetch(
        "DELETE FROM objects o WHERE o.collection_id = $1 AND o.producer_org = $2"
        " AND o.xmin = pg_current_xact_id()::xid AND o.tlp <> ALL($3::text[])"
        " RETURNING o.stix_id", collection_id, org_id, allowed)
    dropped = sorted({r["stix_id"] for r in rows})
    if dropped:
        await conn.execute(
            "DELETE FROM object_owners w WHERE w.stix_id = ANY($1::text[]) AND w.producer_org = $2"
            " AND w.xmin = pg_current_xact_id()::xid"
            " AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.stix_id = w.stix_id)",
            dropped, org_id)
    return dropped
