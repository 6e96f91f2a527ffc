"""Who may do what in the admin API: checks that raise 404 for the unknowable, 403 naming the role.

Order matters: first whether the caller may know the thing exists (else NotFound, worded
exactly as for an unknown id), then whether its key has the role (else Forbidden).
"""

from __future__ import annotations

from schemas.principal import Principal, Role
from server.errors import Forbidden, NotFound
from server.store.records import GroupInfo, Org


def _forbidden(description: str, needed: str, **scope: str) -> Forbidden:
    return Forbidden(description, details={"needed_role": needed, **scope})


def need_platform_admin(principal: Principal, action: str) -> None:
    """Only platform admins may do `action`."""
    if not principal.is_platform_admin:
        raise _forbidden(f"{action} needs the platform-admin role", "platform-admin")


def need_org_admin(principal: Principal, org: Org, action: str = "this") -> None:
    """The org-admin of `org` or a platform admin; another organisation's keys get 404."""
    if principal.is_platform_admin:
        return
    if principal.org_id != org.id:
        raise NotFound("no such organisation")
    if not principal.has_role(Role.ORG_ADMIN):
        raise _forbidden(
            f"{action} needs the org-admin role of organisation {org.name!r} or platform-admin",
            "org-admin", org_id=str(org.id),
        )


def need_member(principal: Principal, group: GroupInfo, missing: str = "trust group") -> None:
    """Members and platform admins may know a group; to anyone else it does not exist."""
    if not (principal.is_platform_admin or group.is_member):
        raise NotFound(f"no such {missing}")


def need_manager(principal: Principal, group: GroupInfo, missing: str = "trust group") -> None:
    """The org-admin of a manager organisation of the group, or a platform admin."""
    need_member(principal, group, missing)
    if principal.is_platform_admin or (group.is_manager and principal.has_role(Role.ORG_ADMIN)):
        return
    raise _forbidden(
        f"this needs the org-admin role of a manager organisation of trust group"
        f" {group.name!r}, or platform-admin", "org-admin", group_id=str(group.id),
    )


def roster_visible(principal: Principal, group: GroupInfo) -> bool:
    """Whether the caller may see who else is in the group (MISP/MISP#10885)."""
    return principal.is_platform_admin or group.is_manager or not group.confidential_roster
