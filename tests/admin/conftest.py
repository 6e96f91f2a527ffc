"""Admin API test helpers: JSON calls as a given key, and a group managed by alice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import aiohttp
import orjson
import pytest

from server.store.records import NewApiKey
from tests.factories import Factory, Member


@dataclass
class Answer:
    """One admin API response."""

    status: int
    body: dict
    headers: dict


class Api:
    """Calls /api/v1/ over real HTTP."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base = f"{base_url}/api/v1"

    async def __call__(
        self, method: str, path: str, key: NewApiKey | None = None, json: object = None, *,
        data: bytes | None = None, headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key.token}"
        if json is not None:
            data = orjson.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        async with self.http.request(method, self.base + path, data=data, headers=sent,
                                     params=params) as resp:
            raw = await resp.read()
            body = orjson.loads(raw) if raw else {}
            return Answer(resp.status, body, dict(resp.headers))


@pytest.fixture
def api(http: aiohttp.ClientSession, base_url: str) -> Api:
    return Api(http, base_url)


@dataclass
class Club:
    """A trust group managed by alice (with bob as plain member) and an outsider, carol."""

    group_id: uuid.UUID
    alice: Member
    bob: Member
    carol: Member


@pytest.fixture
async def club(factory: Factory, api: Api) -> Club:
    alice = await factory.member("alice", "government")
    bob = await factory.member("bob", "private")
    carol = await factory.member("carol", "private")
    made = await api("POST", "/groups", alice.admin, {"name": f"club-{uuid.uuid4().hex[:8]}"})
    assert made.status == 201, made.body
    group_id = uuid.UUID(made.body["id"])
    platform = await factory.platform_key()
    added = await api("POST", f"/groups/{group_id}/members", platform, {"org": str(bob.org_id)})
    assert added.status == 201, added.body
    return Club(group_id, alice, bob, carol)


def assert_error(answer: Answer, status: int, *words: str) -> None:
    """An error in the TAXII error shape, as JSON, mentioning `words`."""
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.body["http_status"] == str(status)
    assert answer.body["title"] and answer.body["error_id"]
    for word in words:
        assert word in answer.body["description"], answer.body
