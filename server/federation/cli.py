"""`accord admin peer ...`: peers and agreements, on the database or through the admin API."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from schemas import peers as api
from schemas.principal import Sector
from server.errors import BadRequest
from server.federation import peers as service

_AdminRunner = Callable[[Callable[[Any, argparse.Namespace], Awaitable[None]]], Any]


async def _call(admin: Any, local: Callable[..., Awaitable[Any]], method: str, path: str,
                model: type[BaseModel] | None, *args: Any, body: BaseModel | None = None) -> Any:
    """The service function on the database (LocalAdmin), else the same admin API route."""
    if hasattr(admin, "conn"):
        return await local(admin.conn, admin.principal, *args,
                           *(() if body is None else (body,)))
    return await admin._call(method, path, model, body)


def _show(model: BaseModel) -> None:
    print(model.model_dump_json(indent=2))


async def _add(admin: Any, args: argparse.Namespace) -> None:
    req = api.PeerCreate(name=args.name, url=args.peer_url, key=args.peer_key, auth=args.auth,
                         sector=args.sector, hop_limit=args.hop_limit, onward=args.onward,
                         client_cert=args.client_cert, client_key=args.client_key)
    peer = await _call(admin, service.add_peer, "POST", "/peers", api.Peer, body=req)
    print(f"added peer {peer.name!r} ({peer.sector.value}) at {peer.url}; its organisation"
          f" {peer.org_id} has the STIX identity {peer.identity_id}")


async def _set(admin: Any, args: argparse.Namespace) -> None:
    req = api.PeerPatch(**{k: v for k, v in (
        ("url", args.peer_url), ("key", args.peer_key), ("auth", args.auth),
        ("hop_limit", args.hop_limit), ("onward", args.onward)) if v is not None})
    _show(await _call(admin, service.change_peer, "PATCH", f"/peers/{args.name}", api.Peer,
                      args.name, body=req))


async def _list(admin: Any, args: argparse.Namespace) -> None:
    found = await _call(admin, service.list_peers, "GET", "/peers", api.PeerList)
    for p in found.peers:
        state = "paused" if p.paused else "active"
        print(f"{p.name}\t{state}\t{p.sector.value}\t{p.url}")


async def _show_peer(admin: Any, args: argparse.Namespace) -> None:
    _show(await _call(admin, service.show_peer, "GET", f"/peers/{args.name}", api.PeerDetail,
                      args.name))


def _pause(paused: bool) -> Callable[[Any, argparse.Namespace], Awaitable[None]]:
    async def run(admin: Any, args: argparse.Namespace) -> None:
        action = "pause" if paused else "resume"
        if hasattr(admin, "conn"):
            peer = await service.set_paused(admin.conn, admin.principal, args.name, paused)
        else:
            peer = await admin._call("POST", f"/peers/{args.name}/{action}", api.Peer)
        print(f"peer {peer.name!r} {'paused' if peer.paused else 'active'}")

    return run


async def _remove(admin: Any, args: argparse.Namespace) -> None:
    await _call(admin, service.remove_peer, "DELETE", f"/peers/{args.name}", None, args.name)
    print(f"removed peer {args.name!r}: every agreement with it has ended")


async def _pull(admin: Any, args: argparse.Namespace) -> None:
    amber = await admin.group_id(args.amber_group) if args.amber_group else None
    req = api.PullCreate(remote_collection=args.remote_collection, into=args.into,
                         amber_group=amber)
    pull = await _call(admin, service.add_pull, "POST", f"/peers/{args.name}/pulls", api.Pull,
                       args.name, body=req)
    print(f"pull agreement {pull.id}: {args.remote_collection} -> {pull.into}"
          f" ({'CLEAR, GREEN and AMBER' if amber else 'CLEAR and GREEN'})")


async def _push(admin: Any, args: argparse.Namespace) -> None:
    if (args.collection is None) == (args.feed is None):
        raise BadRequest("name a local collection or --feed FEED_ID (exactly one)")
    req = api.PushCreate(collection=args.collection, feed=args.feed, to=args.to,
                         tlp_max=args.tlp_max, sectors=args.sector,
                         attribution=args.attribution)
    push = await _call(admin, service.add_push, "POST", f"/peers/{args.name}/pushes",
                       api.Push, args.name, body=req)
    source = f"feed {push.feed}" if push.feed else str(push.collection)
    print(f"push agreement {push.id}: {source} -> {push.to} (up to"
          f" {push.tlp_max.upper()}, attribution {push.attribution})")


async def _end(admin: Any, args: argparse.Namespace) -> None:
    await _call(admin, service.remove_agreement, "DELETE",
                f"/peers/{args.name}/agreements/{args.agreement}", None, args.name,
                args.agreement)
    print(f"agreement {args.agreement} ended")


def add_commands(things: argparse._SubParsersAction, admin: _AdminRunner) -> None:
    """Add `accord admin peer ...` to the admin command's subcommands."""
    peer = things.add_parser("peer", help="federation: other exchanges and agreements").\
        add_subparsers(dest="action", required=True)
    auths = ["bearer", "basic", "token"]

    p = peer.add_parser("add", help="register a peer exchange (it becomes an organisation)")
    p.add_argument("name", help="the peer's name")
    p.add_argument("--url", dest="peer_url", required=True, help="the peer's TAXII API root")
    p.add_argument("--key", dest="peer_key", required=True,
                   help="the credential it issued us (user:password for --auth basic)")
    p.add_argument("--auth", choices=auths, default="bearer",
                   help="how the credential is sent (default bearer)")
    p.add_argument("--sector", choices=[s.value for s in Sector], default="nonprofit")
    p.add_argument("--client-cert", help="PEM client certificate file")
    p.add_argument("--client-key", help="PEM key of the client certificate")
    p.add_argument("--hop-limit", type=int, default=2,
                   help="most exchanges an object may cross to reach this peer (default 2)")
    p.add_argument("--onward", action="store_true",
                   help="its objects may be re-published to other peers")
    p.set_defaults(run=admin(_add))

    p = peer.add_parser("set", help="change a peer's URL, credential, hop limit, onward")
    p.add_argument("name", help="the peer's name")
    p.add_argument("--url", dest="peer_url", help="a new TAXII API root")
    p.add_argument("--key", dest="peer_key", help="a new credential")
    p.add_argument("--auth", choices=auths, help="how the credential is sent")
    p.add_argument("--hop-limit", type=int, help="a new hop limit")
    p.add_argument("--onward", action=argparse.BooleanOptionalAction,
                   help="whether its objects may be re-published to other peers")
    p.set_defaults(run=admin(_set))

    peer.add_parser("list", help="list peers").set_defaults(run=admin(_list))
    for name, run, text in (("show", _show_peer, "a peer, its agreements, its deliveries"),
                            ("pause", _pause(True), "pause every agreement with a peer"),
                            ("resume", _pause(False), "resume a paused peer"),
                            ("remove", _remove, "remove a peer; its agreements end at once")):
        p = peer.add_parser(name, help=text)
        p.add_argument("name", help="the peer's name")
        p.set_defaults(run=admin(run))

    p = peer.add_parser("pull", help="pull a remote collection into a local one")
    p.add_argument("name", help="the peer's name")
    p.add_argument("remote_collection", help="the remote collection id")
    p.add_argument("--into", type=uuid.UUID, required=True, help="local collection id")
    p.add_argument("--amber-group", help="pull AMBER too: the local collection's trust group")
    p.set_defaults(run=admin(_pull))

    p = peer.add_parser("push", help="push a local collection, or a feed, to a remote one")
    p.add_argument("name", help="the peer's name")
    p.add_argument("collection", type=uuid.UUID, nargs="?",
                   help="the local collection id (or give --feed instead)")
    p.add_argument("--feed", type=uuid.UUID,
                   help="push what this feed selects instead of a collection (its id)")
    p.add_argument("--to", required=True, help="remote collection id")
    p.add_argument("--tlp-max", choices=["clear", "green", "amber"], default="green",
                   help="the highest TLP that crosses (default green; RED never)")
    p.add_argument("--sector", action="append", choices=[s.value for s in Sector],
                   help="a sector of the remote audience (repeatable)")
    p.add_argument("--attribution", choices=["producer", "exchange", "withheld"],
                   default="exchange", help="whose identity the peer sees (default exchange)")
    p.set_defaults(run=admin(_push))

    p = peer.add_parser("end", help="end one pull or push agreement")
    p.add_argument("name", help="the peer's name")
    p.add_argument("agreement", type=uuid.UUID, help="the agreement id (peer show)")
    p.set_defaults(run=admin(_end))
