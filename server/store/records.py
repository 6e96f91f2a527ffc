"""Small typed records that rows are mapped to at the store boundary."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


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


@dataclass(frozen=True, slots=True)
class Collection:
    id: uuid.UUID
    group_id: uuid.UUID
    title: str
    description: str | None
    allow_custom: bool
    can_read: bool
    can_write: bool


@dataclass(frozen=True, slots=True)
class Page:
    """One page of stored rows in (date_added, seq) order."""

    rows: list
    more: bool
    next_cursor: tuple[datetime, int] | None
