"""Admin JSON API payloads (`/api/v1/`): organisations, API keys, trust groups, collections, audit.

Requests are strict (unknown fields refused); the OpenAPI 3.1 document served at
`/api/v1/openapi.json` is generated from these models and the admin route table.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)

from schemas.feeds import TLP1_MARKINGS, ObservableKind
from schemas.principal import Role, Sector
from schemas.tlp import Tlp

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join([  # RFC 4291 2.2 text forms, without the embedded IPv4 one
    f"({_H}:){{7}}{_H}", f"({_H}:){{1,7}}:", f"({_H}:){{1,6}}:{_H}",
    f"({_H}:){{1,5}}(:{_H}){{1,2}}", f"({_H}:){{1,4}}(:{_H}){{1,3}}",
    f"({_H}:){{1,3}}(:{_H}){{1,4}}", f"({_H}:){{1,2}}(:{_H}){{1,5}}",
    f"{_H}:(:{_H}){{1,6}}", f":((:{_H}){{1,7}}|:)"])
# The schema states the whole syntax, so a generated or hand-written value the schema
# admits is one the server takes.
CIDR_PATTERN = (rf"^(({_OCTET}\.){{3}}{_OCTET}(/(3[0-2]|[12]?[0-9]))?"
                rf"|({_IPV6})(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$")


def _cidr(value: object) -> IPv4Network | IPv6Network:
    # Text only (pydantic's network type reads `true` as 0.0.0.1/32); host bits are
    # dropped, as a range is meant: 10.20.3.4/16 is 10.20.0.0/16.
    if not isinstance(value, str) or not re.fullmatch(CIDR_PATTERN, value):
        raise ValueError("a CIDR range, e.g. 10.20.0.0/16 or 2001:db8:aa::/48")
    return ip_network(value, strict=False)


Cidr = Annotated[
    IPv4Network | IPv6Network, PlainValidator(_cidr), PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": CIDR_PATTERN, "maxLength": 49}),
]

Attribution = Literal["credited", "withheld"]
PrivacyPolicy = Literal["pass", "hold", "refuse"]
WarninglistPolicy = Literal["warn", "refuse"]
# A decay half-life in days: an hour at least, a hundred years at most.
HalfLife = Annotated[float, Field(ge=1 / 24, le=36500, allow_inf_nan=False)]
WARNINGLIST_POLICY = ("What an indicator with a value on a shipped warninglist becomes when"
                      " posted: `warn` (stored, with a warning in the status) or `refuse` (a"
                      " failure in the status, nothing stored).")
HALF_LIVES = ("The group's decay half-lives in days, by observable kind (ipv4, ipv6, domain,"
              " url, email, md5, sha1, sha256); a kind not named takes the default (README:"
              " the decay score).")


def _not_clear(level: Tlp) -> Tlp:
    if level is Tlp.CLEAR:
        raise ValueError("an unmarked post never becomes TLP:CLEAR; choose green or stricter")
    return level


# DESIGN.md: unmarked objects take a default that is never CLEAR (only the poster may
# release an object to the world, by marking it so).
DefaultTlp = Annotated[
    Tlp, AfterValidator(_not_clear),
    WithJsonSchema({"type": "string", "enum": [t.value for t in Tlp if t is not Tlp.CLEAR]}),
]
# One line of text with something besides white space in it, stripped once valid. The rule
# is a pattern (not strip-then-count) so that the OpenAPI document states exactly what the
# server accepts; control characters (NUL above all: PostgreSQL refuses it) are refused.
_ONE_LINE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
# Free text: anything but NUL.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_ONE_LINE),
                 AfterValidator(str.strip)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=_ONE_LINE),
                  AfterValidator(str.strip)]
Description = Annotated[str, StringConstraints(max_length=4000, pattern=NO_NUL)]
OrgRef = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=_ONE_LINE),
    AfterValidator(str.strip), Field(description="An organisation's id or its exact name."),
]


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


class Empty(Request):
    """No fields: the body of an action, if one is sent at all, must be `{}`."""


class Response(BaseModel):
    """Base of response bodies."""

    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------


class ErrorBody(Response):
    """Every admin API error: the TAXII 2.1 error resource shape, served as application/json."""

    title: str = Field(description="Short human-readable summary.")
    description: str | None = Field(None, description="What went wrong and, often, what to do.")
    error_id: str | None = Field(None, description="The request id; quote it to the operator.")
    http_status: str = Field(description="The HTTP status code, as a string.")
    details: dict | None = Field(
        None, description="Machine-readable fields, e.g. validation errors or the needed role."
    )


# --- organisations --------------------------------------------------------------------------


class OrgCreate(Request):
    """Create an organisation (platform-admin)."""

    name: Name = Field(description="Unique display name.")
    sector: Sector = Field(description="The organisation's sector; sector releasability uses it.")


class Org(Response):
    """An organisation and the STIX identity its objects are attributed to."""

    id: uuid.UUID = Field(description="Organisation id.")
    name: str = Field(description="Unique display name.")
    sector: Sector = Field(description="Sector of the organisation.")
    identity_id: str = Field(description="STIX identity id (`identity--<uuid>`) of the org.")
    is_platform: bool = Field(description="Whether this is the platform operator's organisation.")


class OrgList(Response):
    """Organisations the caller may see: all for a platform admin, else its own."""

    orgs: list[Org] = Field(description="Organisations, by name.")


# --- API keys -------------------------------------------------------------------------------


class KeyCreate(Request):
    """Create an API key for an organisation."""

    role: Role = Field(description="What the key may do; an org-admin may not create a"
                                   " platform-admin key.")
    default_tlp: DefaultTlp | None = Field(
        None, description="TLP applied to this key's posts that carry none (null: collection's)."
    )
    default_attribution: Attribution | None = Field(
        None, description="Attribution of this key's posts when unstated (null: collection's)."
    )


class Key(Response):
    """An API key as listed: never its secret."""

    id: str = Field(description="Key id, the part of the token before the dot.")
    org_id: uuid.UUID = Field(description="Organisation the key speaks for.")
    role: Role = Field(description="Role of the key.")
    created: datetime = Field(description="When the key was created.")
    last_used: datetime | None = Field(description="Last use, to the minute; null if never.")
    revoked_at: datetime | None = Field(description="When it was revoked; null while live.")
    default_tlp: Tlp | None = Field(description="TLP default for this key's posts.")
    default_attribution: Attribution | None = Field(description="Attribution default.")


class KeyCreated(Key):
    """A key just created: the only response that ever carries its token."""

    token: str = Field(description="Bearer token `<key id>.<secret>`; shown once, store it now.")


class KeyList(Response):
    """An organisation's API keys, newest first, revoked ones included."""

    keys: list[Key] = Field(description="The keys.")


# --- trust groups ---------------------------------------------------------------------------


GROUP_RETENTION = ("Days its collections keep a version after it was added, unless a"
                   " collection sets its own; older versions and their sightings are purged."
                   " Null: kept.")


class GroupPolicy(Response):
    """The sharing policy of a trust group."""

    default_tlp: Tlp = Field(description="TLP of posts that carry none, unless the collection"
                                         " or key sets another.")
    default_attribution: Attribution = Field(
        description="Whether posts are attributed to their producer or to the group by default."
    )
    allow_anonymous: bool = Field(description="Whether producers may withhold attribution.")
    allowed_sectors: list[Sector] | None = Field(
        description="Sectors whose organisations may join; null: any sector."
    )
    confidential_roster: bool = Field(
        description="If true, only managers and platform admins see the member list."
    )
    retention_days: int | None = Field(None, description=GROUP_RETENTION)
    privacy_policy: PrivacyPolicy = Field(
        "pass", description="What a post the personal-data screen flags becomes: `pass` (shared,"
                            " the findings audited), `hold` (pending, in the review queue) or"
                            " `refuse`. Unless set, `hold` when the members are of more than"
                            " one sector, `pass` otherwise."
    )
    privacy_policy_set: bool = Field(
        False, description="Whether privacy_policy was set for the group (false: decided from"
                           " its members' sectors, and it changes as they do)."
    )
    privacy_reviewers: list[uuid.UUID] = Field(
        default_factory=list, description="Organisations whose org-admins review the group's"
                                          " held objects, besides the producer's."
    )
    victim_ranges: list[Cidr] = Field(
        default_factory=list, description="Address ranges the group marks as victim-side: an IP"
                                          " address in them in an observed-data or a sighting"
                                          " is a finding (`victim-ip-addr`)."
    )
    warninglist_policy: WarninglistPolicy = Field("warn", description=WARNINGLIST_POLICY)
    half_lives: dict[ObservableKind, float] = Field(default_factory=dict,
                                                    description=HALF_LIVES)


class GroupPolicyPatch(Request):
    """Policy fields to change; absent fields keep their value."""

    default_tlp: DefaultTlp | None = Field(None, description="New default TLP.")
    default_attribution: Attribution | None = Field(None, description="New default attribution.")
    allow_anonymous: StrictBool | None = Field(None, description="Allow withheld attribution.")
    allowed_sectors: list[Sector] | None = Field(
        None, description="Sectors that may join; an empty list means any sector."
    )
    confidential_roster: StrictBool | None = Field(
        None, description="Hide the roster from members."
    )
    retention_days: Annotated[StrictInt, Field(ge=1, le=36500)] | None = Field(
        None, description=GROUP_RETENTION)
    privacy_policy: PrivacyPolicy | Literal["default"] | None = Field(
        None, description="What flagged posts become: pass, hold or refuse; `default`: unset"
                          " (hold for members of more than one sector, else pass)."
    )
    privacy_reviewers: Annotated[list[uuid.UUID], Field(max_length=50)] | None = Field(
        None, description="Organisations whose org-admins may review held objects (replaces"
                          " the list; an empty list: the producer's org-admins only)."
    )
    victim_ranges: Annotated[list[Cidr], Field(max_length=200)] | None = Field(
        None, description="Victim-side address ranges, CIDR (replaces the list; empty: none)."
    )
    warninglist_policy: WarninglistPolicy | None = Field(None, description=WARNINGLIST_POLICY)
    half_lives: dict[ObservableKind, HalfLife] | None = Field(
        None, description=HALF_LIVES + " Replaces the group's; `{}`: the defaults.")


class GroupCreate(Request):
    """Create a trust group.

    An org-admin's organisation becomes its first member and manager; a platform admin
    may name the first members and managers instead.
    """

    name: Name = Field(description="Name of the group, unlike those of the other groups the"
                       " caller's organisation is in (any group, for a platform admin).")
    description: Description | None = Field(None, description="What the group is for.")
    policy: GroupPolicyPatch | None = Field(None, description="Policy; defaults where absent.")
    members: list[OrgRef] = Field(
        default_factory=list, max_length=1000,
        description="First members (platform-admin only; others invite).",
    )
    managers: list[OrgRef] = Field(
        default_factory=list, max_length=1000,
        description="First managers, made members too (platform-admin only).",
    )


class GroupPatch(Request):
    """Change a group's name, description and policy (managers or platform admins)."""

    name: Name | None = Field(None, description="New name, unlike the caller's other groups'.")
    description: Description | None = Field(None, description="New description.")
    policy: GroupPolicyPatch | None = Field(None, description="Policy fields to change.")


class Membership(Response):
    """One member organisation of a trust group."""

    org_id: uuid.UUID = Field(description="Member organisation id.")
    name: str = Field(description="Member organisation name.")
    sector: Sector = Field(description="Member organisation sector.")
    is_manager: bool = Field(description="Whether it manages the group.")
    joined: datetime = Field(description="When it joined.")


class Group(Response):
    """A trust group as its members see it."""

    id: uuid.UUID = Field(description="Group id.")
    name: str = Field(description="Group name.")
    description: str | None = Field(description="What the group is for.")
    identity_id: str = Field(description="STIX identity served as created_by_ref of withheld"
                                         " posts.")
    policy: GroupPolicy = Field(description="Sharing policy.")
    created: datetime = Field(description="When the group was created.")
    is_member: bool = Field(description="Whether the caller's organisation is a member.")
    is_manager: bool = Field(description="Whether the caller's organisation manages it.")
    archived: bool = Field(False, description="Archived with its collections: readable, closed"
                                              " to posts, new collections and new members.")


class GroupDetail(Group):
    """A group with its roster where the caller may see it (else both are null)."""

    managers: list[Membership] | None = Field(
        description="Manager organisations; null when the roster is confidential to the caller."
    )
    members: list[Membership] | None = Field(
        description="Member organisations; null when the roster is confidential to the caller."
    )


class GroupList(Response):
    """Trust groups the caller belongs to (all of them for a platform admin)."""

    groups: list[Group] = Field(description="Groups, by name.")


class MemberList(Response):
    """A group's members, or only the caller's own membership if the roster is confidential."""

    members: list[Membership] = Field(description="Members, by name.")
    complete: bool = Field(description="False when only the caller's own membership is shown.")


class OrgReference(Request):
    """Names one organisation."""

    org: OrgRef


# --- invitations ----------------------------------------------------------------------------


class Invitation(Response):
    """An invitation of an organisation into a trust group (it never names who invited)."""

    group_id: uuid.UUID = Field(description="The inviting group.")
    group_name: str = Field(description="Its name.")
    group_description: str | None = Field(description="Its description.")
    policy: GroupPolicy = Field(description="The policy the organisation would accept.")
    org_id: uuid.UUID = Field(description="The invited organisation.")
    org_name: str = Field(description="Its name.")
    state: Literal["pending", "accepted", "declined"] = Field(description="Where it stands.")
    created: datetime = Field(description="When it was sent.")
    decided: datetime | None = Field(description="When it was accepted or declined.")


class InvitationList(Response):
    """Invitations, oldest first."""

    invitations: list[Invitation] = Field(description="The invitations.")


# --- moderation -----------------------------------------------------------------------------


class Withdrawal(Response):
    """The outcome of withdrawing an object from a collection, or restoring it."""

    collection_id: uuid.UUID = Field(description="The collection.")
    object_id: str = Field(description="The STIX id whose versions changed.")
    versions: int = Field(description="How many stored versions the action applied to.")
    withdrawn: bool = Field(description="True: served to nobody; false: served again.")


class ErasureRequest(Request):
    """Erase an object: why (kept in the audit log; name the request, not the content)."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500,
                                             pattern=_ONE_LINE)] = Field(
        description="Why, e.g. 'data subject request DSR-2026-14' or 'posted by mistake'.")


class Erasure(Response):
    """What an erasure deleted: counts only, nothing of the content."""

    object_id: str = Field(description="The STIX id erased.")
    versions: int = Field(description="Stored versions deleted (every collection).")
    sightings: int = Field(description="Sightings of it deleted.")
    pending: int = Field(description="Copies deleted that were waiting for a decision"
                                     " (pending markings, privacy review, withheld release).")
    statuses: int = Field(description="Status resources the id was removed from.")


# --- collections ----------------------------------------------------------------------------


RETENTION = ("Days a version is kept after it was added; older versions and their sightings"
             " are purged (README, \"Retention and erasure\"). Null: the group's (none: kept).")
RetentionDays = Annotated[StrictInt, Field(ge=1, le=36500)]


class CollectionCreate(Request):
    """Create a collection in a trust group."""

    title: Title = Field(description="Title shown to TAXII clients.")
    description: Description | None = Field(None, description="Description for TAXII clients.")
    default_tlp: DefaultTlp | None = Field(None, description="Default TLP; null: the group's.")
    default_attribution: Attribution | None = Field(
        None, description="Default attribution; null: the group's."
    )
    allow_custom: StrictBool = Field(True, description="Accept custom x- types and x_ properties.")
    tlp1_markings: StrictBool = Field(False, description=TLP1_MARKINGS)


class CollectionPatch(Request):
    """Change a collection; absent fields keep their value, null defaults revert to the group's."""

    title: Title | None = Field(None, description="New title.")
    description: Description | None = Field(None, description="New description.")
    default_tlp: DefaultTlp | None = Field(None, description="New default TLP (null: the group's).")
    default_attribution: Attribution | None = Field(
        None, description="New default attribution (null: the group's)."
    )
    allow_custom: StrictBool | None = Field(None, description="Accept custom content.")
    tlp1_markings: StrictBool | None = Field(None, description=TLP1_MARKINGS)
    retention_days: RetentionDays | None = Field(None, description=RETENTION)


class CollectionInfo(Response):
    """A collection as admins manage it."""

    id: uuid.UUID = Field(description="Collection id (as in TAXII).")
    group_id: uuid.UUID = Field(description="Owning trust group.")
    title: str = Field(description="Title.")
    description: str | None = Field(description="Description.")
    default_tlp: Tlp | None = Field(description="Own default TLP; null: the group's applies.")
    default_attribution: Attribution | None = Field(
        description="Own default attribution; null: the group's applies."
    )
    allow_custom: bool = Field(description="Whether custom content is accepted.")
    tlp1_markings: bool = Field(False, description=TLP1_MARKINGS)
    archived: bool = Field(description="Archived collections stay readable but take no posts.")
    created: datetime = Field(description="When it was created.")
    retention_days: int | None = Field(None, description=RETENTION)


class CollectionList(Response):
    """A group's collections, oldest first."""

    collections: list[CollectionInfo] = Field(description="The collections.")


# --- audit ----------------------------------------------------------------------------------


def _query_int(value: object) -> object:
    # Query strings are text; only plain decimal digits are an integer (not '1.0', '+1',
    # '1_0' or ' 1', which lax parsing would take), so the server accepts what the document
    # says and nothing more.
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError("must be a decimal integer")
    return value


def _query_time(value: object) -> object:
    # RFC 3339 date-time only, as the document's `format: date-time` says (lax parsing
    # would take 0.5 as a Unix time).
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time like 2026-01-31T12:00:00Z")
    return value


_DECIMAL = re.compile(r"-?[0-9]{1,20}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
QueryInt = Annotated[int, BeforeValidator(_query_int)]
QueryTime = Annotated[AwareDatetime, BeforeValidator(_query_time)]


class AuditQuery(Request):
    """Filters of an audit query (query-string parameters)."""

    since: QueryTime | None = Field(None, description="Entries at or after this time.")
    until: QueryTime | None = Field(None, description="Entries before this time.")
    org: uuid.UUID | None = Field(
        None, description="Entries concerning or acted by this organisation (platform-admin)."
    )
    action: Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)] | None = Field(
        None, description="Only this action, e.g. `key.created`."
    )
    after: Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")] | None = (
        Field(None, description="Resume after the previous page: its `next` (opaque).")
    )
    limit: QueryInt = Field(100, ge=1, le=1000, description="Most entries returned.")


class AuditEntry(Response):
    """One audit log entry."""

    seq: int | None = Field(
        description="Position in the log, strictly increasing; for platform admins only (null"
                    " for others: its gaps would count other organisations' entries)."
    )
    at: datetime = Field(description="When it was recorded.")
    action: str = Field(description="What happened, e.g. `group.member_removed`.")
    org_id: uuid.UUID | None = Field(description="The organisation the entry concerns.")
    subject: str | None = Field(description="What it is about: a key, group or collection id.")
    actor_org: uuid.UUID | None = Field(
        description="Organisation that acted; null for the platform's CLI or when hidden from"
                    " an org-admin of another organisation."
    )
    actor_key: str | None = Field(description="Key that acted (same visibility as actor_org).")
    actor: str = Field("", description="Who acted, in words: `your organisation`, `another"
                                       " organisation` (hidden from an org-admin), `the"
                                       " platform's CLI`, or the acting organisation's id.")
    details: dict = Field(description="Action-specific facts.")


class AuditPage(Response):
    """A page of audit entries, oldest first."""

    entries: list[AuditEntry] = Field(description="The entries.")
    next: str | None = Field(
        description="Opaque: pass as `after` for the next page; null at the end."
    )


# --- privacy review -------------------------------------------------------------------------


class ReviewQuery(Request):
    """Filters of the review queue (query-string parameters)."""

    limit: QueryInt = Field(100, ge=1, le=1000, description="Most held objects returned.")


class ReviewFinding(Response):
    """Personal data the screen found: where and what kind, never the value."""

    property: str = Field(description="Path of the property in the object, e.g. `description`"
                                      " or `body_multipart[0].body`.")
    reason: str = Field(description="What was found, e.g. `phone-number`, `victim-email-addr`.")


class HeldObject(Response):
    """One object held for privacy review: pending in its status, shared with nobody."""

    id: uuid.UUID = Field(description="Id of the held object in the review queue.")
    stix_id: str = Field(description="The STIX id of the object.")
    version: str = Field(description="The version posted (`modified`, or empty).")
    collection_id: uuid.UUID = Field(description="Collection it was posted to.")
    producer_org: uuid.UUID = Field(description="Organisation that posted it.")
    status_id: uuid.UUID = Field(description="TAXII status resource it is pending in.")
    findings: list[ReviewFinding] = Field(description="What the screen found.")
    held: datetime = Field(description="When it was held.")
    deadline: datetime = Field(description="When it is refused if nobody has decided.")


class HeldObjectDetail(HeldObject):
    """A held object with its body as posted, for the reviewer."""

    object: dict = Field(description="The STIX object as posted.")


class HeldList(Response):
    """The review queue the caller may decide, oldest first."""

    objects: list[HeldObject] = Field(description="The held objects.")


class ReviewDecisionRequest(Request):
    """Why the reviewer decides as they do (kept in the audit log)."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500,
                                             pattern=_ONE_LINE)] = Field(
        description="Why, in a line (1 to 500 characters); audited with the reviewer's key."
    )


class ReviewDecision(Response):
    """The outcome of a review decision."""

    id: uuid.UUID = Field(description="Id of the held object decided.")
    decision: Literal["release", "redact", "reject"] = Field(description="What was decided.")
    stix_id: str = Field(description="The STIX id of the object.")
    status_id: uuid.UUID = Field(description="TAXII status resource whose entry it settled.")
    stored_version: str | None = Field(
        description="The version stored (a redaction stores a new one); null if none was."
    )
    message: str | None = Field(description="Why nothing was stored, if nothing was.")
