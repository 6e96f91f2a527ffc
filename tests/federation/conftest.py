"""Several Accord exchanges in one test process: each its own app on a loopback port and its
own fresh database, federating with each other over real TAXII HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from schemas.accord_extension import ACCORD_EXTENSION_ID
from server.app import create_app
from server.config import Settings
from server.store import groups
from server.store.records import NewApiKey
from tests.conftest import fresh_database
from tests.factories import Factory, Member
from tests.helpers import auth, get_json, objects_url

# Short poll interval and backoff, so that flows are seen within a second or two.
# Small pools: several exchanges share the test PostgreSQL server with other test runs.
# A long request timeout: medallion's memory backend takes seconds a page on a loaded machine.
FAST = Settings(federation_poll_s=0.2, federation_timeout_s=120.0, webhook_backoff_s=0.05,
                webhook_allow_private=True,
                page_size=100, max_page_size=1000, pool_min_size=1, pool_max_size=3,
                # Each exchange has a database of its own: withheld objects go out at once.
                withheld_release_s=0.2, withheld_min_producers=1)
WAIT_S = 30.0


@dataclass
class Exchange:
    """One running Accord instance with its own database."""

    label: str
    server: TestServer
    pool: asyncpg.Pool
    factory: Factory
    platform: NewApiKey

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def api_root(self) -> str:
        return f"{self.base}/taxii2/root/"

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.platform.token}",
                "Content-Type": "application/json", "Accept": "application/json"}


@contextlib.asynccontextmanager
async def exchange(admin_dsn: str, label: str,
                   settings: Settings = FAST) -> AsyncIterator[Exchange]:
    """Start one exchange on a fresh database; stop it afterwards."""
    async with fresh_database(admin_dsn) as url:
        server = TestServer(create_app(settings, url), host="127.0.0.1")
        await server.start_server()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            factory = Factory(pool)
            yield Exchange(label, server, pool, factory, await factory.platform_key())
        finally:
            await pool.close()
            await server.close()


@pytest.fixture(scope="module")
async def east(admin_dsn: str) -> AsyncIterator[Exchange]:
    """A national CERT's exchange."""
    async with exchange(admin_dsn, "east") as ex:
        yield ex


@pytest.fixture(scope="module")
async def west(admin_dsn: str) -> AsyncIterator[Exchange]:
    """A sector ISAC's exchange."""
    async with exchange(admin_dsn, "west") as ex:
        yield ex


@pytest.fixture(scope="module")
async def south(admin_dsn: str) -> AsyncIterator[Exchange]:
    """A third exchange, to close loops."""
    async with exchange(admin_dsn, "south") as ex:
        yield ex


async def admin_call(http: aiohttp.ClientSession, ex: Exchange, method: str, path: str,
                     body: dict | None = None, expect: int = 200) -> dict:
    """Call an exchange's admin API as its platform admin."""
    async with http.request(method, f"{ex.base}/api/v1{path}", json=body,
                            headers=ex.admin()) as resp:
        data = await resp.json(content_type=None) if resp.status != 204 else {}
        assert resp.status == expect, data
        return data


@dataclass
class Link:
    """Two exchanges registered as peers of each other, with keys issued both ways."""

    name_on_a: str  # b's peer name on a
    name_on_b: str
    org_on_a: uuid.UUID  # b's organisation on a
    org_on_b: uuid.UUID
    identity_on_a: str  # b's organisation's STIX identity on a
    token_from_a: str  # the key a issued to b's organisation


async def link(http: aiohttp.ClientSession, a: Exchange, b: Exchange, *,
               onward: bool = False, hop_limit: int = 2, sector: str = "nonprofit") -> Link:
    """Register a and b as peers of each other: each issues the other a contributor key."""
    suffix = uuid.uuid4().hex[:6]
    names = (f"{b.label}-{suffix}", f"{a.label}-{suffix}")
    orgs, identities = [], []
    for ex, other, name in ((a, b, names[0]), (b, a, names[1])):
        peer = await admin_call(http, ex, "POST", "/peers", {
            "name": name, "url": other.api_root, "key": "not-issued-yet", "sector": sector,
            "onward": onward, "hop_limit": hop_limit}, 201)
        orgs.append(uuid.UUID(peer["org_id"]))
        identities.append(peer["identity_id"])
    tokens = []
    for ex, other, org, name in ((a, b, orgs[0], names[1]), (b, a, orgs[1], names[0])):
        key = await admin_call(http, ex, "POST", f"/orgs/{org}/keys", {"role": "contributor"},
                               201)
        await admin_call(http, other, "PATCH", f"/peers/{name}", {"key": key["token"]})
        tokens.append(key["token"])
    return Link(names[0], names[1], orgs[0], orgs[1], identities[0], tokens[0])


@dataclass
class Room:
    """A member, a trust group and a collection on one exchange."""

    member: Member
    group_id: uuid.UUID
    collection_id: uuid.UUID


async def room(ex: Exchange, label: str, **collection: object) -> Room:
    member = await ex.factory.member(label)
    group_id = await ex.factory.group(member)
    return Room(member, group_id, await ex.factory.collection(group_id, **collection))


async def admit(ex: Exchange, group_id: uuid.UUID, org_id: uuid.UUID) -> None:
    """Make an organisation (a peer's) a member of a trust group, as the exchange's admin."""
    async with ex.pool.acquire() as conn:
        await groups.add_member(conn, group_id, org_id)


async def served(http: aiohttp.ClientSession, ex: Exchange, r: Room, **params: str) -> list:
    """Every object a room's member reads in its collection (one page, test-sized)."""
    status, body, _ = await get_json(http, objects_url(ex.base, r.collection_id), r.member.reader,
                                     limit="1000", **params)
    assert status == 200, body
    return body.get("objects", [])


async def until(probe: Callable[[], object], what: str, wait_s: float = WAIT_S,
                progress: Callable[[], str] | None = None) -> object:
    """Poll `probe` until it returns something truthy; fail after `wait_s` probes' worth.

    The bound counts polls of 0.1 s (as before), and also stops at four times `wait_s` of
    wall time, so a slow probe on a loaded machine cannot stretch it without end.
    """
    deadline = time.monotonic() + 4 * wait_s
    for _ in range(int(wait_s / 0.1)):
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    seen = f" ({progress()})" if progress else ""
    raise AssertionError(f"timed out after {wait_s:.0f} s of polls waiting for {what}{seen}")


def terms(**values: object) -> dict:
    return {"extensions": {ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                                                  **values}}}


def headers(key: NewApiKey) -> dict[str, str]:
    return auth(key)
