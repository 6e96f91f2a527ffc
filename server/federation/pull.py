"""Pull: fill a local collection from a peer's remote collection (DESIGN.md, issue 16).

Each page is fetched without a transaction open, then stored with its cursor in one: the
objects go through the same ingest function as a POST, posted as the peer's organisation,
and the agreement's cursor (the remote's `X-TAXII-Date-Added-Last`, or its `next` token
mid-sequence) is written in that same transaction. A process killed at any point resumes
from the last committed page: nothing lost, and a page read twice is a TAXII duplicate.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import asyncpg

from schemas.tlp import TLP_LEVELS, Tlp
from server import policy
from server.federation.client import PeerClient, PeerError
from server.ingest.envelope import ingest_objects
from server.store import collections
from server.store import peers as store
from server.store.peers import Peer, Pull

log = logging.getLogger("accord.federation")

HOPS = "x_accord_hops"
_SHAREABLE = [Tlp.CLEAR.value, Tlp.GREEN.value]
_AMBER = [Tlp.AMBER.value, Tlp.AMBER_STRICT.value]


@dataclass(slots=True)
class PageOutcome:
    stored: int
    refused: int
    more: bool


def hops_of(obj: dict) -> int:
    """How many borders an object has crossed, by its own record of them (0: never)."""
    hops = obj.get(HOPS)
    return hops if isinstance(hops, int) and not isinstance(hops, bool) and hops >= 0 else 0


def allowed_levels(pull: Pull) -> list[str]:
    """TLP levels a pull admits: CLEAR and GREEN, AMBER when the agreement names its group,
    RED never."""
    return _SHAREABLE + (_AMBER if pull.amber_group is not None else [])


def _declared(obj: dict, default: Tlp) -> Tlp:
    refs = [r for r in obj.get("object_marking_refs") or () if isinstance(r, str)]
    for g in obj.get("granular_markings") or ():
        if isinstance(g, dict) and isinstance(g.get("marking_ref"), str):
            refs.append(g["marking_ref"])
    return policy.tlp_of([r for r in refs if r in TLP_LEVELS], default)


def admit(objects: list, pull: Pull, peer: Peer, default: Tlp) -> tuple[list, list[dict]]:
    """The objects of a page the agreement lets in, with their hop count raised; the rest
    as (id, reason). The TLP judged here is the one the markings declare; what ingest makes
    of markings it alone can resolve is judged again after it (drop_beyond_tlp)."""
    allowed = set(allowed_levels(pull))
    admitted, skipped = [], []
    for obj in objects:
        if not isinstance(obj, dict):
            admitted.append(obj)  # ingest reports it as a failure
            continue
        hops = hops_of(obj) + 1
        if hops > peer.hop_limit:
            skipped.append({"id": obj.get("id"), "reason": "hop limit"})
            continue
        if obj.get("type") != "marking-definition" and _declared(obj, default) not in allowed:
            skipped.append({"id": obj.get("id"), "reason": "tlp"})
            continue
        admitted.append({**obj, HOPS: hops})
    return admitted, skipped


async def pull_page(pool: asyncpg.Pool, client: PeerClient, pull: Pull, peer: Peer,
                    limit: int, poll_s: float) -> PageOutcome:
    """Fetch the next page after the agreement's cursor and store it with the new cursor.

    Raises PeerError when the peer fails; the cursor then stays where it was."""
    try:
        page = await client.objects(pull.remote_collection, pull.added_after, pull.next_token,
                                    limit)
    except PeerError as exc:
        if pull.next_token and exc.status in (400, 404, 410):
            # A `next` token the remote no longer honours (expired, or it restarted): go
            # back to added_after; what is read again is a TAXII duplicate.
            async with pool.acquire() as conn:
                await store.forget_next(conn, pull.id, pull.next_token)
        raise
    if page.more and page.next:
        added_after, next_token = pull.added_after, page.next
    elif page.more:
        # `X-TAXII-Date-Added-Last` paging: the next page starts after this one's last.
        if not page.date_added_last:
            raise PeerError("the peer says there is more but gives neither next nor"
                            " X-TAXII-Date-Added-Last")
        added_after, next_token = page.date_added_last, None
    else:
        # The end: resume after the last object seen. A remote that never sends the
        # header is re-read from the same point (every re-read object is a duplicate).
        added_after, next_token = page.date_added_last or pull.added_after, None
    async with pool.acquire() as conn, conn.transaction():
        current = await store.lock_pull(conn, pull.id)
        if current is None or (current[0].added_after, current[0].next_token) != (
                pull.added_after, pull.next_token):
            return PageOutcome(0, 0, False)  # removed, paused, or moved on meanwhile
        stored = refused = 0
        failures: list[dict] = []
        skipped: list[dict] = []
        if page.objects:
            principal = store.principal_of(peer)
            view = await collections.get_collection(conn, principal, pull.collection_id)
            admitted, skipped = admit(page.objects, pull, peer, Tlp(view.default_tlp))
            if admitted:
                status = await ingest_objects(conn, principal, view, admitted)
                dropped = await store.drop_beyond_tlp(conn, pull.collection_id, peer.org_id,
                                                      allowed_levels(pull))
                failures = status.failures + [{"id": i, "message": "tlp"} for i in dropped]
                stored = len(status.successes) - len(dropped)
        refused = len(failures) + len(skipped)
        await store.save_pull_page(conn, pull.id, added_after, next_token, stored, refused,
                                   0.0 if page.more else poll_s,
                                   page.date_added_last if next_token else None)
    if refused:
        log.info("peer objects refused", extra={"fields": {
            "peer": peer.name, "remote_collection": pull.remote_collection,
            "refused": refused, "first": (failures + skipped)[:3]}})
    return PageOutcome(stored, refused, page.more)


async def pull_agreement(pool: asyncpg.Pool, client: PeerClient, pull_id: uuid.UUID,
                         limit: int, max_pages: int, poll_s: float) -> int:
    """Pages of one agreement until the remote has no more (at most max_pages); stored count."""
    total = 0
    for _ in range(max_pages):
        async with pool.acquire() as conn:
            current = await store.lock_pull(conn, pull_id)
        if current is None:
            return total
        outcome = await pull_page(pool, client, *current, limit, poll_s)
        total += outcome.stored
        if not outcome.more:
            break
    return total
