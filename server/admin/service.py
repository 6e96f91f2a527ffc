"""The admin operations: access checks, store calls and audit entries in one transaction each.

Every function takes the pool and the acting principal and returns a `schemas.admin` model,
so the HTTP handlers and the CLI's database mode share one implementation.
"""

from __future__ import annotations

import uuid

import asyncpg
import orjson

from schemas import admin as api
from schemas.cursors import CursorCodec
from schemas.principal import Principal, Role, Sector
from schemas.taxii import Cursor, QueryError
from server.admin.access import (
    need_manager,
    need_member,
    need_org_admin,
    need_platform_admin,
    roster_visible,
)
from server.db.pool import atomic
from server.errors import BadRequest, Conflict, Forbidden, NotFound
from server.ingest import review
from server.store import audit, collections, groups, keys, orgs
from server.store import objects as object_store
from server.store import removals as removal_store
from server.store.records import (
    ApiKey,
    CollectionSettings,
    GroupInfo,
    GroupMember,
    Invitation,
    Org,
)

# The key id recorded for the `accord admin` commands acting directly on the database.
LOCAL_OPERATOR = "local-cli"


async def local_operator(conn: asyncpg.Connection) -> Principal:
    """The principal of the `accord admin` commands in database mode: the platform itself."""
    org = await orgs.platform_org(conn)
    return Principal(key_id=LOCAL_OPERATOR, org_id=org.id, org_name=org.name,
                     sector=Sector(org.sector), role=Role.PLATFORM_ADMIN,
                     identity_id=org.identity_id)



def _entry(principal: Principal, action: str, org_id: uuid.UUID | None,
           subject: object = None, **details: object) -> audit.AuditEntry:
    actor = None if principal.key_id == LOCAL_OPERATOR else principal
    return audit.entry(actor, action, org_id, None if subject is None else str(subject),
                       **details)


# --- shaping records into response models ---------------------------------------------------


def _org(org: Org) -> api.Org:
    return api.Org(id=org.id, name=org.name, sector=Sector(org.sector),
                   identity_id=org.identity_id, is_platform=org.is_platform)


def _key(key: ApiKey) -> api.Key:
    return api.Key(id=key.id, org_id=key.org_id, role=Role(key.role), created=key.created,
                   last_used=key.last_used, revoked_at=key.revoked_at,
                   default_tlp=key.default_tlp, default_attribution=key.default_attribution)


def _policy(g: GroupInfo) -> api.GroupPolicy:
    return api.GroupPolicy(
        default_tlp=g.default_tlp, default_attribution=g.default_attribution,
        allow_anonymous=g.allow_anonymous, confidential_roster=g.confidential_roster,
        allowed_sectors=None if g.allowed_sectors is None else sorted(g.allowed_sectors),
        retention_days=g.retention_days,
        privacy_policy=review.effective_policy(g.privacy_policy, g.member_sectors),
        privacy_policy_set=g.privacy_policy is not None,
        privacy_reviewers=sorted(g.privacy_reviewers), victim_ranges=g.victim_ranges,
        warninglist_policy=g.warninglist_policy, half_lives=g.half_lives,
    )


def _group_fields(g: GroupInfo) -> dict:
    return {"id": g.id, "name": g.name, "description": g.description,
            "identity_id": g.identity_id, "policy": _policy(g), "created": g.created,
            "is_member": g.is_member, "is_manager": g.is_manager, "archived": g.archived}


def _member(m: GroupMember) -> api.Membership:
    return api.Membership(org_id=m.org_id, name=m.name, sector=Sector(m.sector),
                          is_manager=m.is_manager, joined=m.joined)


def _invitation(i: Invitation) -> api.Invitation:
    return api.Invitation(
        group_id=i.group.id, group_name=i.group.name, group_description=i.group.description,
        policy=_policy(i.group), org_id=i.org_id, org_name=i.org_name, state=i.state,
        created=i.created, decided=i.decided,
    )


def _collection(c: CollectionSettings) -> api.CollectionInfo:
    return api.CollectionInfo(
        id=c.id, group_id=c.group_id, title=c.title, description=c.description,
        default_tlp=c.default_tlp, default_attribution=c.default_attribution,
        allow_custom=c.allow_custom, archived=c.archived, created=c.created,
        tlp1_markings=c.tlp1_markings, retention_days=c.retention_days,
    )


def _admits(group_sectors: list[str] | None, org: Org) -> None:
    if group_sectors is not None and org.sector not in group_sectors:
        raise Conflict(
            f"the trust group admits only organisations of the sectors"
            f" {', '.join(sorted(group_sectors))}; {org.name!r} is {org.sector}",
            details={"allowed_sectors": sorted(group_sectors), "sector": org.sector},
        )


def _policy_changes(patch: api.GroupPolicyPatch | None) -> dict[str, object]:
    if patch is None:
        return {}
    changes = patch.model_dump(exclude_none=True, mode="json")
    if "allowed_sectors" in changes:
        # An empty list lifts the restriction; kept sorted and unique for stable output.
        changes["allowed_sectors"] = sorted(set(changes["allowed_sectors"])) or None
    if changes.get("privacy_policy") == "default":
        changes["privacy_policy"] = None  # decided from the members' sectors
    for key in ("privacy_reviewers", "victim_ranges"):
        if key in changes:
            changes[key] = sorted(set(changes[key]))
    if "half_lives" in changes:
        changes["half_lives"] = orjson.dumps(changes["half_lives"]).decode()  # jsonb text
    return changes


async def _check_reviewers(conn: asyncpg.Connection, changes: dict[str, object]) -> None:
    """Every organisation named as a privacy reviewer exists (ids are not guessable)."""
    for org_id in changes.get("privacy_reviewers") or []:  # type: ignore[attr-defined]
        # 404 like every other reference to an organisation that is not there (a
        # syntactically valid id is not a malformed request).
        try:
            await orgs.org_by_id(conn, uuid.UUID(str(org_id)))
        except NotFound:
            raise NotFound(f"privacy_reviewers: no organisation {org_id}") from None


# --- organisations --------------------------------------------------------------------------


async def create_org(pool: asyncpg.Pool, principal: Principal, req: api.OrgCreate) -> api.Org:
    """Create an organisation (platform-admin)."""
    need_platform_admin(principal, "creating an organisation")
    async with atomic(pool) as conn:
        org = await orgs.create_org(conn, req.name, req.sector.value)
        await audit.record(conn, [_entry(principal, "org.created", org.id, org.id,
                                         name=org.name, sector=org.sector)])
    return _org(org)


async def list_orgs(pool: asyncpg.Pool, principal: Principal) -> api.OrgList:
    """Every organisation for a platform admin; the caller's own for anyone else."""
    async with atomic(pool) as conn:
        if principal.is_platform_admin:
            found = await orgs.list_orgs(conn)
        else:
            found = [await orgs.org_by_id(conn, principal.org_id)]
    return api.OrgList(orgs=[_org(o) for o in found])


async def get_org(pool: asyncpg.Pool, principal: Principal, org_id: uuid.UUID) -> api.Org:
    """One organisation: the caller's own, or any for a platform admin."""
    if not principal.is_platform_admin and org_id != principal.org_id:
        raise NotFound("no such organisation")
    async with atomic(pool) as conn:
        return _org(await orgs.org_by_id(conn, org_id))


# --- API keys -------------------------------------------------------------------------------


async def _admin_of(conn: asyncpg.Connection, principal: Principal, org_id: uuid.UUID,
                    action: str) -> Org:
    if not principal.is_platform_admin and org_id != principal.org_id:
        raise NotFound("no such organisation")
    org = await orgs.org_by_id(conn, org_id)
    need_org_admin(principal, org, action)
    return org


async def list_keys(pool: asyncpg.Pool, principal: Principal, org_id: uuid.UUID) -> api.KeyList:
    """An organisation's keys (its org-admin or a platform admin)."""
    async with atomic(pool) as conn:
        org = await _admin_of(conn, principal, org_id, "listing API keys")
        return api.KeyList(keys=[_key(k) for k in await keys.list_keys(conn, org.id)])


async def create_key(
    pool: asyncpg.Pool, principal: Principal, org_id: uuid.UUID, req: api.KeyCreate
) -> api.KeyCreated:
    """Create a key; its token is in this answer only."""
    async with atomic(pool) as conn:
        org = await _admin_of(conn, principal, org_id, "creating an API key")
        if req.role is Role.PLATFORM_ADMIN:
            need_platform_admin(principal, "creating a platform-admin key")
        new = await keys.create_key(
            conn, org.id, req.role,
            default_tlp=req.default_tlp and req.default_tlp.value,
            default_attribution=req.default_attribution,
        )
        await audit.record(conn, [_entry(principal, "key.created", org.id, new.key.id,
                                         role=new.key.role)])
    return api.KeyCreated(**_key(new.key).model_dump(), token=new.token)


async def revoke_key(
    pool: asyncpg.Pool, principal: Principal, org_id: uuid.UUID, key_id: str
) -> api.Key:
    """Revoke a key of an organisation at once."""
    async with atomic(pool) as conn:
        org = await _admin_of(conn, principal, org_id, "revoking an API key")
        key = await keys.revoke_key(conn, key_id, org.id)
        await audit.record(conn, [_entry(principal, "key.revoked", org.id, key.id,
                                         role=key.role)])
    return _key(key)


# --- trust groups ---------------------------------------------------------------------------


async def _detail(conn: asyncpg.Connection, principal: Principal,
                  group: GroupInfo) -> api.GroupDetail:
    roster = None
    if roster_visible(principal, group):
        roster = [_member(m) for m in await groups.members(conn, group.id)]
    return api.GroupDetail(
        **_group_fields(group), members=roster,
        managers=None if roster is None else [m for m in roster if m.is_manager],
    )


async def list_groups(pool: asyncpg.Pool, principal: Principal) -> api.GroupList:
    """The caller's trust groups (all of them for a platform admin)."""
    async with atomic(pool) as conn:
        found = await groups.list_groups(conn, principal.org_id,
                                         all_groups=principal.is_platform_admin)
    return api.GroupList(groups=[api.Group(**_group_fields(g)) for g in found])


async def create_group(
    pool: asyncpg.Pool, principal: Principal, req: api.GroupCreate
) -> api.GroupDetail:
    """Create a trust group: an org-admin's organisation manages it; a platform admin names."""
    if not principal.has_role(Role.ORG_ADMIN):
        raise Forbidden("creating a trust group needs the org-admin role or platform-admin",
                        details={"needed_role": "org-admin"})
    if (req.members or req.managers) and not principal.is_platform_admin:
        need_platform_admin(principal, "naming the first members (invite them instead)")
    settings = _policy_changes(req.policy)
    if req.description is not None:
        settings["description"] = req.description
    async with atomic(pool) as conn:
        if principal.is_platform_admin:
            members = [await orgs.resolve_org(conn, ref) for ref in req.members]
            managers = [await orgs.resolve_org(conn, ref) for ref in req.managers]
        else:
            members, managers = [], [await orgs.org_by_id(conn, principal.org_id)]
        await _check_reviewers(conn, settings)
        allowed = settings.get("allowed_sectors")
        joined = {o.id: o for o in [*members, *managers]}
        for org in joined.values():
            _admits(allowed, org)  # type: ignore[arg-type]
        await groups.claim_name(conn, req.name, principal.org_id,
                                every_group=principal.is_platform_admin)
        made = await groups.create_group(conn, req.name, [o.id for o in members],
                                         managers=[o.id for o in managers], settings=settings)
        group = await groups.get_group(conn, made.id, principal.org_id)
        await audit.record(conn, [
            _entry(principal, "group.created", principal.org_id, group.id, group_name=group.name,
                   policy=_policy(group).model_dump(mode="json")),
            *(_entry(principal, "group.member_added", org.id, group.id, group_id=group.id,
                     group_name=group.name, manager=org in managers)
              for org in joined.values()),
        ])
        return await _detail(conn, principal, group)


async def _group(conn: asyncpg.Connection, principal: Principal, group_id: uuid.UUID,
                 *, manage: bool = False) -> GroupInfo:
    group = await groups.get_group(conn, group_id, principal.org_id)
    (need_manager if manage else need_member)(principal, group)
    return group


async def get_group(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID
) -> api.GroupDetail:
    """A group with its roster where the caller may see it."""
    async with atomic(pool) as conn:
        return await _detail(conn, principal, await _group(conn, principal, group_id))


async def change_group(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID, req: api.GroupPatch
) -> api.GroupDetail:
    """Change description and policy (managers, platform admins)."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id, manage=True)
        changes = _policy_changes(req.policy)
        await _check_reviewers(conn, changes)
        if req.description is not None:
            changes["description"] = req.description
        await groups.set_group(conn, group.id, changes)
        if changes:
            await audit.record(conn, [_entry(principal, "group.policy_changed", principal.org_id,
                                             group.id, group_name=group.name, changes=changes)])
        if req.name is not None and req.name != group.name:
            await groups.claim_name(conn, req.name, principal.org_id,
                                    every_group=principal.is_platform_admin, renaming=group.id)
            await groups.rename_group(conn, group.id, req.name)
            await audit.record(conn, [_entry(principal, "group.renamed", principal.org_id,
                                             group.id, group_name=req.name,
                                             old_name=group.name)])
        return await _detail(conn, principal, await groups.get_group(conn, group.id,
                                                                      principal.org_id))


async def delete_group(pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID) -> None:
    """Delete a trust group without collections (managers, platform admins)."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id, manage=True)
        count = await groups.collection_count(conn, group.id)
        if count:
            raise Conflict(
                f"the trust group {group.name!r} has {count} collection(s), whose objects are"
                " kept: archive the group with them instead (accord admin group delete"
                " GROUP --archive, POST /api/v1/groups/{id}/archive)",
                details={"collections": count})
        await groups.delete_group(conn, group.id)
        await audit.record(conn, [_entry(principal, "group.deleted", principal.org_id, group.id,
                                         group_name=group.name)])


async def archive_group(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID
) -> api.GroupDetail:
    """Archive a group and its collections: readable, closed (managers, platform admins)."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id, manage=True)
        if not group.archived:
            closed = await groups.archive_group(conn, group.id)
            await audit.record(conn, [_entry(principal, "group.archived", principal.org_id,
                                             group.id, group_name=group.name,
                                             collections_archived=closed)])
        return await _detail(conn, principal, await groups.get_group(conn, group.id,
                                                                      principal.org_id))


def _open(group: GroupInfo, doing: str) -> None:
    if group.archived:
        raise Conflict(f"the trust group {group.name!r} is archived: {doing} is closed")


async def list_members(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID
) -> api.MemberList:
    """The roster; a confidential group shows a plain member only its own membership."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id)
        complete = roster_visible(principal, group)
        found = await groups.members(conn, group.id, None if complete else principal.org_id)
    return api.MemberList(members=[_member(m) for m in found], complete=complete)


async def _membership(conn: asyncpg.Connection, group_id: uuid.UUID,
                      org_id: uuid.UUID) -> api.Membership:
    found = await groups.members(conn, group_id, org_id)
    return _member(found[0])


async def add_member(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID, req: api.OrgReference
) -> api.Membership:
    """Add an organisation directly, without an invitation (platform-admin)."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id)
        need_platform_admin(principal, "adding a member without an invitation")
        _open(group, "adding members")
        org = await orgs.resolve_org(conn, req.org)
        _admits(group.allowed_sectors, org)
        if await groups.add_member(conn, group.id, org.id):
            await audit.record(conn, [_entry(principal, "group.member_added", org.id, group.id,
                                             group_id=group.id, group_name=group.name)])
        return await _membership(conn, group.id, org.id)


async def add_manager(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID, req: api.OrgReference
) -> api.Membership:
    """Make a member organisation a manager of the group."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id, manage=True)
        org = await orgs.resolve_org(conn, req.org)
        if not await groups.set_manager(conn, group.id, org.id):
            raise Conflict(f"{org.name!r} is not a member of this trust group; invite it first")
        await audit.record(conn, [_entry(principal, "group.manager_added", org.id, group.id,
                                         group_id=group.id, group_name=group.name)])
        return await _membership(conn, group.id, org.id)


async def _remove(conn: asyncpg.Connection, principal: Principal, group: GroupInfo,
                  org_id: uuid.UUID, action: str) -> None:
    found = await groups.members(conn, group.id, org_id)
    if not found:
        raise NotFound("no such member")
    # A group whose last manager goes is left to platform admins; refuse unless one asks.
    if (found[0].is_manager and not principal.is_platform_admin
            and await groups.manager_count(conn, group.id) == 1
            and len(await groups.members(conn, group.id)) > 1):
        raise Conflict("this is the group's last manager organisation; make another member a"
                       " manager first")
    await groups.remove_member(conn, group.id, org_id)
    await audit.record(conn, [_entry(principal, action, org_id, group.id, group_id=group.id,
                                     group_name=group.name)])


async def remove_member(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID, org_id: uuid.UUID
) -> None:
    """Remove a member; its keys lose access to the group's collections at once."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id, manage=True)
        await _remove(conn, principal, group, org_id, "group.member_removed")


async def leave_group(pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID) -> None:
    """The caller's organisation leaves the group (its org-admin)."""
    async with atomic(pool) as conn:
        group = await groups.get_group(conn, group_id, principal.org_id)
        if not group.is_member:
            raise NotFound("no such trust group")
        need_org_admin(principal, await orgs.org_by_id(conn, principal.org_id),
                       "leaving a trust group")
        await _remove(conn, principal, group, principal.org_id, "group.member_left")


# --- invitations ----------------------------------------------------------------------------


async def invite(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID, req: api.OrgReference
) -> api.Invitation:
    """Invite an organisation into the group.

    The invitee's sector is checked when it accepts, not here: a refusal now would tell the
    inviter another organisation's sector, which it may not know.
    """
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id, manage=True)
        _open(group, "inviting")
        org = await orgs.resolve_org(conn, req.org)
        if await groups.members(conn, group.id, org.id):
            raise Conflict(f"{org.name!r} is already a member of this trust group")
        if not await groups.invite(conn, group.id, org.id, principal.org_id):
            raise Conflict(f"{org.name!r} already has a pending invitation to this group")
        await audit.record(conn, [_entry(principal, "invitation.sent", org.id, group.id,
                                         group_id=group.id, group_name=group.name)])
        found = await groups.invitations(conn, org_id=org.id, group_id=group.id)
    return _invitation(found[0])


async def group_invitations(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID
) -> api.InvitationList:
    """Every invitation of a group, in any state (managers, platform admins)."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id, manage=True)
        found = await groups.invitations(conn, group_id=group.id, pending_only=False)
    return api.InvitationList(invitations=[_invitation(i) for i in found])


async def my_invitations(pool: asyncpg.Pool, principal: Principal) -> api.InvitationList:
    """Pending invitations of the caller's organisation (every one for a platform admin)."""
    async with atomic(pool) as conn:
        org = await orgs.org_by_id(conn, principal.org_id)
        need_org_admin(principal, org, "listing invitations")
        found = await groups.invitations(
            conn, org_id=None if principal.is_platform_admin else org.id
        )
    return api.InvitationList(invitations=[_invitation(i) for i in found])


async def answer_invitation(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID, accept: bool
) -> api.Invitation:
    """Accept (join) or decline the group's pending invitation of the caller's organisation."""
    async with atomic(pool) as conn:
        org = await orgs.org_by_id(conn, principal.org_id)
        need_org_admin(principal, org, "answering an invitation")
        answered = await groups.decide_invitation(conn, group_id, org.id, accept)
        entries = [_entry(principal, "invitation.accepted" if accept else "invitation.declined",
                          org.id, group_id, group_id=group_id, group_name=answered.group.name)]
        if accept:
            _open(answered.group, "joining")
            # The policy may have changed since the invitation was sent.
            _admits(answered.group.allowed_sectors, org)
            await groups.add_member(conn, group_id, org.id)
            entries.append(_entry(principal, "group.member_added", org.id, group_id,
                                  group_id=group_id, group_name=answered.group.name))
        await audit.record(conn, entries)
    return _invitation(answered)


# --- collections ----------------------------------------------------------------------------


async def group_collections(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID
) -> api.CollectionList:
    """A group's collections (its members, platform admins)."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id)
        found = await collections.group_collections(conn, group.id)
    return api.CollectionList(collections=[_collection(c) for c in found])


async def create_collection(
    pool: asyncpg.Pool, principal: Principal, group_id: uuid.UUID, req: api.CollectionCreate
) -> api.CollectionInfo:
    """Create a collection in the group (managers, platform admins)."""
    async with atomic(pool) as conn:
        group = await _group(conn, principal, group_id, manage=True)
        _open(group, "creating collections")
        made = await collections.create_collection(conn, group.id, req.title, req.description,
                                                   allow_custom=req.allow_custom)
        defaults = req.model_dump(include={"default_tlp", "default_attribution"},
                                  exclude_none=True, mode="json")
        if req.tlp1_markings:
            defaults["tlp1_markings"] = True
        await collections.set_collection(conn, made, defaults)
        await audit.record(conn, [_entry(principal, "collection.created", principal.org_id,
                                         made, group_id=group.id, title=req.title, **defaults)])
        return _collection(await collections.collection_settings(conn, made))


async def _collection_of(conn: asyncpg.Connection, principal: Principal,
                         collection_id: uuid.UUID, *, manage: bool = False) -> CollectionSettings:
    found = await collections.collection_settings(conn, collection_id)
    group = await groups.get_group(conn, found.group_id, principal.org_id)
    # Worded as for an unknown id: a stranger learns nothing of the collection or its group.
    (need_manager if manage else need_member)(principal, group, "collection")
    return found


async def get_collection(
    pool: asyncpg.Pool, principal: Principal, collection_id: uuid.UUID
) -> api.CollectionInfo:
    """One collection's settings (members of its group, platform admins)."""
    async with atomic(pool) as conn:
        return _collection(await _collection_of(conn, principal, collection_id))


async def change_collection(
    pool: asyncpg.Pool, principal: Principal, collection_id: uuid.UUID,
    req: api.CollectionPatch,
) -> api.CollectionInfo:
    """Change title, description, defaults or custom content (managers, platform admins)."""
    changes = req.model_dump(exclude_unset=True, mode="json")
    # title and allow_custom cannot be unset; a null for them means "no change".
    changes = {k: v for k, v in changes.items()
               if v is not None or k in ("description", "default_tlp", "default_attribution",
                                         "retention_days")}
    async with atomic(pool) as conn:
        found = await _collection_of(conn, principal, collection_id, manage=True)
        await collections.set_collection(conn, found.id, changes)
        if changes:
            await audit.record(conn, [_entry(principal, "collection.changed", principal.org_id,
                                             found.id, group_id=found.group_id,
                                             changes=changes)])
        return _collection(await collections.collection_settings(conn, found.id))


async def archive_collection(
    pool: asyncpg.Pool, principal: Principal, collection_id: uuid.UUID
) -> api.CollectionInfo:
    """Archive a collection: still readable, no more posts (managers, platform admins)."""
    async with atomic(pool) as conn:
        found = await _collection_of(conn, principal, collection_id, manage=True)
        if not found.archived:
            await collections.set_collection(conn, found.id, {"archived": True})
            await audit.record(conn, [_entry(principal, "collection.archived", principal.org_id,
                                             found.id, group_id=found.group_id)])
        return _collection(await collections.collection_settings(conn, found.id))


# --- moderation -----------------------------------------------------------------------------


async def withdraw_object(
    pool: asyncpg.Pool, principal: Principal, collection_id: uuid.UUID, stix_id: str,
    withdrawn: bool,
) -> api.Withdrawal:
    """Withdraw an object's versions from a collection, served to nobody, or restore them
    (platform-admin); unlike DELETE it keeps them, for review, and can be undone."""
    need_platform_admin(principal, "withdrawing objects")
    async with atomic(pool) as conn:
        await collections.collection_settings(conn, collection_id)  # NotFound if unknown
        count = await object_store.withdraw_object(conn, collection_id, stix_id, withdrawn)
        if not count:
            raise NotFound("no such object")
        await audit.record(conn, [_entry(
            principal, "object.withdrawn" if withdrawn else "object.restored", None, stix_id,
            collection=str(collection_id), versions=count)])
    return api.Withdrawal(collection_id=collection_id, object_id=stix_id, versions=count,
                          withdrawn=withdrawn)


async def erase_object(
    pool: asyncpg.Pool, principal: Principal, stix_id: str, req: api.ErasureRequest
) -> api.Erasure:
    """Erase an object: an org-admin its own organisation's versions, a platform admin
    (on a data subject's request) every producer's. Every version and everything derived
    from it is deleted, consumers receive removal events, and the audit log records who,
    why and which id, never the content. Another organisation's object answers NotFound,
    as an unknown id does."""
    if not principal.has_role(Role.ORG_ADMIN):
        raise Forbidden("erasing objects needs the org-admin role or platform-admin",
                        details={"needed_role": "org-admin"})
    producer = None if principal.is_platform_admin else principal.org_id
    async with atomic(pool) as conn:
        done = await removal_store.erase(conn, stix_id, producer)
        if done is None:
            raise NotFound("no such object")
        await audit.record(conn, [_entry(
            principal, "object.erased", producer, stix_id, reason=req.reason,
            versions=done.versions, sightings=done.sightings,
            pending=done.pending + done.withheld, statuses=done.statuses)])
    return api.Erasure(object_id=stix_id, versions=done.versions, sightings=done.sightings,
                       pending=done.pending + done.withheld, statuses=done.statuses)


# --- audit ----------------------------------------------------------------------------------


async def audit_query(
    pool: asyncpg.Pool, principal: Principal, q: api.AuditQuery, cursors: CursorCodec
) -> api.AuditPage:
    """Audit entries: everything for platform admins, an org-admin's own organisation's.

    Pages resume from opaque tokens, and only platform admins see `seq`: an org-admin must
    not learn how many entries of other organisations lie between its own.
    """
    org_id = q.org
    if not principal.is_platform_admin:
        if not principal.has_role(Role.ORG_ADMIN):
            raise Forbidden(
                f"reading the audit log needs the org-admin role of organisation"
                f" {principal.org_name!r} or platform-admin", details={"needed_role": "org-admin"}
            )
        if org_id not in (None, principal.org_id):
            need_platform_admin(principal, "reading another organisation's audit entries")
        org_id = principal.org_id
    try:
        after = cursors.decode(q.after).seq if q.after else None
    except QueryError:
        raise BadRequest("after is not a `next` this server issued") from None
    async with atomic(pool) as conn:
        found = await audit.query(conn, org_id=org_id, action=q.action, since=q.since,
                                  until=q.until, after_seq=after, limit=q.limit + 1)
    more = len(found) > q.limit
    found = found[: q.limit]
    entries = []
    for e in found:
        # An org-admin learns what happened to its organisation, not which other
        # organisation did it (that could name a confidential group's managers).
        own = principal.is_platform_admin or e.actor_org == principal.org_id
        if e.actor_org is None:
            actor = "the platform's CLI"
        elif e.actor_org == principal.org_id:
            actor = "your organisation"
        else:
            actor = str(e.actor_org) if own else "another organisation"
        entries.append(api.AuditEntry(
            seq=e.seq if principal.is_platform_admin else None, at=e.at, action=e.action,
            org_id=e.org_id, subject=e.subject,
            actor_org=e.actor_org if own else None, actor_key=e.actor_key if own else None,
            actor=actor, details=e.details,
        ))
    last = found[-1] if more and found else None
    return api.AuditPage(entries=entries, next=cursors.encode(Cursor(last.at, last.seq))
                         if last is not None else None)


# --- privacy review -------------------------------------------------------------------------

Db = asyncpg.Pool | asyncpg.Connection


def _held(row: review.HeldRow) -> dict:
    return {"id": row.id, "stix_id": row.stix_id, "version": row.version,
            "collection_id": row.collection_id, "producer_org": row.producer_org,
            "status_id": row.status_id, "held": row.held, "deadline": row.deadline,
            "findings": [api.ReviewFinding(**f) for f in row.findings]}


async def review_queue(pool: Db, principal: Principal, q: api.ReviewQuery
                       ) -> api.HeldList:
    """The review queue the caller may decide (its own organisation's; every one for
    platform admins)."""
    rows = await review.list_held(pool, principal, q.limit)
    return api.HeldList(objects=[api.HeldObject(**_held(r)) for r in rows])


async def review_show(pool: Db, principal: Principal, held_id: uuid.UUID
                      ) -> api.HeldObjectDetail:
    """One held object with its body as posted."""
    row = await review.show_held(pool, principal, held_id)
    return api.HeldObjectDetail(**_held(row), object=orjson.loads(row.body or "{}"))


async def review_decide(pool: Db, principal: Principal, held_id: uuid.UUID,
                        decision: str, reason: str) -> api.ReviewDecision:
    """Release, redact or reject a held object."""
    done = await review.decide(pool, principal, held_id, decision, reason)
    return api.ReviewDecision(id=done.held_id, decision=done.decision, stix_id=done.stix_id,
                              status_id=done.status_id, stored_version=done.stored_version,
                              message=done.message)
