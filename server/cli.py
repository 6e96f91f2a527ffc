"""`accord serve | migrate | admin ...`: the server and the admin commands on its database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from schemas.principal import Role, Sector
from server import logs
from server.admin.bootstrap import bootstrap
from server.app import create_app
from server.config import Settings
from server.db.migrate import migrate
from server.db.pool import resolve_dsn
from server.errors import AccordError
from server.store import collections, groups, keys, orgs


async def _on_database(dsn: str, action: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        return await action(conn)
    finally:
        await conn.close()


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    logs.configure()
    dsn = resolve_dsn(settings)
    first_key = asyncio.run(_on_database(dsn, bootstrap))
    if first_key is not None:
        print("Created the platform organisation and its first admin API key.")
        print("Store it now; it is not shown again:")
        print(f"  key id: {first_key.key.id}")
        print(f"  token:  {first_key.token}")
    web.run_app(create_app(settings, dsn), host=settings.host, port=settings.port,
                access_log=None)


def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    async def run(conn: asyncpg.Connection) -> None:
        pass

    asyncio.run(_on_database(resolve_dsn(settings), run))
    print("database is up to date")


async def _org_create(conn: asyncpg.Connection, args: argparse.Namespace) -> None:
    org = await orgs.create_org(conn, args.name, args.sector)
    print(f"created organisation {org.name!r} ({org.sector}), id {org.id},"
          f" STIX identity {org.identity_id}")


async def _key_create(conn: asyncpg.Connection, args: argparse.Namespace) -> None:
    org = await orgs.org_by_name(conn, args.org)
    new = await keys.create_key(conn, org.id, Role(args.role))
    if args.quiet:
        print(new.token)
        return
    print(f"created {new.key.role} key {new.key.id} for {org.name!r}")
    print(f"token (shown once): {new.token}")


async def _key_revoke(conn: asyncpg.Connection, args: argparse.Namespace) -> None:
    key = await keys.revoke_key(conn, args.key_id)
    print(f"revoked key {key.id} at {key.revoked_at.isoformat()}")


async def _group_create(conn: asyncpg.Connection, args: argparse.Namespace) -> None:
    members = [(await orgs.org_by_name(conn, name)).id for name in args.member or []]
    group = await groups.create_group(conn, args.name, members)
    print(f"created trust group {group.name!r}, id {group.id}, with {len(members)} member(s)")


async def _group_add_member(conn: asyncpg.Connection, args: argparse.Namespace) -> None:
    group = await groups.group_by_name(conn, args.group)
    org = await orgs.org_by_name(conn, args.org)
    added = await groups.add_member(conn, group.id, org.id)
    print(f"{org.name!r} {'added to' if added else 'was already in'} {group.name!r}")


async def _collection_create(conn: asyncpg.Connection, args: argparse.Namespace) -> None:
    group = await groups.group_by_name(conn, args.group)
    collection_id = await collections.create_collection(
        conn, group.id, args.title, args.description, allow_custom=not args.no_custom
    )
    print(collection_id)


def _admin(action: Callable[[asyncpg.Connection, argparse.Namespace], Awaitable[None]]):
    def run(args: argparse.Namespace, settings: Settings) -> None:
        asyncio.run(_on_database(resolve_dsn(settings), lambda conn: action(conn, args)))

    return run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accord", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the TAXII server")
    serve.add_argument("--host", help="address to listen on (ACCORD_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (ACCORD_PORT)")
    serve.set_defaults(run=_serve)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)

    admin = commands.add_parser("admin", help="manage organisations, keys, groups, collections")
    things = admin.add_subparsers(dest="thing", required=True)

    org = things.add_parser("org").add_subparsers(dest="action", required=True)
    p = org.add_parser("create", help="create an organisation")
    p.add_argument("name")
    p.add_argument("--sector", required=True, choices=[s.value for s in Sector])
    p.set_defaults(run=_admin(_org_create))

    key = things.add_parser("key").add_subparsers(dest="action", required=True)
    p = key.add_parser("create", help="create an API key (the secret is printed once)")
    p.add_argument("--org", required=True)
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--quiet", action="store_true", help="print only the token")
    p.set_defaults(run=_admin(_key_create))
    p = key.add_parser("revoke", help="revoke an API key at once")
    p.add_argument("key_id")
    p.set_defaults(run=_admin(_key_revoke))

    group = things.add_parser("group").add_subparsers(dest="action", required=True)
    p = group.add_parser("create", help="create a trust group")
    p.add_argument("name")
    p.add_argument("--member", action="append", help="member organisation (repeatable)")
    p.set_defaults(run=_admin(_group_create))
    p = group.add_parser("add-member", help="add an organisation to a trust group")
    p.add_argument("group")
    p.add_argument("org")
    p.set_defaults(run=_admin(_group_add_member))

    coll = things.add_parser("collection").add_subparsers(dest="action", required=True)
    p = coll.add_parser("create", help="create a collection of a trust group")
    p.add_argument("title")
    p.add_argument("--group", required=True)
    p.add_argument("--description")
    p.add_argument("--no-custom", action="store_true",
                   help="refuse custom x- types and x_ properties")
    p.set_defaults(run=_admin(_collection_create))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `accord` console script."""
    args = _parser().parse_args(argv)
    settings = Settings.from_env(host=getattr(args, "host", None), port=getattr(args, "port", None))
    try:
        args.run(args, settings)
    except AccordError as exc:
        print(f"accord: {exc.description}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
