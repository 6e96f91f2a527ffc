"""`accord serve | migrate | admin ...`: the server and the admin commands on its database.

The member and analyst commands (`push`, `pull`, `follow`, `import`, `feed`, `ls`, ...) are
registered from clients/cli.py.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from clients import cli as member_cli
from clients import intel as intel_cli
from clients.admin import AdminApiError, AdminClient
from clients.client import server_base
from clients.errors import AccordClientError
from schemas import admin as api
from schemas.principal import Role, Sector
from schemas.tlp import Tlp
from server import logs
from server.admin.bootstrap import bootstrap
from server.admin.local import LocalAdmin
from server.app import create_app, server_options
from server.config import Settings
from server.db.embedded import start_embedded
from server.db.migrate import is_set_up, migrate
from server.db.pool import resolve_dsn
from server.errors import AccordError
from server.federation import cli as peer_cli
from server.ingest import warninglists
from server.intel import reindex


class NoDatabase(AccordError):
    """A command that acts on the database found none to act on."""

    title = "No database"


def where_to_point() -> str:
    """How to point a command that acts on the database at the server's."""
    return ("Run it in the directory where `accord serve` runs, or point it at the server's"
            " data: ACCORD_DATA_DIR=<the server's .accord directory>, or"
            " ACCORD_DATABASE_URL=postgresql://... as the server has it, or use the server's"
            " admin API with --url URL --key TOKEN (or ACCORD_URL, ACCORD_KEY)")


def existing_dsn(settings: Settings) -> str:
    """The server's database for a command that must not create one (only `serve` does)."""
    if settings.database_url:
        return settings.database_url
    pgdata = Path(settings.data_dir).resolve() / "pgdata"
    if not (pgdata / "PG_VERSION").is_file():
        raise NoDatabase(
            f"no Accord database here: looked for the embedded PostgreSQL in {pgdata}"
            " (ACCORD_DATA_DIR, default ./.accord) and ACCORD_DATABASE_URL is not set."
            f" {where_to_point()}. Only `accord serve` creates a database.",
            details={"looked_in": str(pgdata)})
    return start_embedded(settings.data_dir)


async def _on_database(dsn: str, action: Callable[[asyncpg.Connection], Awaitable[Any]], *,
                       create: bool = True) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        if not create and not await is_set_up(conn):
            raise NoDatabase("ACCORD_DATABASE_URL names a database Accord has not set up (no"
                             " schema_migrations table): is it the server's? Only `accord"
                             " serve` (or `accord migrate`, on purpose) sets one up. "
                             + where_to_point())
        await migrate(conn)
        return await action(conn)
    finally:
        await conn.close()


def _tune_gc() -> None:
    """Make the cyclic collector rare and keep it off the start-up heap."""
    # An envelope allocates tens of thousands of short-lived containers; at the default
    # threshold each collection traversed every live one (~20 % of ingest CPU).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _own_url(settings: Settings) -> str:
    """The base URL a client on this machine (or behind the proxy) reaches the server at."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    logs.configure(settings.log_level)
    dsn = resolve_dsn(settings)
    first_key = asyncio.run(_on_database(dsn, bootstrap))
    if first_key is not None:
        print("Created the platform organisation and its first admin API key"
              f" (key id {first_key.key.id}).")
        print("Store the token now; it is not shown again (lost it? README: 'A lost"
              " platform-admin key'). In another terminal:")
        print(f"  export ACCORD_URL={_own_url(settings)}")
        print(f"  export ACCORD_KEY={first_key.token}", flush=True)
    workers = []
    if args.workers > 1:
        # Every worker listens on the same port (SO_REUSEPORT) and shares the database;
        # NOTIFY/LISTEN keeps their streams and webhooks in step.
        env = {**os.environ, "ACCORD_DATABASE_URL": dsn}
        command = [sys.executable, "-m", "server.cli", "serve", "--workers", "1",
                   "--reuse-port", "--host", settings.host, "--port", str(settings.port)]
        workers = [subprocess.Popen(command, env=env) for _ in range(args.workers - 1)]
    _tune_gc()
    try:
        web.run_app(create_app(settings, dsn), host=settings.host, port=settings.port,
                    access_log=None, reuse_port=args.workers > 1 or args.reuse_port,
                    **server_options(settings))
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(10)


def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    async def run(conn: asyncpg.Connection) -> None:
        pass

    # Sets up an ACCORD_DATABASE_URL database on purpose; never creates an embedded one.
    asyncio.run(_on_database(existing_dsn(settings), run))
    print("database is up to date")


Admin = LocalAdmin | AdminClient


def _remote(args: argparse.Namespace) -> tuple[str, str] | None:
    """(url, token) when the admin commands should call a server instead of the database."""
    url = args.url or os.environ.get("ACCORD_URL")
    token = args.key or os.environ.get("ACCORD_KEY")
    if not url:
        return None
    if not token:
        raise AccordError("--url needs an API key: --key TOKEN or ACCORD_KEY")
    return server_base(url), token  # the TAXII discovery URL works too; a scheme is needed


def _admin(action: Callable[[Admin, argparse.Namespace], Awaitable[None]]):
    """Run an admin command against a remote server (--url/--key) or on the database."""

    def run(args: argparse.Namespace, settings: Settings) -> None:
        remote = _remote(args)
        if remote is None:
            async def local(conn: asyncpg.Connection) -> None:
                await action(await LocalAdmin.open(conn, getattr(args, "as_org", None)), args)

            asyncio.run(_on_database(existing_dsn(settings), local, create=False))
            return
        if getattr(args, "as_org", None):
            raise AccordError("--org is for the database mode; remotely, the key's own"
                              " organisation answers")

        async def call() -> None:
            async with aiohttp.ClientSession() as session:
                await action(AdminClient(session, *remote), args)

        asyncio.run(call())

    return run


def _show(model: BaseModel) -> None:
    print(model.model_dump_json(indent=2))


async def _org_create(admin: Admin, args: argparse.Namespace) -> None:
    org = await admin.create_org(api.OrgCreate(name=args.name, sector=args.sector))
    print(f"created organisation {org.name!r} ({org.sector.value}), id {org.id},"
          f" STIX identity {org.identity_id}")


async def _org_list(admin: Admin, args: argparse.Namespace) -> None:
    for org in (await admin.list_orgs()).orgs:
        print(f"{org.id}  {org.sector.value:<10}  {org.name}")


async def _key_create(admin: Admin, args: argparse.Namespace) -> None:
    req = api.KeyCreate(role=args.role, default_tlp=args.default_tlp,
                        default_attribution=args.default_attribution)
    new = await admin.create_key(await admin.org_id(args.org), req)
    if args.quiet:
        print(new.token)
        return
    print(f"created {new.role.value} key {new.id} for {args.org!r}")
    print(f"token (shown once): {new.token}")


async def _key_recover(admin: Admin, args: argparse.Namespace) -> None:
    if not isinstance(admin, LocalAdmin):
        raise AccordError("key recover acts on the server's database, for when no key is left"
                          " to call the API with: run it without --url/ACCORD_URL where the"
                          " server's data is (ACCORD_DATA_DIR or ACCORD_DATABASE_URL)")
    platform = admin.principal.org_id
    new = await admin.create_key(platform, api.KeyCreate(role=Role.PLATFORM_ADMIN))
    print(f"created platform-admin key {new.id}; revoke the lost one with `accord admin key"
          f" list --org {admin.principal.org_name!r}` and `accord admin key revoke KEY_ID`."
          " In your shell:")
    print(f"  export ACCORD_KEY={new.token}")


async def _key_list(admin: Admin, args: argparse.Namespace) -> None:
    for key in (await admin.list_keys(await admin.org_id(args.org))).keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
        used = f"{key.last_used:%Y-%m-%d %H:%M}" if key.last_used else "never"
        print(f"{key.id}  {key.role.value:<14}  created {key.created:%Y-%m-%d %H:%M}"
              f"  last used {used}  {state}")


async def _key_revoke(admin: Admin, args: argparse.Namespace) -> None:
    if args.org:
        org = await admin.org_id(args.org)
    elif isinstance(admin, LocalAdmin):
        org = await admin.key_org(args.key_id)
    else:
        owned = (await admin.list_orgs()).orgs
        if len(owned) != 1:
            raise AccordError("name the key's organisation with --org")
        org = owned[0].id
    key = await admin.revoke_key(org, args.key_id)
    assert key.revoked_at is not None
    print(f"revoked key {key.id} at {key.revoked_at.isoformat()}")


def _half_life(text: str) -> tuple[str, float]:
    kind, sep, days = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return kind.strip(), float(days)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KIND=DAYS (ipv4=7), got {text!r}") from None


def _policy(args: argparse.Namespace) -> api.GroupPolicyPatch | None:
    values = {
        "default_tlp": args.default_tlp, "default_attribution": args.default_attribution,
        "allow_anonymous": args.anonymous, "confidential_roster": args.confidential,
        "allowed_sectors": [] if args.any_sector else args.sector,
        "retention_days": args.retention_days,
        "privacy_policy": args.privacy,
        "privacy_reviewers": [] if args.no_reviewers else args.reviewer,
        "victim_ranges": [] if args.no_victim_ranges else args.victim_range,
        "warninglist_policy": args.warninglisted,
        "half_lives": {} if args.default_half_lives else dict(args.half_life or []) or None,
    }
    values = {k: v for k, v in values.items() if v is not None}
    return api.GroupPolicyPatch(**values) if values else None


async def _group_create(admin: Admin, args: argparse.Namespace) -> None:
    req = api.GroupCreate(name=args.name, description=args.description, policy=_policy(args),
                          members=args.member or [], managers=args.manager or [])
    group = await admin.create_group(req)
    count = len(group.members or [])
    print(f"created trust group {group.name!r}, id {group.id}, with {count} member(s)")


async def _group_list(admin: Admin, args: argparse.Namespace) -> None:
    for group in (await admin.list_groups()).groups:
        role = "manager" if group.is_manager else "member" if group.is_member else "-"
        print(f"{group.id}  {role:<7}  {group.name}{' (archived)' if group.archived else ''}")


async def _group_show(admin: Admin, args: argparse.Namespace) -> None:
    _show(await admin.group(await admin.group_id(args.group)))


async def _group_policy(admin: Admin, args: argparse.Namespace) -> None:
    req = api.GroupPatch(description=args.description, policy=_policy(args))
    group = await admin.change_group(await admin.group_id(args.group), req)
    _show(group.policy)


async def _group_rename(admin: Admin, args: argparse.Namespace) -> None:
    group = await admin.change_group(await admin.group_id(args.group),
                                     api.GroupPatch(name=args.new_name))
    print(f"renamed trust group {args.group!r} to {group.name!r}")


async def _group_delete(admin: Admin, args: argparse.Namespace) -> None:
    group_id = await admin.group_id(args.group)
    if args.archive:
        group = await admin.archive_group(group_id)
        print(f"archived trust group {group.name!r} with its collections (readable, closed)")
        return
    await admin.delete_group(group_id)
    print(f"deleted trust group {args.group!r}")


async def _group_members(admin: Admin, args: argparse.Namespace) -> None:
    found = await admin.members(await admin.group_id(args.group))
    for m in found.members:
        print(f"{m.org_id}  {'manager' if m.is_manager else 'member':<7}  {m.sector.value:<10}"
              f"  {m.name}")
    if not found.complete:
        print("(the roster is confidential: only your own membership is shown)")


async def _group_add_member(admin: Admin, args: argparse.Namespace) -> None:
    group_id = await admin.group_id(args.group)
    org_id = await admin.org_id(args.org)
    before = {m.org_id for m in (await admin.members(group_id)).members}
    await admin.add_member(group_id, str(org_id))
    print(f"{args.org!r} {'was already in' if org_id in before else 'added to'} {args.group!r}")


async def _group_add_manager(admin: Admin, args: argparse.Namespace) -> None:
    await admin.add_manager(await admin.group_id(args.group), args.org)
    print(f"{args.org!r} now manages {args.group!r}")


async def _group_remove_member(admin: Admin, args: argparse.Namespace) -> None:
    group_id = await admin.group_id(args.group)
    await admin.remove_member(group_id, await admin.member_id(group_id, args.org))
    print(f"{args.org!r} removed from {args.group!r}; its keys lost access")


async def _group_invite(admin: Admin, args: argparse.Namespace) -> None:
    invitation = await admin.invite(await admin.group_id(args.group), args.org)
    print(f"invited {invitation.org_name!r} to {invitation.group_name!r}")


async def _group_invitations(admin: Admin, args: argparse.Namespace) -> None:
    found = (await admin.group_invitations(await admin.group_id(args.group))).invitations
    if not found:
        print(f"no invitations into {args.group!r}")
    for i in found:
        print(f"{i.org_id}  {i.state:<8}  {i.org_name}")


async def _invitation_group(admin: Admin, ref: str) -> uuid.UUID:
    # An invited organisation is not a member yet: find the group among its invitations.
    for i in (await admin.invitations()).invitations:
        if ref in (i.group_name, str(i.group_id)):
            return i.group_id
    raise AccordError(f"no pending invitation from trust group {ref!r}")


async def _group_leave(admin: Admin, args: argparse.Namespace) -> None:
    await admin.leave(await admin.group_id(args.group))
    print(f"left {args.group!r}")


async def _invitation_list(admin: Admin, args: argparse.Namespace) -> None:
    found = (await admin.invitations()).invitations
    if not found:
        print("no pending invitations")
    for i in found:
        print(f"{i.group_id}  {i.org_name}  invited to {i.group_name!r}"
              f" on {i.created:%Y-%m-%d}")


def _answer(accept: bool):
    async def answer(admin: Admin, args: argparse.Namespace) -> None:
        done = await admin.answer(await _invitation_group(admin, args.group), accept)
        print(f"{done.org_name!r} {done.state} the invitation to {done.group_name!r}")

    return answer


_TLP1_HELP = ("also serve the TLP 1.0 marking id of each object's level (for consumers that"
              " know only TLP 1.0 ids, such as Cortex XSOAR)")


async def _collection_create(admin: Admin, args: argparse.Namespace) -> None:
    req = api.CollectionCreate(title=args.title, description=args.description,
                               allow_custom=not args.no_custom, default_tlp=args.default_tlp,
                               default_attribution=args.default_attribution,
                               tlp1_markings=args.tlp1_markings)
    made = await admin.create_collection(await admin.group_id(args.group), req)
    print(made.id)


async def _collection_list(admin: Admin, args: argparse.Namespace) -> None:
    for c in (await admin.collections(await admin.group_id(args.group))).collections:
        flags = " (archived)" if c.archived else ""
        print(f"{c.id}  tlp={c.default_tlp or 'group'}  {c.title}{flags}")


def _days_or_group(value: str) -> int | str:
    if value == "group":
        return value
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError("a number of days (1 or more) or 'group'")
    return int(value)


async def _collection_set(admin: Admin, args: argparse.Namespace) -> None:
    values: dict[str, object] = {}
    for name in ("title", "description", "default_tlp", "default_attribution", "custom",
                 "tlp1_markings", "retention_days"):
        value = getattr(args, name)
        if value is not None:
            # "group" hands a default back to the trust group's.
            values["allow_custom" if name == "custom" else name] = (
                None if value == "group" else value)
    _show(await admin.change_collection(args.collection, api.CollectionPatch(**values)))


async def _object_withdraw(admin: Admin, args: argparse.Namespace) -> None:
    done = await admin.withdraw_object(args.collection, args.object_id, args.action == "withdraw")
    state = "withdrawn" if done.withdrawn else "restored"
    print(f"{state} {done.versions} version(s) of {done.object_id} in collection"
          f" {done.collection_id}")


async def _object_erase(admin: Admin, args: argparse.Namespace) -> None:
    done = await admin.erase_object(args.object_id, api.ErasureRequest(reason=args.reason))
    print(f"erased {done.versions} version(s) of {done.object_id}, {done.sightings}"
          f" sighting(s), {done.pending} waiting cop(ies); removed from {done.statuses}"
          f" status(es)")


async def _collection_archive(admin: Admin, args: argparse.Namespace) -> None:
    done = await admin.archive_collection(args.collection)
    print(f"archived collection {done.id} ({done.title!r})")


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    async def run(conn: asyncpg.Connection) -> reindex.Outcome:
        def say(read: int, rewritten: int) -> None:
            print(f"read {read:,} versions, rewrote {rewritten:,}", flush=True)

        return await reindex.reindex(conn, batch=args.batch, max_batches=args.max_batches,
                                     restart=args.restart, progress=say if args.verbose else None)

    done = asyncio.run(_on_database(existing_dsn(settings), run, create=False))
    where = f"resumed after seq {done.resumed_after}" if done.resumed_after else "from the start"
    state = "finished" if done.finished else "stopped (run again to resume)"
    print(f"reindex {state}: {done.read:,} versions read, {done.rewritten:,} rewritten ({where})")
    return 0


def _warninglists_update(args: argparse.Namespace, _settings: Settings) -> int:
    target = args.to or warninglists.data_dir()
    for name, version, count in warninglists.update(args.source, target):
        print(f"{name}  version {version}  {count} entries")
    # Flags of stored objects were set at ingest against the old lists.
    print("Restart the server to use them; `accord admin reindex` flags stored objects anew.",
          file=sys.stderr)
    return 0


async def _audit(admin: Admin, args: argparse.Namespace) -> None:
    org = str(await admin.org_id(args.org)) if args.org else None
    q = api.AuditQuery.model_validate({
        k: v for k, v in {"since": args.since, "until": args.until, "org": org,
                          "action": args.action, "after": args.after,
                          "limit": args.limit}.items() if v is not None
    })
    page = await admin.audit(q)
    for e in page.entries:
        print(e.model_dump_json())
    if page.next is not None:
        print(f"# more: --after {page.next}", file=sys.stderr)


async def _review_list(admin: Admin, args: argparse.Namespace) -> None:
    held = (await admin.review_list(api.ReviewQuery(limit=args.limit))).objects
    for h in held:
        found = ", ".join(f"{f.reason} in {f.property}" for f in h.findings)
        print(f"{h.id}  {h.held:%Y-%m-%d %H:%M}  {h.stix_id}  {found}")
    if not held:
        print("the review queue is empty")


async def _review_show(admin: Admin, args: argparse.Namespace) -> None:
    _show(await admin.review_show(args.held_id))


async def _review_decide(admin: Admin, args: argparse.Namespace) -> None:
    done = await admin.review_decide(args.held_id, args.decision,
                                     api.ReviewDecisionRequest(reason=args.reason))
    if done.stored_version is not None:
        print(f"{done.decision}: stored {done.stix_id} version {done.stored_version}"
              f" (status {done.status_id})")
    else:
        print(f"{done.decision}: {done.stix_id} not stored: {done.message}"
              f" (status {done.status_id})")


def _review_commands(commands: argparse._SubParsersAction) -> None:
    """`accord review list|show|release|redact|reject` (README "Privacy review")."""
    review = commands.add_parser(
        "review", help="the privacy review queue: objects the personal-data screen held",
        description="Without --url the commands act on the database as the platform (or, with"
                    " --org, as that organisation's org-admin); with --url and --key (or"
                    " ACCORD_URL, ACCORD_KEY) they call a server with that key's rights: an"
                    " org-admin reviews its own organisation's posts and those of the groups"
                    " naming it a reviewer, a platform admin all.",
    )
    review.add_argument("--url", help="base URL of a remote Accord server (ACCORD_URL)")
    review.add_argument("--key", help="API key token for --url (ACCORD_KEY)")
    review.add_argument("--org", dest="as_org",
                        help="database mode: review as the org-admin of this organisation")
    actions = review.add_subparsers(dest="action", required=True)
    p = actions.add_parser("list", help="list the held objects, oldest first, with findings")
    p.add_argument("--limit", type=int, default=100, help="at most this many objects")
    p.set_defaults(run=_admin(_review_list))
    p = actions.add_parser("show", help="show a held object as posted, with its findings")
    p.add_argument("held_id", type=uuid.UUID, help="the held object's id (from list)")
    p.set_defaults(run=_admin(_review_show))
    for name, text in (("release", "share a held object as posted"),
                       ("redact", "share it with the flagged values replaced (a new version)"),
                       ("reject", "refuse a held object for good (its status fails)")):
        p = actions.add_parser(name, help=text)
        p.add_argument("held_id", type=uuid.UUID, help="the held object's id (from list)")
        p.add_argument("--reason", required=True,
                       help="why, in a line: kept in the audit log with who decided")
        p.set_defaults(run=_admin(_review_decide), decision=name)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accord",
        description="Accord: a TAXII 2.1 / STIX 2.1 threat-intelligence exchange. `serve` runs"
                    " the server; `admin` manages it; the other commands are a member's"
                    " (`COMMAND --help` for each).")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the TAXII server")
    serve.add_argument("--host", help="address to listen on (ACCORD_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (ACCORD_PORT)")
    serve.add_argument("--workers", type=int, default=1,
                       help="server processes sharing the port and the database")
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(run=_serve)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)

    admin = commands.add_parser(
        "admin", help="manage organisations, keys, groups, collections, the audit log",
        description="Without --url the commands act on the database as the platform; with"
                    " --url and --key (or ACCORD_URL, ACCORD_KEY) they call a server's admin"
                    " API with that key's rights.",
    )
    admin.add_argument("--url", help="base URL of a remote Accord server (ACCORD_URL)")
    admin.add_argument("--key", help="API key token for --url (ACCORD_KEY)")
    things = admin.add_subparsers(dest="thing", required=True)
    tlps = [t.value for t in Tlp if t is not Tlp.CLEAR]  # defaults are never CLEAR
    attributions = ["credited", "withheld"]

    def as_org(p: argparse.ArgumentParser) -> None:
        p.add_argument("--org", dest="as_org",
                       help="database mode: act as the org-admin of this organisation")

    def policy(p: argparse.ArgumentParser) -> None:
        p.add_argument("--description")
        p.add_argument("--default-tlp", choices=tlps)
        p.add_argument("--default-attribution", choices=attributions)
        p.add_argument("--anonymous", action=argparse.BooleanOptionalAction,
                       help="whether producers may withhold attribution")
        p.add_argument("--sector", action="append", choices=[s.value for s in Sector],
                       help="a sector allowed to join (repeatable)")
        p.add_argument("--any-sector", action="store_true", help="lift the sector restriction")
        p.add_argument("--confidential", action=argparse.BooleanOptionalAction,
                       help="hide the member list from members who do not manage the group")
        p.add_argument("--retention-days", type=int, metavar="DAYS",
                       help="days the group's collections keep a version (default: for ever)")
        p.add_argument("--privacy", choices=["pass", "hold", "refuse", "default"],
                       help="what a post the personal-data screen flags becomes: shared and"
                            " audited, held for review, or refused; default: unset (hold"
                            " when the members are of more than one sector, else pass)")
        p.add_argument("--reviewer", action="append", type=uuid.UUID, metavar="ORG_ID",
                       help="an organisation whose org-admins may review the group's held"
                            " objects besides the producer's (repeatable; replaces the list)")
        p.add_argument("--no-reviewers", action="store_true",
                       help="no reviewers besides the producer's org-admins")
        p.add_argument("--victim-range", action="append", metavar="CIDR",
                       help="an address range the group marks as victim-side: its addresses"
                            " in observed-data or sightings are personal data (repeatable;"
                            " replaces the list)")
        p.add_argument("--no-victim-ranges", action="store_true",
                       help="mark no address range as victim-side")
        p.add_argument("--warninglisted", choices=["warn", "refuse"],
                       help="what an indicator with a warninglisted value becomes when posted:"
                            " stored with a warning (default), or refused")
        p.add_argument("--half-life", action="append", type=_half_life, metavar="KIND=DAYS",
                       help="the group's decay half-life of a kind, in days, e.g. ipv4=7"
                            " (repeatable; replaces the group's half-lives)")
        p.add_argument("--default-half-lives", action="store_true",
                       help="drop the group's half-lives: every kind takes the default")

    org = things.add_parser("org", help=_GROUP_LINES["org"]) \
        .add_subparsers(dest="action", required=True)
    p = org.add_parser("create", help="create an organisation")
    p.add_argument("name")
    p.add_argument("--sector", required=True, choices=[s.value for s in Sector])
    p.set_defaults(run=_admin(_org_create))
    org.add_parser("list", help="list organisations").set_defaults(run=_admin(_org_list))

    key = things.add_parser("key", help=_GROUP_LINES["key"]) \
        .add_subparsers(dest="action", required=True)
    p = key.add_parser("create", help="create an API key (the secret is printed once)")
    p.add_argument("--org", required=True)
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--default-tlp", choices=tlps, help="TLP of this key's unmarked posts")
    p.add_argument("--default-attribution", choices=attributions)
    p.add_argument("--quiet", action="store_true", help="print only the token")
    p.set_defaults(run=_admin(_key_create))
    p = key.add_parser(
        "recover", help="make a new platform-admin key on the server's database (a lost key)",
        description="For a lost platform-admin key: acts on the server's database directly"
                    " (as `accord serve` finds it: ACCORD_DATA_DIR or ACCORD_DATABASE_URL),"
                    " so whoever can read that database can run it, and nobody else.",
        epilog="example: ACCORD_DATA_DIR=/srv/accord/.accord accord admin key recover")
    p.set_defaults(run=_admin(_key_recover))
    p = key.add_parser("list", help="list an organisation's API keys")
    p.add_argument("--org", required=True)
    p.set_defaults(run=_admin(_key_list))
    p = key.add_parser("revoke", help="revoke an API key at once")
    p.add_argument("key_id")
    p.add_argument("--org", help="the key's organisation (remote mode, if not your own)")
    p.set_defaults(run=_admin(_key_revoke))

    group = things.add_parser("group", help=_GROUP_LINES["group"]) \
        .add_subparsers(dest="action", required=True)
    p = group.add_parser("create", help="create a trust group")
    p.add_argument("name", help="the group's name (not one of your other groups' names)")
    p.add_argument("--member", action="append", help="member organisation (repeatable)")
    p.add_argument("--manager", action="append", help="manager organisation (repeatable)")
    policy(p)
    p.set_defaults(run=_admin(_group_create))
    group.add_parser("list", help="list trust groups").set_defaults(run=_admin(_group_list))
    for name, run, text in (("show", _group_show, "show a trust group"),
                            ("members", _group_members, "list a trust group's members"),
                            ("invitations", _group_invitations, "list a group's invitations")):
        p = group.add_parser(name, help=text)
        p.add_argument("group")
        p.set_defaults(run=_admin(run))
    p = group.add_parser("policy", help="change a trust group's description and policy")
    p.add_argument("group")
    policy(p)
    p.set_defaults(run=_admin(_group_policy))
    for name, run, text in (
        ("add-member", _group_add_member, "add an organisation without an invitation"),
        ("add-manager", _group_add_manager, "make a member organisation a manager"),
        ("remove-member", _group_remove_member, "remove a member; its keys lose access"),
        ("invite", _group_invite, "invite an organisation"),
    ):
        p = group.add_parser(name, help=text)
        p.add_argument("group")
        p.add_argument("org")
        p.set_defaults(run=_admin(run))
    p = group.add_parser("rename", help="give a trust group a new name")
    p.add_argument("group")
    p.add_argument("new_name")
    p.set_defaults(run=_admin(_group_rename))
    p = group.add_parser("delete", help="delete a trust group without collections (or"
                         " --archive it with them)")
    p.add_argument("group")
    p.add_argument("--archive", action="store_true",
                   help="archive the group and its collections instead: what they hold stays"
                        " readable to members, nothing new goes in")
    p.set_defaults(run=_admin(_group_delete))
    p = group.add_parser("leave", help="your organisation leaves a trust group")
    p.add_argument("group")
    as_org(p)
    p.set_defaults(run=_admin(_group_leave))

    invitation = things.add_parser("invitation", help=_GROUP_LINES["invitation"]) \
        .add_subparsers(dest="action", required=True)
    p = invitation.add_parser("list", help="pending invitations of your organisation")
    as_org(p)
    p.set_defaults(run=_admin(_invitation_list))
    for name, accept in (("accept", True), ("decline", False)):
        p = invitation.add_parser(name, help=f"{name} a trust group's invitation")
        p.add_argument("group", help="the inviting group's name or id")
        as_org(p)
        p.set_defaults(run=_admin(_answer(accept)))

    coll = things.add_parser("collection", help=_GROUP_LINES["collection"]) \
        .add_subparsers(dest="action", required=True)
    p = coll.add_parser("create", help="create a collection of a trust group")
    p.add_argument("title")
    p.add_argument("--group", required=True)
    p.add_argument("--description")
    p.add_argument("--default-tlp", choices=tlps)
    p.add_argument("--default-attribution", choices=attributions)
    p.add_argument("--no-custom", action="store_true",
                   help="refuse custom x- types and x_ properties")
    p.add_argument("--tlp1-markings", action="store_true", help=_TLP1_HELP)
    p.set_defaults(run=_admin(_collection_create))
    p = coll.add_parser("list", help="list a trust group's collections")
    p.add_argument("--group", required=True)
    p.set_defaults(run=_admin(_collection_list))
    p = coll.add_parser("set", help="change a collection")
    p.add_argument("collection", type=uuid.UUID)
    p.add_argument("--title")
    p.add_argument("--description")
    p.add_argument("--default-tlp", choices=[*tlps, "group"])
    p.add_argument("--default-attribution", choices=[*attributions, "group"])
    p.add_argument("--custom", action=argparse.BooleanOptionalAction,
                   help="accept custom x- types and x_ properties")
    p.add_argument("--tlp1-markings", action=argparse.BooleanOptionalAction, help=_TLP1_HELP)
    p.add_argument("--retention-days", type=_days_or_group, metavar="DAYS|group",
                   help="purge versions (and their sightings) this many days after they were"
                        " added; 'group': the trust group's (none: kept)")
    p.set_defaults(run=_admin(_collection_set))
    p = coll.add_parser("archive", help="archive a collection (readable, no more posts)")
    p.add_argument("collection", type=uuid.UUID)
    p.set_defaults(run=_admin(_collection_archive))

    moderation = things.add_parser("object", help="moderate stored objects (withdraw, restore:"
                                   " platform-admin; erase: org-admin or platform-admin)")
    obj = moderation.add_subparsers(dest="action", required=True)
    for action, summary in (("withdraw", "serve an object's versions in a collection to nobody,"
                                         " keeping them"),
                            ("restore", "serve a withdrawn object's versions again")):
        p = obj.add_parser(action, help=summary)
        p.add_argument("collection", type=uuid.UUID)
        p.add_argument("object_id", help="STIX id, e.g. indicator--<uuid>")
        p.set_defaults(run=_admin(_object_withdraw))
    p = obj.add_parser("erase", help="delete every version of an object and what derives from"
                       " it; consumers get removal events (org-admin: your organisation's"
                       " versions; platform-admin: every producer's)")
    p.add_argument("object_id", help="STIX id, e.g. indicator--<uuid>")
    p.add_argument("--reason", required=True,
                   help="why, kept in the audit log (name the request, not the content)")
    p.set_defaults(run=_admin(_object_erase))

    p = things.add_parser("warninglists", help="the shipped false-positive warninglists")
    p = p.add_subparsers(dest="action", required=True).add_parser(
        "update", help="rewrite them from a MISP/misp-warninglists checkout (restart after)")
    p.add_argument("--from", dest="source", required=True, type=Path, metavar="DIR",
                   help="a checkout of github.com/MISP/misp-warninglists")
    p.add_argument("--to", type=Path, metavar="DIR", help="default: the installed package's")
    p.set_defaults(run=_warninglists_update)

    p = things.add_parser(
        "reindex", help="derive again the lookup values and warninglist flags of stored"
        " versions (those stored before 0020; after a warninglist update); resumable")
    p.add_argument("--batch", type=int, default=2000, help="versions a transaction (2000)")
    p.add_argument("--max-batches", type=int, help="stop after this many (run again to resume)")
    p.add_argument("--restart", action="store_true", help="start over, not where it stopped")
    p.add_argument("--verbose", action="store_true", help="print progress after each batch")
    p.set_defaults(run=_reindex)

    p = things.add_parser("audit", help="query the audit log (one JSON entry a line)")
    p.add_argument("--since", help="ISO timestamp with zone, e.g. 2026-01-01T00:00:00Z")
    p.add_argument("--until")
    p.add_argument("--org", help="organisation name or id")
    p.add_argument("--action", help="e.g. key.created, group.member_removed")
    p.add_argument("--after", help="resume after a page: the `next` it printed")
    p.add_argument("--limit", type=int)
    p.set_defaults(run=_admin(_audit))
    peer_cli.add_commands(things, _admin)
    _review_commands(commands)
    member_cli.add_commands(commands)
    member_cli.add_feed_commands(commands)
    intel_cli.add_intel_commands(commands, member_cli.connection_flags, member_cli.run_with)
    _fill_help(parser)
    return parser


# One line for the arguments many commands share, by their name; a command's own wording,
# where it has one, wins.
_SHARED_HELP = {
    "name": "the name (unique on the server)",
    "new_name": "the group's new name (not one of your other groups' names)",
    "title": "the collection's title",
    "sector": "the organisation's sector",
    "org": "organisation name or id",
    "role": "what the key may do: reader < contributor < org-admin < platform-admin",
    "group": "trust group name or id",
    "collection": "collection id",
    "key_id": "the key's id (the part of the token before the dot)",
    "description": "free text shown to members",
    "default_tlp": "TLP of unmarked posts (never clear)",
    "default_attribution": "credited (the producer) or withheld (the group) by default",
    "until": "ISO timestamp with zone: entries before it",
    "limit": "at most this many entries",
    "files": "input files (STIX JSON, JSON lines; IOC lists with --csv/--txt)",
    "out": "where to write",
    "feed": "feed id",
    "min_confidence": "least confidence 0-100 delivered",
    "remove_webhook": "stop the feed's webhook deliveries",
}
_EXAMPLES = {
    (): "examples:\n  accord serve\n  accord admin org create CERT-EU --sector government\n"
        "  accord push report.json --collection 'Finance IOCs'\n  accord collections",
    ("admin",): "example: accord admin --url http://127.0.0.1:8000 --key \"$ACCORD_KEY\""
                " group list",
    ("admin", "warninglists"): "example: git clone https://github.com/MISP/misp-warninglists"
                               " && accord admin warninglists update --from misp-warninglists",
    ("admin", "org"): "example: accord admin org create \"Example Bank\" --sector private",
    ("admin", "key"): "example: accord admin key create --org \"Example Bank\" --role reader"
                      " --quiet",
    ("admin", "group"): "example: accord admin group create finance-isac --member CERT-EU"
                        " --default-tlp green",
    ("admin", "invitation"): "example: accord admin invitation accept finance-isac",
    ("admin", "collection"): "example: accord admin collection create \"Finance IOCs\""
                             " --group finance-isac",
    ("admin", "object"): "example: accord admin object withdraw COLLECTION_ID"
                         " indicator--<uuid>",
    ("admin", "peer"): "example: accord admin peer add sector-isac --url"
                       " https://isac.example/taxii2/root/ --key \"$ISAC_TOKEN\" --sector private",
    ("review",): "example: accord review release HELD_ID --reason \"the number is the"
                 " attacker's call centre\"",
    ("import",): "example: accord import misp event-1234.json --collection \"Finance IOCs\"",
    ("feed",): "example: accord feed create \"C2 for the SIEM\" --type indicator --kind ipv4"
               " --tlp-max amber",
}
_GROUP_LINES = {
    "org": "create and list organisations",
    "key": "create, list, revoke and recover API keys",
    "group": "trust groups: policy, members, managers, invitations, rename, delete",
    "invitation": "your organisation's invitations: list, accept, decline",
    "collection": "a trust group's collections: create, list, change, archive",
}


def _fill_help(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> None:
    """Give every argument without help its shared line, every group its example."""
    if path in _EXAMPLES and not parser.epilog:
        parser.epilog = _EXAMPLES[path]
        if "\n" in parser.epilog:
            parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                _fill_help(sub, (*path, name))
        elif action.help is None:
            action.help = _SHARED_HELP.get(action.dest)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `accord` console script."""
    args = _parser().parse_args(argv)
    settings = Settings.from_env(host=getattr(args, "host", None), port=getattr(args, "port", None))
    try:
        code = args.run(args, settings)
    except (AccordError, AdminApiError) as exc:
        print(f"accord: {exc.description}", file=sys.stderr)
        return 1
    except AccordClientError as exc:
        print(f"accord: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(f"accord: {exc}", file=sys.stderr)
        return 1
    except aiohttp.ClientError as exc:
        print(f"accord: cannot reach the server: {exc}", file=sys.stderr)
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
