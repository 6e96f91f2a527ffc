"""Small typed records that rows are mapped to at the store boundary."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from schemas.taxii import Cursor


@dataclass(frozen=True, slots=True)
class Organization:
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


@dataclass(frozen=True, slots=True)
class Collection:
    """A collection as one principal sees it, with the policy its posts fall under."""

    id: uuid.UUID
    group_id: uuid.UUID
    title: str
    description: str | None
    allow_custom: bool
    can_read: bool
    can_write: bool
    archived: bool = False
    tlp1_markings: bool = False  # also serve TLP 1.0 marking ids (0011_tlp1_markings.sql)
    # Effective defaults: the collection's own, else its trust group's.
    default_tlp: str = "amber"
    default_attribution: str = "credited"
    group_identity: str = ""
    allow_anonymous: bool = True


@dataclass(frozen=True, slots=True)
class Page:
    """One page of stored rows in (date_added, seq) order."""

    rows: list
    next: Cursor | None  # where the next page starts; None on the last page

    @property
    def more(self) -> bool:
        """Whether more rows follow this page."""
        return self.next is not None
