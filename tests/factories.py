"""Row factories: organisations with keys, trust groups, collections, made through the store."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import asyncpg

from schemas.principal import Role
from server.store import collections, groups, keys, orgs
from server.store.records import NewApiKey


@dataclass
class Member:
    """An organisation with one key of each role used in tests."""

    name: str
    org_id: uuid.UUID
    identity_id: str
    reader: NewApiKey
    contributor: NewApiKey
    admin: NewApiKey


@dataclass
class World:
    """A trust group with members, one outsider, a platform admin, and a collection."""

    group_id: uuid.UUID
    collection_id: uuid.UUID
    alice: Member  # private sector
    bob: Member  # government
    mallory: Member  # not in the group
    platform: NewApiKey
    carol: Member  # private sector, a member that never posts


class Factory:
    """Creates rows through the store, each with a unique name."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def member(self, label: str, sector: str = "private") -> Member:
        async with self.pool.acquire() as conn:
            org = await orgs.create_org(conn, f"{label}-{uuid.uuid4().hex[:8]}", sector)
            made = [await keys.create_key(conn, org.id, role)
                    for role in (Role.READER, Role.CONTRIBUTOR, Role.ORG_ADMIN)]
        return Member(org.name, org.id, org.identity_id, *made)

    async def group(self, *members: Member) -> uuid.UUID:
        async with self.pool.acquire() as conn:
            group = await groups.create_group(
                conn, f"group-{uuid.uuid4().hex[:8]}", [m.org_id for m in members]
            )
        return group.id

    async def collection(self, group_id: uuid.UUID, **kwargs: object) -> uuid.UUID:
        async with self.pool.acquire() as conn:
            return await collections.create_collection(
                conn, group_id, f"coll-{uuid.uuid4().hex[:8]}", "test collection", **kwargs
            )

    async def platform_key(self) -> NewApiKey:
        async with self.pool.acquire() as conn:
            org = await orgs.platform_org(conn)
            return await keys.create_key(conn, org.id, Role.PLATFORM_ADMIN)

    async def world(self) -> World:
        """A trust group of alice, bob and carol with a collection; mallory outside."""
        alice, bob, mallory, carol = await asyncio.gather(
            self.member("alice"), self.member("bob", "government"),
            self.member("mallory"), self.member("carol"),
        )
        group_id = await self.group(alice, bob, carol)
        collection_id = await self.collection(group_id)
        return World(group_id, collection_id, alice, bob, mallory, await self.platform_key(),
                     carol)
