"""The one visibility predicate: SQL twin of `policy.can_see`, used by every read."""

from __future__ import annotations

from schemas.principal import Principal
from server.store.query import Params


def visible(principal: Principal, p: Params, obj: str = "o") -> str:
    """SQL condition true for rows of `objects` (aliased `obj`) the principal may see.

    Membership is read live from group_members, so a removed member loses access at
    once, including in the middle of paging.
    """
    if principal.is_platform_admin:
        return "true"
    org = p(principal.org_id)
    return (
        f"({obj}.producer_org = {org} OR EXISTS ("
        f"SELECT 1 FROM collections vc JOIN group_members vm ON vm.group_id = vc.group_id"
        f" WHERE vc.id = {obj}.collection_id AND vm.org_id = {org}))"
    )


def member_of_collection(principal: Principal, p: Params, coll: str = "c") -> str:
    """SQL condition true when the principal's organisation is in the collection's group."""
    return (
        f"EXISTS (SELECT 1 FROM group_members cm WHERE cm.group_id = {coll}.group_id"
        f" AND cm.org_id = {p(principal.org_id)})"
    )
