"""The admin operations on the database itself, with the same surface as `clients.admin`.

`accord admin` without `--url` uses this: it acts as the platform (audit entries carry no
actor key) or, for the commands an organisation answers itself (leave, invitations), as the
org-admin of the organisation named with `--org`.
"""

from __future__ import annotations

import uuid

import asyncpg

from schemas import admin as api
from schemas.principal import Principal, Role, Sector
from server.admin import service
from server.config import Settings
from server.store import groups, keys, orgs
from server.web.cursors import cursor_codec


class LocalAdmin:
    """Admin operations through `server.admin.service` on one connection."""

    def __init__(self, conn: asyncpg.Connection, principal: Principal) -> None:
        self.conn = conn
        self.principal = principal

    @classmethod
    async def open(cls, conn: asyncpg.Connection, as_org: str | None = None) -> LocalAdmin:
        """The platform operator, or the org-admin of `as_org` (an id or a name)."""
        if as_org is None:
            return cls(conn, await service.local_operator(conn))
        org = await orgs.resolve_org(conn, as_org)
        return cls(conn, Principal(
            key_id=service.LOCAL_OPERATOR, org_id=org.id, org_name=org.name,
            sector=Sector(org.sector), role=Role.ORG_ADMIN, identity_id=org.identity_id,
        ))

    # --- name resolution ---------------------------------------------------------------------

    async def org_id(self, ref: str) -> uuid.UUID:
        """An organisation's id, by id or name."""
        return (await orgs.resolve_org(self.conn, ref)).id

    async def group_id(self, ref: str) -> uuid.UUID:
        """A trust group's id, by id or name."""
        try:
            return uuid.UUID(ref)
        except ValueError:
            return (await groups.group_by_name(self.conn, ref)).id

    async def member_id(self, group: uuid.UUID, ref: str) -> uuid.UUID:
        """A member's id, by id or name."""
        return await self.org_id(ref)

    async def key_org(self, key_id: str) -> uuid.UUID:
        """The organisation a key belongs to."""
        return await keys.key_org(self.conn, key_id)

    # --- operations --------------------------------------------------------------------------

    async def list_orgs(self) -> api.OrgList:
        return await service.list_orgs(self.conn, self.principal)

    async def create_org(self, req: api.OrgCreate) -> api.Org:
        return await service.create_org(self.conn, self.principal, req)

    async def list_keys(self, org: uuid.UUID) -> api.KeyList:
        return await service.list_keys(self.conn, self.principal, org)

    async def create_key(self, org: uuid.UUID, req: api.KeyCreate) -> api.KeyCreated:
        return await service.create_key(self.conn, self.principal, org, req)

    async def revoke_key(self, org: uuid.UUID, key_id: str) -> api.Key:
        return await service.revoke_key(self.conn, self.principal, org, key_id)

    async def list_groups(self) -> api.GroupList:
        return await service.list_groups(self.conn, self.principal)

    async def create_group(self, req: api.GroupCreate) -> api.GroupDetail:
        return await service.create_group(self.conn, self.principal, req)

    async def group(self, group: uuid.UUID) -> api.GroupDetail:
        return await service.get_group(self.conn, self.principal, group)

    async def change_group(self, group: uuid.UUID, req: api.GroupPatch) -> api.GroupDetail:
        return await service.change_group(self.conn, self.principal, group, req)

    async def delete_group(self, group: uuid.UUID) -> None:
        await service.delete_group(self.conn, self.principal, group)

    async def archive_group(self, group: uuid.UUID) -> api.GroupDetail:
        return await service.archive_group(self.conn, self.principal, group)

    async def members(self, group: uuid.UUID) -> api.MemberList:
        return await service.list_members(self.conn, self.principal, group)

    async def add_member(self, group: uuid.UUID, org: str) -> api.Membership:
        return await service.add_member(self.conn, self.principal, group,
                                        api.OrgReference(org=org))

    async def add_manager(self, group: uuid.UUID, org: str) -> api.Membership:
        return await service.add_manager(self.conn, self.principal, group,
                                         api.OrgReference(org=org))

    async def remove_member(self, group: uuid.UUID, org: uuid.UUID) -> None:
        await service.remove_member(self.conn, self.principal, group, org)

    async def leave(self, group: uuid.UUID) -> None:
        await service.leave_group(self.conn, self.principal, group)

    async def invite(self, group: uuid.UUID, org: str) -> api.Invitation:
        return await service.invite(self.conn, self.principal, group, api.OrgReference(org=org))

    async def group_invitations(self, group: uuid.UUID) -> api.InvitationList:
        return await service.group_invitations(self.conn, self.principal, group)

    async def invitations(self) -> api.InvitationList:
        return await service.my_invitations(self.conn, self.principal)

    async def answer(self, group: uuid.UUID, accept: bool) -> api.Invitation:
        return await service.answer_invitation(self.conn, self.principal, group, accept)

    async def collections(self, group: uuid.UUID) -> api.CollectionList:
        return await service.group_collections(self.conn, self.principal, group)

    async def create_collection(self, group: uuid.UUID,
                                req: api.CollectionCreate) -> api.CollectionInfo:
        return await service.create_collection(self.conn, self.principal, group, req)

    async def change_collection(self, collection: uuid.UUID,
                                req: api.CollectionPatch) -> api.CollectionInfo:
        return await service.change_collection(self.conn, self.principal, collection, req)

    async def archive_collection(self, collection: uuid.UUID) -> api.CollectionInfo:
        return await service.archive_collection(self.conn, self.principal, collection)

    async def withdraw_object(self, collection: uuid.UUID, stix_id: str,
                              withdrawn: bool) -> api.Withdrawal:
        return await service.withdraw_object(self.conn, self.principal, collection, stix_id,
                                             withdrawn)

    async def erase_object(self, stix_id: str, req: api.ErasureRequest) -> api.Erasure:
        return await service.erase_object(self.conn, self.principal, stix_id, req)

    async def audit(self, q: api.AuditQuery) -> api.AuditPage:
        cursors = await cursor_codec(self.conn, Settings.from_env())
        return await service.audit_query(self.conn, self.principal, q, cursors)

    # --- privacy review ---------------------------------------------------------------------

    async def review_list(self, q: api.ReviewQuery) -> api.HeldList:
        """The review queue."""
        return await service.review_queue(self.conn, self.principal, q)

    async def review_show(self, held_id: uuid.UUID) -> api.HeldObjectDetail:
        """One held object with its body."""
        return await service.review_show(self.conn, self.principal, held_id)

    async def review_decide(self, held_id: uuid.UUID, decision: str,
                            req: api.ReviewDecisionRequest) -> api.ReviewDecision:
        """Release, redact or reject a held object."""
        return await service.review_decide(self.conn, self.principal, held_id, decision,
                                           req.reason)
