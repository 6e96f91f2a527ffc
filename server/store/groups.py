"""Trust groups and their member organisations."""

from __future__ import annotations

import uuid

import asyncpg
import orjson

from server.errors import Conflict, NotFound
from server.store.query import Params
from server.store.records import GroupInfo, GroupMember, Invitation, TrustGroup

_POLICY = ("default_tlp", "default_attribution", "allow_anonymous", "allowed_sectors",
           "confidential_roster", "retention_days", "privacy_policy", "privacy_reviewers",
           "victim_ranges", "warninglist_policy", "half_lives")
# The privacy columns of a group, with the distinct sectors of its members (an unset
# privacy policy is decided from them: server/privacy/rules.py).
_PRIVACY = (" g.privacy_policy, g.privacy_reviewers, g.victim_ranges::text[] AS victim_ranges,"
            " ARRAY(SELECT DISTINCT o.sector FROM group_members gm"
            " JOIN organizations o ON o.id = gm.org_id WHERE gm.group_id = g.id"
            " ORDER BY o.sector) AS member_sectors")
# The analyst-intelligence columns of a group (0026): warninglist policy, decay half-lives.
_INTEL = " g.warninglist_policy, g.half_lives::text AS half_lives,"
# The reference group is the platform's own; the admin API never lists or changes it.
_GROUP = (
    "SELECT g.id, g.name, g.description, g.identity_id, g.default_tlp, g.default_attribution,"
    " g.allow_anonymous, g.allowed_sectors, g.confidential_roster, g.created,"
    " m.org_id IS NOT NULL AS is_member, coalesce(m.is_manager, false) AS is_manager,"
    " g.archived, g.retention_days," + _INTEL + _PRIVACY +
    " FROM trust_groups g LEFT JOIN group_members m ON m.group_id = g.id AND m.org_id = $1"
    " WHERE NOT g.is_reference"
)


async def create_group(
    conn: asyncpg.Connection,
    name: str,
    members: list[uuid.UUID],
    *,
    managers: list[uuid.UUID] | None = None,
    settings: dict[str, object] | None = None,
) -> TrustGroup:
    """Create a trust group with its first members and managers (managers are members too)."""
    group_id = uuid.uuid4()
    identity_id = f"identity--{uuid.uuid4()}"
    managing = set(managers or [])
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO trust_groups (id, name, identity_id) VALUES ($1, $2, $3)",
            group_id, name, identity_id,
        )
        # The group's identity (created_by_ref of withheld posts) is the platform's to post.
        await conn.execute(
            "INSERT INTO reserved_ids (stix_id, owner_org)"
            " SELECT $1, id FROM organizations WHERE is_platform",
            identity_id,
        )
        await set_group(conn, group_id, settings or {})
        await conn.executemany(
            "INSERT INTO group_members (group_id, org_id, is_manager) VALUES ($1, $2, $3)"
            " ON CONFLICT (group_id, org_id)"
            " DO UPDATE SET is_manager = group_members.is_manager OR excluded.is_manager",
            [(group_id, org, org in managing) for org in [*members, *managing]],
        )
    return TrustGroup(group_id, name, identity_id)


async def group_by_name(conn: asyncpg.Connection, name: str) -> TrustGroup:
    """The one trust group with this name (any group: the platform's view), or NotFound;
    Conflict if several share it, since names are labels, not ids."""
    rows = await conn.fetch(
        "SELECT id, name, identity_id FROM trust_groups WHERE name = $1 ORDER BY created LIMIT 2",
        name,
    )
    if not rows:
        raise NotFound(f"no trust group named {name!r}")
    if len(rows) > 1:
        raise Conflict(f"several trust groups are named {name!r}: give the group's id"
                       " (accord admin group list shows them)")
    return TrustGroup(rows[0]["id"], rows[0]["name"], rows[0]["identity_id"])


async def claim_name(
    conn: asyncpg.Connection, name: str, viewer_org: uuid.UUID, *, every_group: bool,
    renaming: uuid.UUID | None = None,
) -> None:
    """Conflict if another group the viewer can see (every group, if `every_group`) has `name`.

    Names are unique only within what the acting organisation sees: a server-wide rule
    answered "already exists" for groups the caller may not know of (issue 10), the oracle
    MISP's sharing-group names have. A mature exchange treats names as labels (as TAXII does
    collection titles) and keeps them apart only where one reader would confuse them; ids
    identify. Two organisations of unrelated groups may thus each have a "Finance ISAC".
    Call inside the transaction that creates or renames the group: the lock keeps one
    organisation's concurrent claims of a name from both passing.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                       f"accord.group-name:{viewer_org}")
    taken = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM trust_groups g WHERE g.name = $1 AND NOT g.is_reference"
        " AND g.id IS DISTINCT FROM $3 AND ($4 OR EXISTS (SELECT 1 FROM group_members m"
        " WHERE m.group_id = g.id AND m.org_id = $2)))",
        name, viewer_org, renaming, every_group,
    )
    if taken:
        raise Conflict(f"one of your trust groups is already named {name!r}",
                       details={"name": name})


async def add_member(conn: asyncpg.Connection, group_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    """Add an organisation to a group; False if it was already a member."""
    status = await conn.execute(
        "INSERT INTO group_members (group_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        group_id, org_id,
    )
    return status.endswith(" 1")


async def remove_member(
    conn: asyncpg.Connection, group_id: uuid.UUID, org_id: uuid.UUID
) -> bool:
    """Remove an organisation from a group; its keys lose access at once."""
    status = await conn.execute(
        "DELETE FROM group_members WHERE group_id = $1 AND org_id = $2", group_id, org_id
    )
    return status.endswith(" 1")


def _group(row: asyncpg.Record) -> GroupInfo:
    fields = {k: row[k] for k in GroupInfo.__slots__ if k != "half_lives"}
    return GroupInfo(**fields, half_lives=orjson.loads(row["half_lives"]))


async def get_group(
    conn: asyncpg.Connection, group_id: uuid.UUID, viewer_org: uuid.UUID
) -> GroupInfo:
    """A trust group with the viewer's membership in it, or NotFound."""
    row = await conn.fetchrow(_GROUP + " AND g.id = $2", viewer_org, group_id)
    if row is None:
        raise NotFound("no such trust group")
    return _group(row)


async def list_groups(
    conn: asyncpg.Connection, viewer_org: uuid.UUID, *, all_groups: bool = False
) -> list[GroupInfo]:
    """The viewer's groups (every group if `all_groups`), by name."""
    where = "" if all_groups else " AND m.org_id IS NOT NULL"
    rows = await conn.fetch(_GROUP + where + " ORDER BY g.name", viewer_org)
    return [_group(r) for r in rows]


async def set_group(
    conn: asyncpg.Connection, group_id: uuid.UUID, changes: dict[str, object]
) -> None:
    """Set the description and policy columns named in `changes`."""
    allowed = {"description", *_POLICY}
    if not changes:
        return
    if not set(changes) <= allowed:
        raise ValueError(f"not a group setting: {sorted(set(changes) - allowed)}")
    p = Params()
    sets = ", ".join(f"{column} = {p(value)}" for column, value in changes.items())
    await conn.execute(f"UPDATE trust_groups SET {sets} WHERE id = {p(group_id)}", *p.values)


async def rename_group(conn: asyncpg.Connection, group_id: uuid.UUID, name: str) -> None:
    """Give a trust group a new name (the caller checked it with `claim_name`)."""
    await conn.execute("UPDATE trust_groups SET name = $2 WHERE id = $1", group_id, name)


async def collection_count(conn: asyncpg.Connection, group_id: uuid.UUID) -> int:
    """How many collections (archived ones included) a trust group has."""
    return await conn.fetchval("SELECT count(*) FROM collections WHERE group_id = $1", group_id)


async def delete_group(conn: asyncpg.Connection, group_id: uuid.UUID) -> None:
    """Delete a trust group that has no collections, with its memberships and invitations."""
    # Locked first, so a collection created meanwhile cannot slip in between check and delete.
    await conn.execute("SELECT 1 FROM trust_groups WHERE id = $1 FOR UPDATE", group_id)
    if await collection_count(conn, group_id):
        raise Conflict("the trust group has collections; archive it instead")
    await conn.execute("DELETE FROM group_invitations WHERE group_id = $1", group_id)
    await conn.execute("DELETE FROM group_members WHERE group_id = $1", group_id)
    await conn.execute("DELETE FROM trust_groups WHERE id = $1", group_id)


async def archive_group(conn: asyncpg.Connection, group_id: uuid.UUID) -> int:
    """Archive a trust group and every collection of it; how many collections were open."""
    await conn.execute("UPDATE trust_groups SET archived = true WHERE id = $1", group_id)
    status = await conn.execute(
        "UPDATE collections SET archived = true WHERE group_id = $1 AND NOT archived", group_id)
    return int(status.rsplit(" ", 1)[1])


async def members(
    conn: asyncpg.Connection, group_id: uuid.UUID, only_org: uuid.UUID | None = None
) -> list[GroupMember]:
    """A group's members by name (only `only_org`'s membership, if given)."""
    rows = await conn.fetch(
        "SELECT m.org_id, o.name, o.sector, m.is_manager, m.joined FROM group_members m"
        " JOIN organizations o ON o.id = m.org_id"
        " WHERE m.group_id = $1 AND ($2::uuid IS NULL OR m.org_id = $2) ORDER BY o.name",
        group_id, only_org,
    )
    return [GroupMember(**dict(r)) for r in rows]


async def set_manager(conn: asyncpg.Connection, group_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    """Make a member a manager; False if the organisation is not a member."""
    status = await conn.execute(
        "UPDATE group_members SET is_manager = true WHERE group_id = $1 AND org_id = $2",
        group_id, org_id,
    )
    return status.endswith(" 1")


async def manager_count(conn: asyncpg.Connection, group_id: uuid.UUID) -> int:
    """How many manager organisations a group has."""
    return await conn.fetchval(
        "SELECT count(*) FROM group_members WHERE group_id = $1 AND is_manager", group_id
    )


async def invite(
    conn: asyncpg.Connection, group_id: uuid.UUID, org_id: uuid.UUID, invited_by: uuid.UUID
) -> bool:
    """Invite an organisation (again, if it declined or left); False if already pending."""
    status = await conn.execute(
        "INSERT INTO group_invitations (group_id, org_id, invited_by) VALUES ($1, $2, $3)"
        " ON CONFLICT (group_id, org_id) DO UPDATE SET state = 'pending', invited_by = $3,"
        " created = now(), decided = NULL WHERE group_invitations.state <> 'pending'",
        group_id, org_id, invited_by,
    )
    return status.endswith(" 1")


_INVITATION = (
    "SELECT i.org_id, o.name AS org_name, i.state, i.created AS invited, i.decided,"
    " g.id, g.name, g.description, g.identity_id, g.default_tlp, g.default_attribution,"
    " g.allow_anonymous, g.allowed_sectors, g.confidential_roster, g.created,"
    " false AS is_member, false AS is_manager, g.archived, g.retention_days," + _INTEL
    + _PRIVACY +
    " FROM group_invitations i JOIN trust_groups g ON g.id = i.group_id"
    " JOIN organizations o ON o.id = i.org_id"
)


def _invitation(row: asyncpg.Record) -> Invitation:
    return Invitation(_group(row), row["org_id"], row["org_name"], row["state"],
                      row["invited"], row["decided"])


async def invitations(
    conn: asyncpg.Connection,
    *,
    org_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    pending_only: bool = True,
) -> list[Invitation]:
    """Invitations of an organisation and/or into a group, oldest first."""
    rows = await conn.fetch(
        _INVITATION + " WHERE ($1::uuid IS NULL OR i.org_id = $1)"
        " AND ($2::uuid IS NULL OR i.group_id = $2) AND (NOT $3 OR i.state = 'pending')"
        " ORDER BY i.created, g.name",
        org_id, group_id, pending_only,
    )
    return [_invitation(r) for r in rows]


async def decide_invitation(
    conn: asyncpg.Connection, group_id: uuid.UUID, org_id: uuid.UUID, accept: bool
) -> Invitation:
    """Accept or decline a pending invitation (locking it); NotFound if none is pending."""
    updated = await conn.fetchval(
        "UPDATE group_invitations SET state = $3, decided = now()"
        " WHERE group_id = $1 AND org_id = $2 AND state = 'pending' RETURNING group_id",
        group_id, org_id, "accepted" if accept else "declined",
    )
    if updated is None:
        raise NotFound("no pending invitation from this trust group")
    row = await conn.fetchrow(
        _INVITATION + " WHERE i.group_id = $1 AND i.org_id = $2", group_id, org_id
    )
    return _invitation(row)
