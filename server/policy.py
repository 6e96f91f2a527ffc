"""Sharing policy as pure functions: who may see, post and re-share what. No I/O.

DESIGN.md "Sharing policy". `server.store.visibility` builds the SQL twin of `can_see`;
the two must agree on every (reader, object) pair, and a differential test holds them to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from schemas.principal import Principal, Role, Sector
from schemas.tlp import TLP2_EXTENSION_ID, TLP_LEVELS, Tlp
from schemas.tlp import TLP2_ID_OF as _TLP2_ID

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


def tlp_of(marking_refs: tuple[str, ...] | list[str], default: Tlp,
           levels: Mapping[str, Tlp] | None = None) -> Tlp:
    """The TLP level an object's markings give it; unmarked objects take `default`.

    `levels` holds the levels that other marking-definitions (custom, IEP) declare.
    """
    found = [TLP_LEVELS.get(ref) or (levels.get(ref) if levels else None) for ref in marking_refs]
    declared = [level for level in found if level is not None]
    return most_restrictive(declared) if declared else default


# The TLP value spellings found in marking-definitions, onto TLP 2.0 (1.0's WHITE is CLEAR).
_TLP_NAMES = {
    "clear": Tlp.CLEAR, "white": Tlp.CLEAR, "green": Tlp.GREEN, "amber": Tlp.AMBER,
    "amber+strict": Tlp.AMBER_STRICT, "amber_strict": Tlp.AMBER_STRICT, "red": Tlp.RED,
}


def _tlp_value(value: object) -> Tlp:
    name = value.strip().lower().removeprefix("tlp:") if isinstance(value, str) else None
    level = _TLP_NAMES.get(name) if name is not None else None
    if level is None:
        raise Refusal(f"this marking-definition declares an unknown TLP level {value!r}",
                      "marking")
    return level


def declared_tlp(definition: Mapping[str, object]) -> Tlp | None:
    """The TLP level a marking-definition declares, or None if it declares none.

    Whatever its id: a TLP 1.0/2.0 id, the TLP 2.0 extension (`tlp_2_0`), `definition_type:
    tlp` (`definition.tlp`), or any extension stating a `tlp` (IEP 2.0). A TLP it states in
    a form no level is known for is refused (Refusal), never taken for no marking.
    """
    stix_id = definition.get("id")
    if isinstance(stix_id, str) and stix_id in TLP_LEVELS:
        return TLP_LEVELS[stix_id]
    levels = []
    inner = definition.get("definition")
    if definition.get("definition_type") == "tlp" and isinstance(inner, Mapping):
        levels.append(_tlp_value(inner.get("tlp")))
    extensions = definition.get("extensions")
    if isinstance(extensions, Mapping):
        for ext_id, ext in extensions.items():
            if not isinstance(ext, Mapping):
                continue
            if ext_id == TLP2_EXTENSION_ID or "tlp_2_0" in ext:
                levels.append(_tlp_value(ext.get("tlp_2_0")))
            elif "tlp" in ext:
                levels.append(_tlp_value(ext["tlp"]))
    return most_restrictive(levels) if levels else None


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
    sub: Submission, obj: dict, terms: Terms, recipient_orgs: dict[str, uuid.UUID],
    levels: Mapping[str, Tlp] | None = None, reserved: Mapping[str, uuid.UUID] | None = None,
) -> Decision:
    """Apply the submission policy to one valid object, or raise Refusal.

    `levels`: the TLP levels declared by the non-TLP marking-definitions the object names;
    `reserved`: the reserved ids (identities of organisations, trust groups, the platform)
    that are not the poster's. created_by_ref is kept as posted unless it names one of
    those. The TLP marking is normalised to the single most restrictive TLP 2.0 id (the
    collection's default when unmarked); other markings are kept as data; withheld
    attribution replaces created_by_ref with the trust group's identity.
    """
    body = dict(obj)
    created_by = body.get("created_by_ref")
    if (created_by is not None and reserved and created_by in reserved
            and not sub.platform_admin):
        raise Refusal(
            "created_by_ref may name any author but another member organisation's identity,"
            " a trust group's or the platform's", "attribution",
        )
    withheld = (terms.attribution or sub.default_attribution) == "withheld"
    if withheld:
        if not sub.allow_anonymous:
            raise Refusal("this trust group does not accept posts with withheld attribution",
                          "attribution")
        body["created_by_ref"] = sub.group_identity

    markings = list(body.get("object_marking_refs") or [])
    tlp = tlp_of(markings, sub.default_tlp, levels)
    if "granular_markings" in body:
        # A TLP marking on one property restricts the whole object: it is stored and served
        # as one unit, so it goes only where its most restricted part may go.
        granular = [r for r in _granular_refs(body) if isinstance(r, str)]
        declared = [level for level in (TLP_LEVELS.get(r) or (levels or {}).get(r)
                                        for r in granular) if level is not None]
        if declared:
            tlp = most_restrictive([tlp, *declared])
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


@dataclass(frozen=True, slots=True)
class Copy:
    """A stored version (same id and version) that the poster can see."""

    identical: bool
    here: bool
    tlp: Tlp
    producer_org: uuid.UUID


_OWNED = ("in this trust group, versions of this object come only from the organisation"
          " that first posted it here")


def check_owner(sub: Submission, group_owner: uuid.UUID | None,
                copy: Copy | None = None) -> uuid.UUID | None:
    """The producer a version is stored under, None for a duplicate that stores nothing,
    or Refusal if the poster may not post it.

    Judged only on what the poster can read: the owner of the id in the collection's trust
    group (the first producer stored there) and a stored copy the poster can see. An
    identical copy in this collection is a TAXII duplicate; an identical CLEAR/GREEN copy
    from elsewhere is a re-share, stored under its producer; nobody posts into a group a
    version it received elsewhere under AMBER, AMBER+STRICT or RED.
    """
    if copy is not None and copy.identical and copy.here:
        return None
    if sub.platform_admin:
        return group_owner or sub.poster_org
    if (copy is not None and copy.identical and copy.tlp in RESHAREABLE
            and group_owner in (None, copy.producer_org)):
        return copy.producer_org
    if group_owner is not None and group_owner != sub.poster_org:
        raise Refusal(_OWNED + "; only identical TLP:CLEAR or TLP:GREEN versions may be"
                      " re-shared", "owner")
    if (copy is not None and not copy.here and copy.producer_org != sub.poster_org
            and copy.tlp not in RESHAREABLE):
        raise Refusal(
            f"this version was shared with you under TLP:{copy.tlp.value.upper()} in another"
            " trust group; such objects may not be re-shared into another group", "reshare",
        )
    return sub.poster_org


def strictest_copy(copies: list[StoredObject]) -> StoredObject:
    """Of the copies of an object a poster can see in one group, the one shared least widely
    (most restrictive TLP, then the one restricted to sectors): what a sighting is bound by."""
    return max(copies, key=lambda c: (_RESTRICTIVENESS[c.tlp], c.sectors is not None))


def bound_sighting(decision: Decision, indicator: StoredObject, sighter_org: uuid.UUID,
                   sighter_identity: str, group_identity: str) -> Decision:
    """A sighting shared no wider than the indicator copy it refers to (issue 12).

    Its TLP is raised to the indicator's, its sectors narrowed to the indicator's, and a
    TLP:RED sighting goes only to the indicator's readers (its recipients and producer).
    A withheld sighting names the trust group where it named the sighter as the place sighted.
    """
    body = decision.body
    tlp = most_restrictive([decision.tlp, indicator.tlp])
    if tlp is not decision.tlp:
        body = dict(body)
        body["object_marking_refs"] = [
            *(r for r in body.get("object_marking_refs") or () if r not in TLP_LEVELS),
            _TLP2_ID[tlp]]
    sectors = decision.sectors
    if indicator.sectors is not None:
        sectors = indicator.sectors if sectors is None else sectors & indicator.sectors
    recipients = decision.recipients
    if tlp is Tlp.RED:
        readers = indicator.recipients | {indicator.producer_org}
        recipients = (recipients & readers if decision.tlp is Tlp.RED
                      else readers - {sighter_org})
    where = body.get("where_sighted_refs")
    if decision.withheld and isinstance(where, list) and sighter_identity in where:
        body = dict(body)
        body["where_sighted_refs"] = [group_identity if r == sighter_identity else r
                                      for r in where]
    return Decision(body, tlp, sectors, frozenset(recipients), decision.withheld,
                    decision.remarked or body is not decision.body)
