"""Sharing policy as pure functions: who may see, post and delete what. No I/O.

`server.store.visibility` builds the SQL twin of `can_see`; the two must agree on every
(reader, object) pair, and a differential test holds them to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from schemas.principal import Principal, Role


@dataclass(frozen=True, slots=True)
class Reader:
    """What the policy needs to know of a reader: its organisation and memberships."""

    org_id: uuid.UUID
    groups: frozenset[uuid.UUID]
    platform_admin: bool = False


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What the policy needs to know of one stored object version."""

    collection_group: uuid.UUID
    producer_org: uuid.UUID


def can_see(reader: Reader, obj: StoredObject) -> bool:
    """Whether the reader may see this object version (DESIGN.md, Sharing policy)."""
    return (
        reader.platform_admin
        or obj.producer_org == reader.org_id
        or obj.collection_group in reader.groups
    )


def can_read_collection(principal: Principal, is_member: bool) -> bool:
    """Members of the collection's trust group read it; platform admins read everything."""
    return is_member or principal.is_platform_admin


def can_write_collection(principal: Principal, is_member: bool) -> bool:
    """Contributors (and above) of a member organisation post to it."""
    return can_read_collection(principal, is_member) and principal.has_role(Role.CONTRIBUTOR)


def can_delete(principal: Principal, producer_org: uuid.UUID) -> bool:
    """Only the producer's contributors (and above) or a platform admin delete versions."""
    if principal.is_platform_admin:
        return True
    return producer_org == principal.org_id and principal.has_role(Role.CONTRIBUTOR)
