"""Who is calling: the principal an API key resolves to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """API key roles, each including the rights of those before it."""

    READER = "reader"
    CONTRIBUTOR = "contributor"
    ORG_ADMIN = "org-admin"
    PLATFORM_ADMIN = "platform-admin"


class Sector(StrEnum):
    GOVERNMENT = "government"
    PRIVATE = "private"
    ACADEMIC = "academic"
    NONPROFIT = "nonprofit"


_RANK = {Role.READER: 0, Role.CONTRIBUTOR: 1, Role.ORG_ADMIN: 2, Role.PLATFORM_ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated API key and the organisation it speaks for."""

    key_id: str
    org_id: uuid.UUID
    org_name: str
    sector: Sector
    role: Role
    identity_id: str = ""
    # What this key's posts default to when an object states no terms (None: collection's).
    default_tlp: str | None = None
    default_attribution: str | None = None

    def has_role(self, needed: Role) -> bool:
        """Whether this key's role includes `needed`."""
        return _RANK[self.role] >= _RANK[needed]

    @property
    def is_platform_admin(self) -> bool:
        return self.role is Role.PLATFORM_ADMIN
