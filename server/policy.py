"""Sharing policy as pure functions: who may see, post and re-share what. No I/O.

DESIGN.md "Sharing policy". `server.store.visibility` builds the SQL twin of `can_see`;
the two must agree on every (reader, object) pair, and a differential test holds them to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from schemas.principal import Principal, Role, Sector
from schemas.tlp import TLP2_ID_OF as _TLP2_ID
from schemas.tlp import TLP_LEVELS, Tlp

_RESTRICTIVENESS = {level: rank for rank, level in enumerate(Tlp)}
RESHAREABLE = frozenset({Tlp.CLEAR, Tlp.GREEN})


@dataclass(frozen=True, slots=True)
class Reader:
    """What the policy needs to know of a reader."""

    org_id: uuid.UUID
    sector: Sector
    groups: frozenset[uuid.UUID]
    platform_admin: bool = False


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What the policy needs to know of one stored object version."""

    group_id: uuid.UUID
    producer_org: uuid.UUID
    tlp: Tlp = Tlp.AMBER
    sectors: frozenset[Sector] | None = None
    recipients: frozenset[uuid.UUID] = field(default_factory=frozenset)
    withdrawn: bool = False


def can_see(reader: Reader, obj: StoredObject) -> bool:
    """Whether the reader may see this object version.

    Every clause must admit the reader (never "any one marking matches"). Producers see
    their own versions; platform admins pass membership and sectors but not TLP:RED.
    """
    if obj.withdrawn:
        return False
    if obj.producer_org == reader.org_id:
        return True
    if not (reader.platform_admin or obj.group_id in reader.groups):
        return False
    if obj.tlp is Tlp.RED and reader.org_id not in obj.recipients:
        return False
    return reader.platform_admin or obj.sectors is None or reader.sector in obj.sectors


def most_restrictive(levels: list[Tlp]) -> Tlp:
    """The most restrictive of several TLP levels (conflicting markings)."""
    return max(levels, key=_RESTRICTIVENESS.__getitem__)


def tlp_of(marking_refs: tuple[str, ...] | list[str], default: Tlp) -> Tlp:
    """The TLP level an object's markings give it; unmarked objects take `default`."""
    levels = [TLP_LEVELS[ref] for ref in marking_refs if ref in TLP_LEVELS]
    return most_restrictive(levels) if levels else default


def can_read_collection(principal: Principal, is_member: bool) -> bool:
    """Members of the collection's trust group read it; platform admins read everything."""
    return is_member or principal.is_platform_admin


def can_write_collection(principal: Principal, is_member: bool, archived: bool = False) -> bool:
    """Contributors (and above) of a member organisation post to a live collection."""
    return (
        not archived
        and can_read_collection(principal, is_member)
        and principal.has_role(Role.CONTRIBUTOR)
    )


def can_delete(principal: Principal, producer_org: uuid.UUID) -> bool:
    """Only the producer's contributors (and above) or a platform admin delete versions."""
    if principal.is_platform_admin:
        return True
    return producer_org == principal.org_id and principal.has_role(Role.CONTRIBUTOR)


class Refusal(Exception):
    """The submission policy refuses one object; the message says why, to its poster."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Submission:
    """One POST: who posts, into which trust group, and the defaults that apply."""

    poster_org: uuid.UUID
    poster_identity: str
    platform_admin: bool
    group_id: uuid.UUID
    group_identity: str
    allow_anonymous: bool
    default_tlp: Tlp
    default_attribution: str


@dataclass(frozen=True, slots=True)
class Terms:
    """Sharing terms an object states through the Accord extension (None: not stated)."""

    attribution: str | None = None
    sectors: frozenset[Sector] | None = None
    recipients: tuple[str, ...] | None = None


@dataclass(slots=True)  # one per ingested object: not frozen, it is cheaper to build
class Decision:
    """What a submitted object becomes when stored."""

    body: dict
    tlp: Tlp
    sectors: frozenset[Sector] | None
    recipients: frozenset[uuid.UUID]
    withheld: bool
    remarked: bool


def _granular_refs(body: dict) -> list[object]:
    return [g.get("marking_ref") for g in body.get("granular_markings") or ()
            if isinstance(g, dict)]


def decide(
    sub: Submission, obj: dict, terms: Terms, recipient_orgs: dict[str, uuid.UUID]
) -> Decision:
    """Apply the submission policy to one valid object, or raise Refusal.

    The TLP marking is normalised to the single most restrictive TLP 2.0 id (the
    collection's default when unmarked); withheld attribution replaces created_by_ref
    with the trust group's identity.
    """
    body = dict(obj)
    created_by = body.get("created_by_ref")
    if created_by is not None and created_by != sub.poster_identity and not sub.platform_admin:
        raise Refusal(
            "created_by_ref may name only your own organisation's identity"
            f" ({sub.poster_identity})", "attribution",
        )
    withheld = (terms.attribution or sub.default_attribution) == "withheld"
    if withheld:
        if not sub.allow_anonymous:
            raise Refusal("this trust group does not accept posts with withheld attribution",
                          "attribution")
        body["created_by_ref"] = sub.group_identity

    markings = list(body.get("object_marking_refs") or [])
    tlp = tlp_of(markings, sub.default_tlp)
    if "granular_markings" in body:
        # A TLP marking on one property restricts the whole object: it is stored and served
        # as one unit, so it goes only where its most restricted part may go.
        granular = [TLP_LEVELS[ref] for ref in _granular_refs(body) if ref in TLP_LEVELS]
        tlp = most_restrictive([tlp, *granular])
    others = [ref for ref in markings if ref not in TLP_LEVELS]
    normalised = [*others, _TLP2_ID[tlp]]
    remarked = normalised != markings
    body["object_marking_refs"] = normalised

    recipients: frozenset[uuid.UUID] = frozenset()
    if tlp is Tlp.RED:
        if not terms.recipients:
            raise Refusal("a TLP:RED object must name its recipients in the Accord extension",
                          "recipients")
        unknown = [r for r in terms.recipients if r not in recipient_orgs]
        if unknown:
            raise Refusal(f"recipient {unknown[0]} is not a member organisation", "recipients")
        recipients = frozenset(recipient_orgs[r] for r in terms.recipients)
    elif terms.recipients:
        raise Refusal("recipients apply only to TLP:RED objects", "recipients")
    return Decision(body, tlp, terms.sectors, recipients, withheld, remarked)


def check_owner(
    sub: Submission, owner: uuid.UUID | None, identical_reshare: Tlp | None,
    *, already_here: bool = False,
) -> uuid.UUID:
    """The producer a version is stored under, or Refusal if the poster may not post it.

    Versions belong to the organisation that first posted the id. Another organisation
    may only re-share an identical stored CLEAR or GREEN version (`identical_reshare` is
    that version's level), which stays its producer's. An identical copy of a version the
    poster can see in this very collection (`already_here`) is a TAXII duplicate: a
    success that stores nothing, whatever its level.
    """
    if owner is None or owner == sub.poster_org or sub.platform_admin:
        return owner or sub.poster_org
    if identical_reshare is not None and already_here:
        return owner
    if identical_reshare in RESHAREABLE:
        return owner
    raise Refusal(
        "versions of this object belong to the organisation that first posted it;"
        " only identical TLP:CLEAR or TLP:GREEN versions may be re-shared", "owner",
    )
