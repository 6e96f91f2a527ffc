"""Push: publish a local collection, or a feed, to a peer's remote collection via an outbox.

New versions the agreement selects (the collection's; or what the feed's own filter selects
among what the feed's organisation may see) that the peer's organisation may see are queued
in batches (keyset position per agreement, like webhook feeds); each attempt reads the batch
again through the visibility predicate *as the peer's organisation* (and as the feed's),
then applies the agreement: TLP ceiling (RED never, AMBER+STRICT never, AMBER only when
agreed), sectors, provenance (never back to the peer it came from, onward only when the
agreement it came under allows, AMBER from a peer never leaves its group, hop limit) and
attribution. Failed attempts back off; after `MAX_ATTEMPTS` a batch is dead-lettered.
Every attempt is logged per peer.
"""

from __future__ import annotations

import logging

import asyncpg
import orjson

from schemas.tlp import Tlp
from server.federation.client import PeerClient, PeerError
from server.federation.pull import HOPS, hops_of
from server.store import orgs
from server.store import peers as store
from server.store.peers import OutboxItem, Peer, Push, PushRow

log = logging.getLogger("accord.federation")

MAX_ATTEMPTS = 8
_MAX_BACKOFF_S = 3600.0
_RANK = {"clear": 0, "green": 1, "amber": 2}
_NEVER = {Tlp.RED.value, Tlp.AMBER_STRICT.value}
_AMBERS = {Tlp.AMBER.value, Tlp.AMBER_STRICT.value}


class Border:
    """What a push needs to know of this exchange to shape objects for a peer."""

    def __init__(self, origins: dict, members: set[str], exchange: str,
                 producers: dict) -> None:
        self.origins = origins  # organisation id -> Peer it stands for
        self.members = members  # identities of local organisations and trust groups
        self.exchange = exchange  # this exchange's own identity
        self.producers = producers  # organisation id -> identity id


async def border(conn: asyncpg.Connection) -> Border:
    """Read the peers and identities a push decides with."""
    everyone = await orgs.list_orgs(conn)
    return Border(await store.peer_origins(conn), await store.member_identities(conn),
                  await store.platform_identity(conn), {o.id: o.identity_id for o in everyone})


def crosses(row: PushRow, push: Push, target: Peer, b: Border) -> bool:
    """Whether the agreement lets this (visible) version cross to the target peer."""
    if row.tlp in _NEVER or _RANK.get(row.tlp, 99) > _RANK[push.tlp_max]:
        return False
    if row.sectors is not None and not (push.sectors and set(push.sectors) <= set(row.sectors)):
        return False
    origin = b.origins.get(row.producer_org)
    # From a peer: never back to it, onward only if its agreement allows, AMBER never.
    return origin is None or not (
        origin.id == target.id or not origin.onward or row.tlp in _AMBERS)


def shaped(row: PushRow, push: Push, target: Peer, b: Border) -> dict | None:
    """The object as it crosses the border, or None when it may not (hop limit, identities
    of members under attribution that hides them)."""
    obj = orjson.loads(row.body)
    hops = hops_of(obj) + 1
    if hops > target.hop_limit:
        return None
    author = obj.get("created_by_ref")
    if push.attribution != "producer":
        if obj.get("type") == "identity" and obj.get("id") in b.members:
            return None  # a member's or a group's identity object names it
        if author in b.members:
            if push.attribution == "exchange":
                obj["created_by_ref"] = b.exchange
            else:
                del obj["created_by_ref"]
    elif author is None and not row.withheld and obj.get("type") != "marking-definition":
        # The producer's identity, as the agreement says; never for a withheld post.
        producer = b.producers.get(row.producer_org)
        if producer is not None and row.producer_org not in b.origins:
            obj["created_by_ref"] = producer
    obj[HOPS] = hops
    return obj


async def enqueue(pool: asyncpg.Pool, batch: int) -> int:
    """Queue what is new for every live push agreement; how many versions were queued."""
    queued = 0
    async with pool.acquire() as conn:
        live = await store.live_pushes(conn)
        for push_id, peer in live:
            async with conn.transaction():
                queued += await store.enqueue_push(conn, store.principal_of(peer), push_id,
                                                   batch)
    return queued


async def deliver(pool: asyncpg.Pool, clients, backoff_s: float) -> int:
    """Attempt every due batch once; how many objects went out."""
    sent = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            due = await store.claim_due_batches(conn, 10)
            if not due:
                return sent
            b = await border(conn)
            for item in due:
                sent += await _attempt(conn, clients(item.peer), item, b, backoff_s)


async def _attempt(conn: asyncpg.Connection, client: PeerClient, item: OutboxItem, b: Border,
                   backoff_s: float) -> int:
    # Rights are judged again now, as the peer's organisation: what it may no longer see
    # (withdrawn, membership ended) is left out. A feed selects among what its organisation
    # may see, so that is judged again too.
    owner = (await store.feed_owner(conn, item.push.feed_id)
             if item.push.feed_id is not None else None)
    rows = await store.rows_visible(conn, store.principal_of(item.peer), item.seqs, owner)
    objects = [o for r in rows if crosses(r, item.push, item.peer, b)
               and (o := shaped(r, item.push, item.peer, b)) is not None]
    status, error, ok, retry = None, None, True, backoff_s
    if objects:
        try:
            answer = await client.post(item.push.remote_collection, objects)
            status = 202
            failed = answer.get("failure_count")
            if isinstance(failed, int) and failed:
                error = f"the peer refused {failed} of {len(objects)} objects"
        except PeerError as exc:
            ok, status, error = False, exc.status, str(exc)[:500]
            retry = exc.retry_after_s if exc.retry_after_s is not None else min(
                backoff_s * 2 ** item.attempts, _MAX_BACKOFF_S)
    state = await store.record_push_attempt(conn, item, ok=ok, sent=len(objects) if ok else 0,
                                            status=status, error=error, retry_in_s=retry,
                                            max_attempts=MAX_ATTEMPTS)
    log.info("peer push attempt", extra={"fields": {
        "peer": item.peer.name, "batch": str(item.id), "objects": len(objects),
        "state": state, "status": status, "error": error}})
    return len(objects) if ok else 0
