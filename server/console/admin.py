"""Administration: users, API keys, trust groups and invitations, the audit log."""

from __future__ import annotations

import re
import uuid

from aiohttp import web
from pydantic import ValidationError

from schemas import admin as api
from schemas.principal import Principal, Role, Sector
from server.admin import service
from server.config import SETTINGS
from server.console.i18n import N_
from server.console.pages import (
    ROOT,
    field,
    form_of,
    not_found,
    page,
    redirect,
    render,
    session_of,
    table,
)
from server.console.views import TLP_LABELS
from server.db.pool import POOL
from server.errors import BadRequest, Forbidden
from server.store import audit, console, users
from server.web.auth import forget_keys
from server.web.cursors import CURSORS

routes = table()
_INVITE_HOURS = 72
_ROLES = [r.value for r in Role]


def _uuid(request: web.Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise not_found() from None


@routes.get(ROOT + "admin")
@page(role=Role.ORG_ADMIN)
async def overview(request: web.Request) -> web.Response:
    """The organisation's users and keys."""
    principal = session_of(request).principal
    pool = request.app[POOL]
    async with pool.acquire() as conn:
        people = await users.list_users(conn, principal.org_id)
        totp = await users.requires_totp(conn, principal.org_id)
    keys = await service.list_keys(pool, principal, principal.org_id)
    return render(request, "admin.html", users=people, keys=keys.keys, roles=_ROLES,
                  require_totp=totp, invite_link=None, token=None)


@routes.post(ROOT + "admin/users")
@page(role=Role.ORG_ADMIN)
async def invite_user(request: web.Request) -> web.Response:
    """Invite a person: the one-time link is shown once, to pass on."""
    principal = session_of(request).principal
    role = field(request, "role", limit=20)
    if role not in _ROLES or not principal.has_role(Role(role)):
        raise Forbidden("you may not give a role above your own")
    email = field(request, "email", limit=254)
    if "@" not in email:
        raise BadRequest("the address needs an @")
    name = field(request, "display_name", limit=200)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        user, token = await users.invite_user(conn, principal.org_id, email, name, role,
                                              _INVITE_HOURS)
        await audit.record(conn, [audit.entry(principal, "user.invited", principal.org_id,
                                              str(user.id), email=email, role=role)])
        people = await users.list_users(conn, principal.org_id)
        totp = await users.requires_totp(conn, principal.org_id)
    keys = await service.list_keys(request.app[POOL], principal, principal.org_id)
    public = request.app[SETTINGS].public_url or f"{request.scheme}://{request.host}"
    return render(request, "admin.html", users=people, keys=keys.keys, roles=_ROLES,
                  require_totp=totp, invite_link=f"{public.rstrip('/')}{ROOT}invite/{token}",
                  token=None)


@routes.post(ROOT + "admin/users/{user_id}/revoke")
@page(role=Role.ORG_ADMIN)
async def revoke_user(request: web.Request) -> web.Response:
    """Revoke an account: its sessions end at once."""
    principal = session_of(request).principal
    user_id = _uuid(request, "user_id")
    async with request.app[POOL].acquire() as conn, conn.transaction():
        user = await users.revoke_user(
            conn, user_id, None if principal.is_platform_admin else principal.org_id)
        await audit.record(conn, [audit.entry(principal, "user.revoked", user.org_id,
                                              str(user.id), email=user.email)])
    return redirect(ROOT + "admin")


@routes.post(ROOT + "admin/totp")
@page(role=Role.ORG_ADMIN)
async def require_totp(request: web.Request) -> web.Response:
    """Require (or stop requiring) a second factor of the organisation's users."""
    principal = session_of(request).principal
    required = form_of(request).get("require_totp") == "on"
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await users.set_requires_totp(conn, principal.org_id, required)
        await audit.record(conn, [audit.entry(principal, "org.totp_required", principal.org_id,
                                              str(principal.org_id), required=required)])
    return redirect(ROOT + "admin")


@routes.post(ROOT + "admin/keys")
@page(role=Role.ORG_ADMIN)
async def create_key(request: web.Request) -> web.Response:
    """Create an API key: its token is on this page only."""
    principal = session_of(request).principal
    try:
        req = api.KeyCreate(role=field(request, "role", limit=20))
    except ValidationError:
        raise BadRequest("unknown role") from None
    created = await service.create_key(request.app[POOL], principal, principal.org_id, req)
    async with request.app[POOL].acquire() as conn:
        people = await users.list_users(conn, principal.org_id)
        totp = await users.requires_totp(conn, principal.org_id)
    keys = await service.list_keys(request.app[POOL], principal, principal.org_id)
    return render(request, "admin.html", users=people, keys=keys.keys, roles=_ROLES,
                  require_totp=totp, invite_link=None, token=created.token)


@routes.post(ROOT + "admin/keys/{key_id}/revoke")
@page(role=Role.ORG_ADMIN)
async def revoke_key(request: web.Request) -> web.Response:
    """Revoke an API key at once."""
    principal = session_of(request).principal
    key_id = request.match_info["key_id"]
    if len(key_id) > 64:
        raise not_found()
    await service.revoke_key(request.app[POOL], principal, principal.org_id, key_id)
    forget_keys(request.app)
    return redirect(ROOT + "admin")


@routes.get(ROOT + "groups")
@page()
async def groups(request: web.Request) -> web.Response:
    """The organisation's trust groups and its pending invitations."""
    principal = session_of(request).principal
    found = await service.list_groups(request.app[POOL], principal)
    invitations = []
    if principal.has_role(Role.ORG_ADMIN):
        invitations = (await service.my_invitations(request.app[POOL], principal)).invitations
    return render(request, "groups.html", groups=found.groups, invitations=invitations)


@routes.post(ROOT + "groups/{group_id}/answer")
@page(role=Role.ORG_ADMIN)
async def answer(request: web.Request) -> web.Response:
    """Accept or decline the group's invitation of the organisation."""
    accept = form_of(request).get("answer") == "accept"
    await service.answer_invitation(request.app[POOL], session_of(request).principal,
                                    _uuid(request, "group_id"), accept)
    return redirect(ROOT + "groups")


@routes.get(ROOT + "groups/{group_id}")
@page()
async def group(request: web.Request) -> web.Response:
    """One group: policy, members and managers, invitations (for managers)."""
    principal = session_of(request).principal
    group_id = _uuid(request, "group_id")
    pool = request.app[POOL]
    detail = await service.get_group(pool, principal, group_id)
    invitations = None
    if detail.is_manager or principal.is_platform_admin:
        invitations = (await service.group_invitations(pool, principal, group_id)).invitations
    collections = (await service.group_collections(pool, principal, group_id)).collections
    return render(request, "group.html", group=detail, invitations=invitations,
                  collections=collections)


_RULES = {
    "receives": N_("receives"),
    "own": N_("receives (its own posts)"),
    "red-not-addressed": N_("RED not addressed to them"),
    "sector": N_("restricted to other sectors"),
    "other": N_("not visible to them"),
}


@routes.post(ROOT + "groups/{group_id}/preview")
@page()
async def preview_member(request: web.Request) -> web.Response:
    """Preview as a member: of what the manager sees in the group, how much a member
    receives, by TLP and by rule. Counts only, never the objects."""
    principal = session_of(request).principal
    group_id = _uuid(request, "group_id")
    pool = request.app[POOL]
    detail = await service.get_group(pool, principal, group_id)
    if not (detail.is_manager or principal.is_platform_admin):
        raise Forbidden("only the group's managers preview what its members receive")
    try:
        org_id = uuid.UUID(field(request, "member", limit=40))
    except ValueError:
        raise BadRequest("choose a member") from None
    member = next((m for m in detail.members or () if m.org_id == org_id), None)
    if member is None:
        raise not_found()
    as_member = Principal(key_id="preview", org_id=member.org_id, org_name=member.name,
                          sector=Sector(member.sector), role=Role.READER)
    async with pool.acquire() as conn:
        counts = await console.member_reach(conn, principal, as_member, group_id)
    received = sum(c.count for c in counts if c.rule in ("receives", "own"))
    return render(request, "preview.html", group=detail, member=member, counts=counts,
                  rules=_RULES, received=received, total=sum(c.count for c in counts),
                  tlp_labels=TLP_LABELS)


@routes.post(ROOT + "groups/{group_id}/invite")
@page(role=Role.ORG_ADMIN)
async def invite_org(request: web.Request) -> web.Response:
    """Invite an organisation (by name) into the group."""
    group_id = _uuid(request, "group_id")
    try:
        req = api.OrgReference(org=field(request, "org", limit=200))
    except ValidationError:
        raise BadRequest("name an organisation") from None
    await service.invite(request.app[POOL], session_of(request).principal, group_id, req)
    return redirect(f"{ROOT}groups/{group_id}")


def _day(value: str, name: str) -> str | None:
    """A YYYY-MM-DD filter as an ISO instant (UTC midnight), or None if empty."""
    if not value:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise BadRequest(f"{name} is a date: YYYY-MM-DD")
    return value + "T00:00:00Z"


@routes.get(ROOT + "audit")
@page(role=Role.ORG_ADMIN)
async def audit_log(request: web.Request) -> web.Response:
    """The audit log with filters (action, dates), oldest first, paged: the organisation's
    own for an org-admin, every entry for a platform admin."""
    principal = session_of(request).principal
    action = request.query.get("action", "").strip()[:100]
    since = request.query.get("since", "").strip()[:10]
    until = request.query.get("until", "").strip()[:10]
    after = request.query.get("after", "")
    try:
        q = api.AuditQuery(action=action or None, since=_day(since, "since"),
                           until=_day(until, "until"),
                           after=int(after) if after.isdigit() else None, limit=100)
    except ValidationError:
        raise BadRequest("the filters are not valid") from None
    found = await service.audit_query(request.app[POOL], principal, q, request.app[CURSORS])
    return render(request, "audit.html", entries=found.entries, next=found.next,
                  action=action, since=since, until=until)


@routes.post(ROOT + "groups/{group_id}/policy")
@page(role=Role.ORG_ADMIN)
async def change_policy(request: web.Request) -> web.Response:
    """Change a group's policy (its managers, platform admins)."""
    group_id = _uuid(request, "group_id")
    form = form_of(request)
    try:
        policy = api.GroupPolicyPatch(
            default_tlp=field(request, "default_tlp", limit=20),
            default_attribution=field(request, "default_attribution", limit=20),
            allow_anonymous=form.get("allow_anonymous") == "on",
            confidential_roster=form.get("confidential_roster") == "on",
            allowed_sectors=[s for s in form.getall("allowed_sectors", []) if isinstance(s, str)],
        )
        patch = api.GroupPatch(description=field(request, "description", required=False,
                                                 limit=2000) or None, policy=policy)
    except ValidationError as exc:
        raise BadRequest("the policy is not valid: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    await service.change_group(request.app[POOL], session_of(request).principal, group_id,
                               patch)
    return redirect(f"{ROOT}groups/{group_id}")


@routes.post(ROOT + "moderation")
@page(role=Role.PLATFORM_ADMIN)
async def moderate(request: web.Request) -> web.Response:
    """Withdraw an object's versions from a collection, or restore them (platform admins)."""
    try:
        collection_id = uuid.UUID(field(request, "collection", limit=40))
    except ValueError:
        raise BadRequest("name the collection") from None
    stix_id = field(request, "object", limit=300).lower()
    withdrawn = form_of(request).get("action") == "withdraw"
    await service.withdraw_object(request.app[POOL], session_of(request).principal,
                                  collection_id, stix_id, withdrawn)
    return redirect(ROOT + "audit?action=" + ("object.withdrawn" if withdrawn
                                              else "object.restored"))


@routes.get(ROOT + "orgs")
@page(role=Role.PLATFORM_ADMIN)
async def orgs(request: web.Request) -> web.Response:
    """Every organisation (platform admins)."""
    found = await service.list_orgs(request.app[POOL], session_of(request).principal)
    return render(request, "orgs.html", orgs=found.orgs, sectors=[s.value for s in Sector])


@routes.post(ROOT + "orgs")
@page(role=Role.PLATFORM_ADMIN)
async def create_org(request: web.Request) -> web.Response:
    """Create an organisation (platform admins)."""
    try:
        req = api.OrgCreate(name=field(request, "name", limit=200),
                            sector=field(request, "sector", limit=20))
    except ValidationError:
        raise BadRequest("name the organisation and choose its sector") from None
    await service.create_org(request.app[POOL], session_of(request).principal, req)
    return redirect(ROOT + "orgs")
