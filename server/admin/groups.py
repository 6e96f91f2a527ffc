"""Admin API: trust groups, their policy, managers, members and invitations."""

from __future__ import annotations

from aiohttp import web

from schemas import admin as api
from server.admin import service
from server.db.pool import POOL
from server.web.auth import principal_of
from server.web.json_api import body, respond
from server.web.params import uuid_segment
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
routes = admin.table

_MEMBER = "any key of a member organisation, or platform-admin"
_MANAGER = "org-admin of a manager organisation, or platform-admin"
_ORG_ADMIN = "org-admin of the caller's organisation"


def _group_id(request: web.Request) -> object:
    return uuid_segment(request, "group_id", "trust group")


@admin.route("GET", "/groups", role="any key (a platform admin sees all)",
             response=api.GroupList, errors=(401,))
async def list_groups(request: web.Request) -> web.Response:
    """List the trust groups of the caller's organisation (every group for a platform admin)."""
    return respond(await service.list_groups(request.app[POOL], principal_of(request)))


@admin.route("POST", "/groups", role="org-admin (becomes its manager) or platform-admin",
             request=api.GroupCreate, response=api.GroupDetail, status=201,
             errors=(401, 403, 404, 409))
async def create_group(request: web.Request) -> web.Response:
    """Create a trust group with its policy."""
    req = await body(request, api.GroupCreate)
    made = await service.create_group(request.app[POOL], principal_of(request), req)
    return respond(made, 201)


@admin.route("GET", "/groups/{group_id}", role=_MEMBER, response=api.GroupDetail)
async def get_group(request: web.Request) -> web.Response:
    """Show a trust group; its roster only where the caller may see it."""
    return respond(await service.get_group(request.app[POOL], principal_of(request),
                                           _group_id(request)))


@admin.route("PATCH", "/groups/{group_id}", role=_MANAGER, request=api.GroupPatch,
             response=api.GroupDetail, errors=(401, 403, 404, 409))
async def change_group(request: web.Request) -> web.Response:
    """Change a trust group's name, description and policy (409: another group has the name)."""
    group_id = _group_id(request)
    req = await body(request, api.GroupPatch)
    return respond(await service.change_group(request.app[POOL], principal_of(request),
                                              group_id, req))


@admin.route("DELETE", "/groups/{group_id}", role=_MANAGER, response=None, status=204,
             errors=(401, 403, 404, 409))
async def delete_group(request: web.Request) -> web.Response:
    """Delete a trust group that has no collections (409 names the archive call otherwise)."""
    await service.delete_group(request.app[POOL], principal_of(request), _group_id(request))
    return respond(None)


@admin.route("POST", "/groups/{group_id}/archive", role=_MANAGER, request=api.Empty,
             response=api.GroupDetail)
async def archive_group(request: web.Request) -> web.Response:
    """Archive a trust group with its collections: readable, closed to posts and members."""
    group_id = _group_id(request)
    await body(request, api.Empty, optional=True)
    return respond(await service.archive_group(request.app[POOL], principal_of(request),
                                               group_id))


@admin.route("GET", "/groups/{group_id}/members", role=_MEMBER, response=api.MemberList)
async def list_members(request: web.Request) -> web.Response:
    """List members; in a confidential group a plain member sees only its own membership."""
    return respond(await service.list_members(request.app[POOL], principal_of(request),
                                              _group_id(request)))


@admin.route("POST", "/groups/{group_id}/members", role="platform-admin",
             request=api.OrgReference, response=api.Membership, status=201,
             errors=(401, 403, 404, 409))
async def add_member(request: web.Request) -> web.Response:
    """Add an organisation directly, without an invitation."""
    group_id = _group_id(request)
    req = await body(request, api.OrgReference)
    made = await service.add_member(request.app[POOL], principal_of(request), group_id, req)
    return respond(made, 201)


@admin.route("DELETE", "/groups/{group_id}/members/{org_id}", role=_MANAGER, response=None,
             status=204, errors=(401, 403, 404, 409))
async def remove_member(request: web.Request) -> web.Response:
    """Remove a member organisation; its keys lose access at once."""
    group_id = _group_id(request)
    org_id = uuid_segment(request, "org_id", "member")
    await service.remove_member(request.app[POOL], principal_of(request), group_id, org_id)
    return respond(None)


@admin.route("POST", "/groups/{group_id}/managers", role=_MANAGER, request=api.OrgReference,
             response=api.Membership, errors=(401, 403, 404, 409))
async def add_manager(request: web.Request) -> web.Response:
    """Make a member organisation a manager of the group."""
    group_id = _group_id(request)
    req = await body(request, api.OrgReference)
    return respond(await service.add_manager(request.app[POOL], principal_of(request),
                                             group_id, req))


@admin.route("POST", "/groups/{group_id}/leave", role=_ORG_ADMIN + " (a member)",
             request=api.Empty, response=None, status=204, errors=(401, 403, 404, 409))
async def leave_group(request: web.Request) -> web.Response:
    """The caller's organisation leaves the group."""
    group_id = _group_id(request)
    await body(request, api.Empty, optional=True)
    await service.leave_group(request.app[POOL], principal_of(request), group_id)
    return respond(None)


@admin.route("POST", "/groups/{group_id}/invitations", role=_MANAGER, request=api.OrgReference,
             response=api.Invitation, status=201, errors=(401, 403, 404, 409))
async def invite(request: web.Request) -> web.Response:
    """Invite an organisation; its sector must be among the allowed ones, if set."""
    group_id = _group_id(request)
    req = await body(request, api.OrgReference)
    made = await service.invite(request.app[POOL], principal_of(request), group_id, req)
    return respond(made, 201)


@admin.route("GET", "/groups/{group_id}/invitations", role=_MANAGER,
             response=api.InvitationList)
async def group_invitations(request: web.Request) -> web.Response:
    """List a group's invitations in every state."""
    return respond(await service.group_invitations(request.app[POOL], principal_of(request),
                                                   _group_id(request)))


@admin.route("GET", "/invitations", role=_ORG_ADMIN + ", or platform-admin (all)",
             response=api.InvitationList, errors=(401, 403))
async def my_invitations(request: web.Request) -> web.Response:
    """List the pending invitations of the caller's organisation."""
    return respond(await service.my_invitations(request.app[POOL], principal_of(request)))


@admin.route("POST", "/invitations/{group_id}/accept", role=_ORG_ADMIN + " (the invited one)",
             request=api.Empty, response=api.Invitation, errors=(401, 403, 404, 409))
async def accept(request: web.Request) -> web.Response:
    """Accept a pending invitation: the caller's organisation joins the group."""
    group_id = _group_id(request)
    await body(request, api.Empty, optional=True)
    return respond(await service.answer_invitation(request.app[POOL], principal_of(request),
                                                   group_id, accept=True))


@admin.route("POST", "/invitations/{group_id}/decline", role=_ORG_ADMIN + " (the invited one)",
             request=api.Empty, response=api.Invitation)
async def decline(request: web.Request) -> web.Response:
    """Decline a pending invitation."""
    group_id = _group_id(request)
    await body(request, api.Empty, optional=True)
    return respond(await service.answer_invitation(request.app[POOL], principal_of(request),
                                                   group_id, accept=False))
