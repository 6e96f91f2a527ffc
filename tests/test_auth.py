"""Authentication and roles: no, bad and revoked keys; Basic auth; role checks."""

from __future__ import annotations

import asyncio
import base64
import uuid

import pytest

from schemas.principal import Principal, Role, Sector
from server.web.auth import KEY_CACHE, KeyCache
from tests.feed_helpers import json_auth
from tests.helpers import TAXII, auth, envelope, indicator, objects_url, revoke_and_hear


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer nonsense",
        "Bearer ak_0000000000000000.wrongsecret",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"ak_0000000000000000:wrong").decode(),
        "Digest whatever",
        "Bearer " + "x" * 5000,
    ],
)
async def test_missing_or_bad_credentials_get_401_with_challenge(http, base_url, world, header):
    headers = dict(TAXII)
    if header:
        headers["Authorization"] = header
    async with http.get(f"{base_url}/taxii2/", headers=headers) as resp:
        assert resp.status == 401
        assert "Bearer" in resp.headers["WWW-Authenticate"]
        assert resp.headers["Content-Type"] == TAXII["Accept"]
        body = await resp.json(content_type=None)
        assert body["http_status"] == "401" and body["title"]


async def test_right_key_id_with_wrong_secret_is_refused(http, base_url, world):
    key_id = world.alice.reader.key.id
    headers = {**TAXII, "Authorization": f"Bearer {key_id}.not-the-secret"}
    async with http.get(f"{base_url}/taxii2/", headers=headers) as resp:
        assert resp.status == 401


async def test_basic_auth_with_key_id_and_secret(http, base_url, world):
    key = world.alice.reader
    raw = f"{key.key.id}:{key.secret}".encode()
    headers = {**TAXII, "Authorization": "Basic " + base64.b64encode(raw).decode()}
    async with http.get(f"{base_url}/taxii2/", headers=headers) as resp:
        assert resp.status == 200


async def test_revoked_key_is_refused_at_once(http, base_url, world, server, pool):
    # Revoked elsewhere (another process, the CLI): refused as soon as the NOTIFY arrives,
    # although the key was verified, and so remembered, a moment before.
    key = world.alice.reader
    cache = server.app[KEY_CACHE]
    await asyncio.wait_for(_until_live(cache), 30)  # the listener connects at start-up
    for _ in range(2):
        async with http.get(f"{base_url}/taxii2/", headers=auth(key)) as resp:
            assert resp.status == 200
    assert cache.get(key.key.id, key.secret) is not None
    await revoke_and_hear(pool, server.app, key.key.id)
    assert cache.get(key.key.id, key.secret) is None
    async with http.get(f"{base_url}/taxii2/", headers=auth(key)) as resp:
        assert resp.status == 401


async def test_key_revoked_over_the_api_is_refused_by_the_next_request(http, base_url, world):
    # The revoking process forgets its verified keys itself, without waiting for the NOTIFY.
    key = world.alice.reader
    async with http.get(f"{base_url}/taxii2/", headers=auth(key)) as resp:
        assert resp.status == 200
    url = f"{base_url}/api/v1/orgs/{world.alice.org_id}/keys/{key.key.id}"
    async with http.delete(url, headers=json_auth(world.alice.admin)) as resp:
        assert resp.status == 200, await resp.text()
    async with http.get(f"{base_url}/taxii2/", headers=auth(key)) as resp:
        assert resp.status == 401


async def test_remembered_key_id_with_a_wrong_secret_is_refused(http, base_url, world):
    key = world.alice.reader
    async with http.get(f"{base_url}/taxii2/", headers=auth(key)) as resp:
        assert resp.status == 200
    headers = {**TAXII, "Authorization": f"Bearer {key.key.id}.{key.secret[:-1]}x"}
    async with http.get(f"{base_url}/taxii2/", headers=headers) as resp:
        assert resp.status == 401


async def _until_live(cache: KeyCache) -> None:
    while not cache.live:
        await asyncio.sleep(0.01)


def _principal() -> Principal:
    return Principal(key_id="ak_0123456789abcdef", org_id=uuid.uuid4(), org_name="A",
                     sector=Sector.PRIVATE, role=Role.READER, identity_id="identity--x",
                     default_tlp=None, default_attribution=None)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_key_cache_trusts_an_entry_for_its_ttl_only():
    clock = _Clock()
    cache = KeyCache(5, clock)
    cache.set_live(True)
    principal = _principal()
    cache.put(principal.key_id, "secret", principal, cache.generation)
    clock.now += 4.9
    assert cache.get(principal.key_id, "secret") == principal
    assert cache.get(principal.key_id, "other") is None
    clock.now += 0.2
    assert cache.get(principal.key_id, "secret") is None


def test_key_cache_remembers_nothing_unless_revocations_can_reach_it():
    cache = KeyCache(5)
    principal = _principal()
    cache.put(principal.key_id, "secret", principal, cache.generation)  # never listened
    assert cache.get(principal.key_id, "secret") is None
    cache.set_live(True)
    cache.put(principal.key_id, "secret", principal, cache.generation)
    cache.set_live(False)  # the listener was lost: forget, and stop remembering
    assert cache.get(principal.key_id, "secret") is None
    cache.put(principal.key_id, "secret", principal, cache.generation)
    assert cache.get(principal.key_id, "secret") is None


def test_key_cache_drops_an_answer_read_before_a_revocation_arrived():
    cache = KeyCache(5)
    cache.set_live(True)
    principal = _principal()
    read_at = cache.generation
    cache.clear()  # a NOTIFY arrived while the database was being asked
    cache.put(principal.key_id, "secret", principal, read_at)
    assert cache.get(principal.key_id, "secret") is None


async def test_reader_cannot_post_and_nothing_is_stored(http, base_url, world):
    obj = indicator()
    url = objects_url(base_url, world.collection_id)
    async with http.post(url, data=envelope(obj), headers=auth(world.alice.reader)) as resp:
        assert resp.status == 403
        body = await resp.json(content_type=None)
        assert "contributor" in body["description"]
    async with http.get(url, headers=auth(world.alice.reader)) as resp:
        assert "objects" not in await resp.json(content_type=None)


async def test_outsider_cannot_post_and_sees_404(http, base_url, world):
    url = objects_url(base_url, world.collection_id)
    async with http.post(url, data=envelope(indicator()),
                         headers=auth(world.mallory.contributor)) as resp:
        assert resp.status == 404


async def test_platform_admin_reads_every_collection(http, base_url, world):
    async with http.get(objects_url(base_url, world.collection_id),
                        headers=auth(world.platform)) as resp:
        assert resp.status == 200
