"""The one visibility predicate: the SQL twin of `policy.can_see`, used by every read."""

from __future__ import annotations

from schemas.principal import Principal
from server.store.query import Params

# Every organisation is a reader of the reference group (policy.Reader.groups includes it).
_REFERENCE_GROUP = "SELECT rg.id FROM trust_groups rg WHERE rg.is_reference"


def visible(principal: Principal, p: Params, obj: str = "o", *,
            but_withdrawn: bool = False) -> str:
    """SQL condition true for rows of `objects` (aliased `obj`) the principal may see.

    Clause for clause `policy.can_see`; membership is read live from group_members, so
    a removed member loses access at once, in the middle of paging too. `but_withdrawn`
    drops clause 4 only: rows the principal would see were they not withdrawn (a blocklist
    delta tells such a reader to remove their values, and nobody else).
    """
    org = p(principal.org_id)
    member = (
        "true" if principal.is_platform_admin
        else f"{obj}.group_id IN (SELECT gm.group_id FROM group_members gm"
             f" WHERE gm.org_id = {org} UNION ALL {_REFERENCE_GROUP})"
    )
    sector = (
        "true" if principal.is_platform_admin
        else f"({obj}.sectors IS NULL OR {p(principal.sector.value)} = ANY({obj}.sectors))"
    )
    live = "" if but_withdrawn else f"NOT {obj}.withdrawn AND "
    return (
        f"({live}({obj}.producer_org = {org} OR ({member}"
        f" AND ({obj}.tlp <> 'red' OR {org} = ANY({obj}.recipients)) AND {sector})))"
    )


def member_of_collection(principal: Principal, p: Params, coll: str = "c") -> str:
    """SQL condition true when the principal's organisation is in the collection's group."""
    return (
        f"({coll}.group_id IN ({_REFERENCE_GROUP}) OR EXISTS (SELECT 1 FROM group_members cm"
        f" WHERE cm.group_id = {coll}.group_id AND cm.org_id = {p(principal.org_id)}))"
    )
