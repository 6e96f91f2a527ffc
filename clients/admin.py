"""A client of the Accord admin API (`/api/v1/`), as `accord admin --url ... --key ...` uses it.

Names given by a user (an organisation's or a trust group's) are resolved to ids through the
API itself, so the client sees exactly what its key may see.
"""

from __future__ import annotations

import uuid
from typing import TypeVar

import aiohttp
from pydantic import BaseModel

from clients.errors import ApiError
from schemas import admin as api

M = TypeVar("M", bound=BaseModel)


class AdminApiError(ApiError):
    """An error answer of the admin API; `description` is the server's explanation."""

    def __init__(self, status: int, description: str, title: str = "Error") -> None:
        super().__init__(status, title, description)
        self.args = (f"{status}: {description}",)
        self.status = status
        self.description = f"{description} (HTTP {status})"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class AdminClient:
    """Calls the admin API of one server with one API key."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self.session = session
        self.base = url.rstrip("/") + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def _call(self, method: str, path: str, model: type[M] | None,
                    body: BaseModel | None = None, params: dict[str, str] | None = None
                    ) -> M | None:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = body.model_dump_json(exclude_unset=True).encode()
            headers["Content-Type"] = "application/json"
        # Never follow redirects: they would carry the key to wherever they point.
        async with self.session.request(method, self.base + path, data=data, headers=headers,
                                        params=params, allow_redirects=False) as resp:
            raw = await resp.read()
            if resp.status >= 300:
                try:
                    error = api.ErrorBody.model_validate_json(raw)
                    description, title = error.description or "", error.title or "Error"
                except ValueError:
                    description, title = raw[:200].decode(errors="replace"), "Error"
                raise AdminApiError(resp.status, description, title)
            return model.model_validate_json(raw) if model is not None else None

    # --- name resolution ---------------------------------------------------------------------

    async def org_id(self, ref: str) -> uuid.UUID:
        """The id of an organisation this key may see, by id or name."""
        orgs = (await self.list_orgs()).orgs
        for org in orgs:
            if ref in (str(org.id), org.name):
                return org.id
        raise AdminApiError(404, f"no organisation {ref!r} visible to this key")

    async def group_id(self, ref: str) -> uuid.UUID:
        """The id of a trust group this key's organisation belongs to, by id or name."""
        if _is_uuid(ref):
            return uuid.UUID(ref)
        # Names are labels (unique only among one organisation's groups): two visible groups
        # may share one, and then only the id says which is meant.
        found = [g.id for g in (await self.list_groups()).groups if g.name == ref]
        if len(found) > 1:
            raise AdminApiError(409, f"several trust groups are named {ref!r}: give the"
                                " group's id (accord admin group list shows them)")
        if found:
            return found[0]
        raise AdminApiError(404, f"no trust group {ref!r} visible to this key")

    async def member_id(self, group: uuid.UUID, ref: str) -> uuid.UUID:
        """The id of a member of a group, by id or name (needs the roster)."""
        if _is_uuid(ref):
            return uuid.UUID(ref)
        for member in (await self.members(group)).members:
            if member.name == ref:
                return member.org_id
        raise AdminApiError(404, f"no member {ref!r} visible to this key")

    # --- operations --------------------------------------------------------------------------

    async def list_orgs(self) -> api.OrgList:
        """GET /orgs."""
        return await self._call("GET", "/orgs", api.OrgList)

    async def create_org(self, req: api.OrgCreate) -> api.Org:
        """POST /orgs."""
        return await self._call("POST", "/orgs", api.Org, req)

    async def list_keys(self, org: uuid.UUID) -> api.KeyList:
        """GET /orgs/{id}/keys."""
        return await self._call("GET", f"/orgs/{org}/keys", api.KeyList)

    async def create_key(self, org: uuid.UUID, req: api.KeyCreate) -> api.KeyCreated:
        """POST /orgs/{id}/keys."""
        return await self._call("POST", f"/orgs/{org}/keys", api.KeyCreated, req)

    async def revoke_key(self, org: uuid.UUID, key_id: str) -> api.Key:
        """DELETE /orgs/{id}/keys/{key_id}."""
        return await self._call("DELETE", f"/orgs/{org}/keys/{key_id}", api.Key)

    async def list_groups(self) -> api.GroupList:
        """GET /groups."""
        return await self._call("GET", "/groups", api.GroupList)

    async def create_group(self, req: api.GroupCreate) -> api.GroupDetail:
        """POST /groups."""
        return await self._call("POST", "/groups", api.GroupDetail, req)

    async def group(self, group: uuid.UUID) -> api.GroupDetail:
        """GET /groups/{id}."""
        return await self._call("GET", f"/groups/{group}", api.GroupDetail)

    async def change_group(self, group: uuid.UUID, req: api.GroupPatch) -> api.GroupDetail:
        """PATCH /groups/{id}."""
        return await self._call("PATCH", f"/groups/{group}", api.GroupDetail, req)

    async def delete_group(self, group: uuid.UUID) -> None:
        """DELETE /groups/{id} (a group without collections)."""
        await self._call("DELETE", f"/groups/{group}", None)

    async def archive_group(self, group: uuid.UUID) -> api.GroupDetail:
        """POST /groups/{id}/archive."""
        return await self._call("POST", f"/groups/{group}/archive", api.GroupDetail)

    async def members(self, group: uuid.UUID) -> api.MemberList:
        """GET /groups/{id}/members."""
        return await self._call("GET", f"/groups/{group}/members", api.MemberList)

    async def add_member(self, group: uuid.UUID, org: str) -> api.Membership:
        """POST /groups/{id}/members (platform-admin)."""
        return await self._call("POST", f"/groups/{group}/members", api.Membership,
                                api.OrgReference(org=org))

    async def add_manager(self, group: uuid.UUID, org: str) -> api.Membership:
        """POST /groups/{id}/managers."""
        return await self._call("POST", f"/groups/{group}/managers", api.Membership,
                                api.OrgReference(org=org))

    async def remove_member(self, group: uuid.UUID, org: uuid.UUID) -> None:
        """DELETE /groups/{id}/members/{org_id}."""
        await self._call("DELETE", f"/groups/{group}/members/{org}", None)

    async def leave(self, group: uuid.UUID) -> None:
        """POST /groups/{id}/leave."""
        await self._call("POST", f"/groups/{group}/leave", None)

    async def invite(self, group: uuid.UUID, org: str) -> api.Invitation:
        """POST /groups/{id}/invitations."""
        return await self._call("POST", f"/groups/{group}/invitations", api.Invitation,
                                api.OrgReference(org=org))

    async def group_invitations(self, group: uuid.UUID) -> api.InvitationList:
        """GET /groups/{id}/invitations."""
        return await self._call("GET", f"/groups/{group}/invitations", api.InvitationList)

    async def invitations(self) -> api.InvitationList:
        """GET /invitations."""
        return await self._call("GET", "/invitations", api.InvitationList)

    async def answer(self, group: uuid.UUID, accept: bool) -> api.Invitation:
        """POST /invitations/{group_id}/accept or /decline."""
        verb = "accept" if accept else "decline"
        return await self._call("POST", f"/invitations/{group}/{verb}", api.Invitation)

    async def collections(self, group: uuid.UUID) -> api.CollectionList:
        """GET /groups/{id}/collections."""
        return await self._call("GET", f"/groups/{group}/collections", api.CollectionList)

    async def create_collection(self, group: uuid.UUID,
                                req: api.CollectionCreate) -> api.CollectionInfo:
        """POST /groups/{id}/collections."""
        return await self._call("POST", f"/groups/{group}/collections", api.CollectionInfo, req)

    async def change_collection(self, collection: uuid.UUID,
                                req: api.CollectionPatch) -> api.CollectionInfo:
        """PATCH /collections/{id}."""
        return await self._call("PATCH", f"/collections/{collection}", api.CollectionInfo, req)

    async def archive_collection(self, collection: uuid.UUID) -> api.CollectionInfo:
        """POST /collections/{id}/archive."""
        return await self._call("POST", f"/collections/{collection}/archive",
                                api.CollectionInfo)

    async def withdraw_object(self, collection: uuid.UUID, stix_id: str,
                              withdrawn: bool) -> api.Withdrawal:
        """POST /collections/{id}/objects/{stix id}/withdraw (or /restore)."""
        action = "withdraw" if withdrawn else "restore"
        return await self._call("POST", f"/collections/{collection}/objects/{stix_id}/{action}",
                                api.Withdrawal)

    async def erase_object(self, stix_id: str, req: api.ErasureRequest) -> api.Erasure:
        """POST /objects/{stix id}/erase."""
        return await self._call("POST", f"/objects/{stix_id}/erase", api.Erasure, req)

    async def audit(self, q: api.AuditQuery) -> api.AuditPage:
        """GET /audit."""
        params = {k: str(v) if not hasattr(v, "isoformat") else v.isoformat()
                  for k, v in q.model_dump(exclude_none=True).items()}
        return await self._call("GET", "/audit", api.AuditPage, params=params)

    # --- privacy review ---------------------------------------------------------------------

    async def review_list(self, q: api.ReviewQuery) -> api.HeldList:
        """GET /review."""
        return await self._call("GET", "/review", api.HeldList, params={"limit": str(q.limit)})

    async def review_show(self, held_id: uuid.UUID) -> api.HeldObjectDetail:
        """GET /review/{held_id}."""
        return await self._call("GET", f"/review/{held_id}", api.HeldObjectDetail)

    async def review_decide(self, held_id: uuid.UUID, decision: str,
                            req: api.ReviewDecisionRequest) -> api.ReviewDecision:
        """POST /review/{held_id}/{decision}."""
        return await self._call("POST", f"/review/{held_id}/{decision}", api.ReviewDecision,
                                body=req)
