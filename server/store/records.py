"""Small typed records that rows are mapped to at the store boundary."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

import asyncpg

from schemas.taxii import Cursor


@dataclass(frozen=True, slots=True)
class Org:
    """A member organisation of the exchange."""

    id: uuid.UUID
    name: str
    sector: str
    identity_id: str
    is_platform: bool


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    org_id: uuid.UUID
    role: str
    created: datetime
    last_used: datetime | None
    revoked_at: datetime | None
    default_tlp: str | None = None
    default_attribution: str | None = None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just created: the only moment its secret is known."""

    key: ApiKey
    secret: str

    @property
    def token(self) -> str:
        """The bearer token: key id and secret joined by a dot."""
        return f"{self.key.id}.{self.secret}"


@dataclass(frozen=True, slots=True)
class TrustGroup:
    id: uuid.UUID
    name: str
    identity_id: str


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A trust group with its policy, and the viewing organisation's place in it."""

    id: uuid.UUID
    name: str
    description: str | None
    identity_id: str
    default_tlp: str
    default_attribution: str
    allow_anonymous: bool
    allowed_sectors: list[str] | None
    confidential_roster: bool
    created: datetime
    is_member: bool
    is_manager: bool
    archived: bool
    privacy_policy: str | None  # None: not set (decided from member_sectors)
    privacy_reviewers: list[uuid.UUID]
    victim_ranges: list[str]
    member_sectors: list[str]
    retention_days: int | None = None
    warninglist_policy: str = "warn"
    half_lives: dict[str, float] = field(default_factory=dict)  # days, by observable kind


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One member organisation of a trust group."""

    org_id: uuid.UUID
    name: str
    sector: str
    is_manager: bool
    joined: datetime


@dataclass(frozen=True, slots=True)
class Invitation:
    """An organisation's invitation into a trust group (who invited is kept, never served)."""

    group: GroupInfo
    org_id: uuid.UUID
    org_name: str
    state: str
    created: datetime
    decided: datetime | None


@dataclass(frozen=True, slots=True)
class CollectionSettings:
    """A collection's own settings, as admins manage them (defaults None: the group's)."""

    id: uuid.UUID
    group_id: uuid.UUID
    title: str
    description: str | None
    default_tlp: str | None
    default_attribution: str | None
    allow_custom: bool
    archived: bool
    created: datetime
    tlp1_markings: bool = False
    retention_days: int | None = None


@dataclass(frozen=True, slots=True)
class CollectionView:
    """A reader's view of a collection: what one principal sees of it, with the policy its
    posts fall under."""

    id: uuid.UUID
    group_id: uuid.UUID
    title: str
    description: str | None
    allow_custom: bool
    # Whether the principal's organisation is a member of its trust group (what it may do
    # there is policy's to say: policy.can_read_collection, can_write_collection).
    is_member: bool
    archived: bool = False
    tlp1_markings: bool = False  # also serve TLP 1.0 marking ids (0011_tlp1_markings.sql)
    # Effective defaults: the collection's own, else its trust group's.
    default_tlp: str = "amber"
    default_attribution: str = "credited"
    group_identity: str = ""
    allow_anonymous: bool = True
    warninglist_policy: str = "warn"  # what a warninglisted indicator becomes: warn, refuse


# --- stored versions as reads return them, one record class per projection ---
# Record subclasses, not dataclasses: asyncpg builds them as it decodes each row, so a typed
# row costs nothing over a raw one on the read paths (tens of thousands a second).


class VersionRow(asyncpg.Record):
    """A stored version's place in commit order (every projection has it)."""

    __slots__ = ()

    @property
    def seq(self) -> int:
        return self["seq"]

    @property
    def date_added(self) -> datetime:
        return self["date_added"]

    @property
    def cursor(self) -> Cursor:
        """The position just after this version."""
        return Cursor(self["date_added"], self["seq"])


class BodyRow(VersionRow):
    """A stored version with its JSON text, as it was stored."""

    __slots__ = ()

    @property
    def body(self) -> str:
        return self["body"]


class BodyTlpRow(BodyRow):
    """A stored version's JSON text and TLP level (to serve its TLP 1.0 id too)."""

    __slots__ = ()

    @property
    def tlp(self) -> str:
        return self["tlp"]


class ManifestRow(VersionRow):
    """A stored version's id and version, for manifest records."""

    __slots__ = ()

    @property
    def stix_id(self) -> str:
        return self["stix_id"]

    @property
    def version_text(self) -> str:
        return self["version_text"]

    @property
    def producer_name(self) -> str | None:
        """The producer organisation's name; None when attribution is withheld."""
        return self["producer_name"]

    @property
    def producer_identity(self) -> str | None:
        """The producer organisation's identity id; None when attribution is withheld."""
        return self["producer_identity"]


class VersionTextRow(VersionRow):
    """A stored version's version timestamp as posted."""

    __slots__ = ()

    @property
    def version_text(self) -> str:
        return self["version_text"]


class ProducerRow(VersionRow):
    """A stored version and the organisation that posted it."""

    __slots__ = ()

    @property
    def producer_org(self) -> uuid.UUID:
        return self["producer_org"]


R = TypeVar("R", bound=VersionRow)


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page of stored versions in (date_added, seq) order."""

    rows: list[R]
    next: Cursor | None  # where the next page starts; None on the last page

    @property
    def more(self) -> bool:
        """Whether more rows follow this page."""
        return self.next is not None
