"""Peer and agreement management (platform-admin): the service the admin API and CLI share.

A peer is registered with an organisation of its own: its objects are posted as that
organisation and its pushes are read as it, so the one visibility predicate and the
submission policy judge a peer exactly like a member. Nothing federation-specific is in
`policy.can_see`.
"""

from __future__ import annotations

import uuid

import asyncpg

from schemas import peers as api
from schemas.principal import Principal
from server.admin.access import need_platform_admin
from server.db.pool import atomic
from server.errors import Conflict, NotFound
from server.store import audit, collections, groups, orgs
from server.store import feeds as feed_store
from server.store import peers as store
from server.store.peers import Peer, Pull, Push


def _entry(principal: Principal, action: str, peer: Peer, **details: object) -> audit.AuditEntry:
    actor = None if principal.key_id == "local-cli" else principal
    return audit.entry(actor, action, peer.org_id, peer.name, **details)


def _peer(p: Peer) -> api.Peer:
    return api.Peer(id=p.id, name=p.name, org_id=p.org_id, identity_id=p.identity_id,
                    sector=p.sector, url=p.api_root, auth=p.auth_scheme,
                    client_cert=p.client_cert, hop_limit=p.hop_limit, onward=p.onward,
                    paused=p.paused, created=p.created)


def _pull(p: Pull) -> api.Pull:
    return api.Pull(id=p.id, remote_collection=p.remote_collection, into=p.collection_id,
                    amber_group=p.amber_group, added_after=p.added_after,
                    objects_in=p.objects_in, refused=p.refused, failures=p.failures,
                    last_error=p.last_error, last_success=p.last_success)


def _push(p: Push) -> api.Push:
    return api.Push(id=p.id, collection=p.collection_id, feed=p.feed_id, to=p.remote_collection,
                    tlp_max=p.tlp_max, sectors=p.sectors, attribution=p.attribution,
                    objects_out=p.objects_out, pending_batches=p.pending,
                    dead_batches=p.dead)


def _api_root(url: str) -> str:
    return url if url.endswith("/") else url + "/"


async def add_peer(pool: asyncpg.Pool | asyncpg.Connection, principal: Principal,
                   req: api.PeerCreate) -> api.Peer:
    """Register a peer and create its organisation."""
    need_platform_admin(principal, "registering a peer")
    async with atomic(pool) as conn:
        org = await orgs.create_org(conn, req.name, req.sector.value)
        peer = await store.create_peer(
            conn, req.name, org.id, _api_root(str(req.url)), req.auth, req.key,
            req.client_cert, req.client_key, req.hop_limit, req.onward,
        )
        await audit.record(conn, [_entry(principal, "peer.added", peer, url=peer.api_root,
                                         sector=peer.sector)])
    return _peer(peer)


async def list_peers(pool: asyncpg.Pool | asyncpg.Connection,
                     principal: Principal) -> api.PeerList:
    """Every peer (platform-admin)."""
    need_platform_admin(principal, "listing peers")
    async with atomic(pool) as conn:
        return api.PeerList(peers=[_peer(p) for p in await store.list_peers(conn)])


async def show_peer(pool: asyncpg.Pool | asyncpg.Connection, principal: Principal,
                    name: str) -> api.PeerDetail:
    """A peer with its agreements and latest push attempts."""
    need_platform_admin(principal, "reading a peer")
    # One snapshot: an attempt committed between the reads would show a batch dead-lettered
    # with its last attempt missing from the log.
    async with atomic(pool, snapshot=True) as conn:
        peer = await store.peer_by_name(conn, name)
        log = await store.deliveries(conn, peer.id)
        return api.PeerDetail(
            **_peer(peer).model_dump(),
            pulls=[_pull(p) for p in await store.pulls_of(conn, peer.id)],
            pushes=[_push(p) for p in await store.pushes_of(conn, peer.id)],
            deliveries=[api.Delivery(at=r["at"], batch=r["outbox_id"], objects=r["objects"],
                                     status=r["status"], error=r["error"], state=r["state"])
                        for r in log],
        )


async def set_paused(pool: asyncpg.Pool | asyncpg.Connection, principal: Principal,
                     name: str, paused: bool) -> api.Peer:
    """Pause or resume every agreement with a peer."""
    need_platform_admin(principal, "pausing a peer")
    async with atomic(pool) as conn:
        peer = await store.peer_by_name(conn, name)
        await store.set_paused(conn, peer.id, paused)
        await audit.record(conn, [_entry(principal, "peer.paused" if paused else
                                         "peer.resumed", peer)])
        return _peer(await store.peer_by_name(conn, name))


async def change_peer(pool: asyncpg.Pool | asyncpg.Connection, principal: Principal,
                      name: str, req: api.PeerPatch) -> api.Peer:
    """Change a peer's URL, credential, hop limit or onward sharing."""
    need_platform_admin(principal, "changing a peer")
    changes: dict[str, object] = {}
    if req.url is not None:
        changes["api_root"] = _api_root(str(req.url))
    for field, column in (("auth", "auth_scheme"), ("key", "secret"),
                          ("hop_limit", "hop_limit"), ("onward", "onward")):
        if getattr(req, field) is not None:
            changes[column] = getattr(req, field)
    async with atomic(pool) as conn:
        peer = await store.peer_by_name(conn, name)
        await store.change_peer(conn, peer.id, changes)
        await audit.record(conn, [_entry(principal, "peer.changed", peer,
                                         fields=sorted(k for k in changes if k != "secret")
                                         + (["key"] if "secret" in changes else []))])
        return _peer(await store.peer_by_name(conn, name))


async def remove_peer(pool: asyncpg.Pool | asyncpg.Connection, principal: Principal,
                      name: str) -> None:
    """End every agreement with a peer at once; its organisation and objects stay."""
    need_platform_admin(principal, "removing a peer")
    async with atomic(pool) as conn:
        peer = await store.peer_by_name(conn, name)
        await store.delete_peer(conn, peer.id)
        await audit.record(conn, [_entry(principal, "peer.removed", peer)])


async def _join(conn: asyncpg.Connection, peer: Peer, collection_id: uuid.UUID) -> uuid.UUID:
    """The collection's trust group, which the peer's organisation joins: it posts there
    (pull) and is judged as a member there (push)."""
    try:
        settings = await collections.collection_settings(conn, collection_id)
    except NotFound:
        raise NotFound("no such collection") from None
    await groups.add_member(conn, settings.group_id, peer.org_id)
    return settings.group_id


async def add_pull(pool: asyncpg.Pool | asyncpg.Connection, principal: Principal, name: str,
                   req: api.PullCreate) -> api.Pull:
    """Agree to pull a remote collection into a local one."""
    need_platform_admin(principal, "adding a pull agreement")
    async with atomic(pool) as conn:
        peer = await store.peer_by_name(conn, name)
        group = await _join(conn, peer, req.into)
        if req.amber_group is not None and req.amber_group != group:
            raise Conflict("AMBER may go only to the trust group of the local collection:"
                           " name that group", details={"group": str(group)})
        pull = await store.add_pull(conn, peer.id, req.remote_collection, req.into,
                                    req.amber_group)
        await audit.record(conn, [_entry(
            principal, "peer.pull_added", peer, remote=req.remote_collection,
            collection=str(req.into), amber=req.amber_group is not None)])
    return _pull(pull)


async def _join_feed(conn: asyncpg.Connection, peer: Peer, feed_id: uuid.UUID) -> None:
    """Join the peer to the groups a pushed feed selects from (its collections' and its
    named groups): it is judged as a member there, like a collection push's peer."""
    feed = await feed_store.get_feed_by_id(conn, feed_id)
    if not feed.filter.collections and not feed.filter.groups:
        # Joining the peer to every group the feed's organisation reads would widen what
        # the peer's organisation sees far beyond one agreement.
        raise Conflict("a pushed feed must name its collections or trust groups",
                       details={"feed": str(feed_id)})
    for collection in feed.filter.collections or ():
        await _join(conn, peer, collection)
    for group in feed.filter.groups or ():
        try:
            await groups.add_member(conn, group, peer.org_id)
        except asyncpg.ForeignKeyViolationError:
            raise NotFound("no such trust group", details={"group": str(group)}) from None


async def add_push(pool: asyncpg.Pool | asyncpg.Connection, principal: Principal, name: str,
                   req: api.PushCreate) -> api.Push:
    """Agree to push a local collection, or a feed, to a remote collection."""
    need_platform_admin(principal, "adding a push agreement")
    async with atomic(pool) as conn:
        peer = await store.peer_by_name(conn, name)
        if req.feed is not None:
            await _join_feed(conn, peer, req.feed)
        else:
            await _join(conn, peer, req.collection)
        push = await store.add_push(
            conn, peer.id, req.collection, req.feed, req.to, req.tlp_max,
            sorted(s.value for s in req.sectors) if req.sectors else None, req.attribution)
        source = {"feed": str(req.feed)} if req.feed else {"collection": str(req.collection)}
        await audit.record(conn, [_entry(
            principal, "peer.push_added", peer, remote=req.to, tlp_max=req.tlp_max,
            attribution=req.attribution, **source)])
    return _push(push)


async def remove_agreement(pool: asyncpg.Pool | asyncpg.Connection, principal: Principal,
                           name: str, agreement: uuid.UUID) -> None:
    """End one pull or push agreement at once (queued pushes of it are dropped)."""
    need_platform_admin(principal, "removing an agreement")
    async with atomic(pool) as conn:
        peer = await store.peer_by_name(conn, name)
        try:
            await store.remove_pull(conn, peer.id, agreement)
        except NotFound:
            await store.remove_push(conn, peer.id, agreement)
        await audit.record(conn, [_entry(principal, "peer.agreement_removed", peer,
                                         agreement=str(agreement))])
