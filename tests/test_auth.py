"""Authentication and roles: no, bad and revoked keys; Basic auth; role checks."""

from __future__ import annotations

import base64

import pytest

from server.store.keys import revoke_key
from tests.helpers import TAXII, auth, envelope, indicator, objects_url


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


async def test_revoked_key_is_refused_at_once(http, base_url, world, pool):
    key = world.alice.reader
    async with http.get(f"{base_url}/taxii2/", headers=auth(key)) as resp:
        assert resp.status == 200
    async with pool.acquire() as conn:
        await revoke_key(conn, key.key.id)
    async with http.get(f"{base_url}/taxii2/", headers=auth(key)) as resp:
        assert resp.status == 401


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
