"""Helpers shared by tests: auth headers, TAXII media types, STIX object builders."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson

from schemas.taxii import STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE
from server.store.records import NewApiKey

TAXII = {"Accept": TAXII_MEDIA_TYPE, "Content-Type": TAXII_MEDIA_TYPE}
STIX = STIX_MEDIA_TYPE


def auth(key: NewApiKey, **extra: str) -> dict[str, str]:
    """Bearer authorisation plus TAXII media type headers for a key."""
    return {**TAXII, "Authorization": f"Bearer {key.token}", **extra}


def stamp(when: datetime | None = None, *, offset_s: float = 0) -> str:
    """A STIX timestamp with millisecond precision."""
    value = (when or datetime.now(UTC)) + timedelta(seconds=offset_s)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def indicator(
    value: str = "198.51.100.7",
    *,
    stix_id: str | None = None,
    created: str = "2026-01-01T00:00:00.000Z",
    modified: str | None = None,
    **extra: object,
) -> dict:
    """A valid STIX 2.1 indicator for an IPv4 address."""
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id or f"indicator--{uuid.uuid4()}",
        "created": created,
        "modified": modified or created,
        "name": f"bad address {value}",
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": created,
        **extra,
    }


def envelope(*objects: dict) -> bytes:
    """A TAXII envelope body."""
    return orjson.dumps({"objects": list(objects)})


def objects_url(base_url: str, collection_id: object, suffix: str = "") -> str:
    """The objects endpoint of a collection (with an optional sub-path)."""
    return f"{base_url}/taxii2/root/collections/{collection_id}/objects/{suffix}"


async def post(
    http: aiohttp.ClientSession, base_url: str, collection_id: object, key: NewApiKey,
    *objects: dict,
) -> dict:
    """POST objects and return the status resource; fails the test on a non-202."""
    async with http.post(
        objects_url(base_url, collection_id), data=envelope(*objects), headers=auth(key)
    ) as resp:
        body = await resp.json(content_type=None)
        assert resp.status == 202, body
        return body


async def get_json(
    http: aiohttp.ClientSession, url: str, key: NewApiKey, **params: str
) -> tuple[int, dict, dict]:
    """GET a TAXII URL; return status, parsed body, headers."""
    async with http.get(url, headers=auth(key), params=params) as resp:
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


def as_served(obj: dict, marking: str = TLP_AMBER) -> dict:
    """An unmarked object as the server stores it: the default TLP marking applied."""
    return {**obj, "object_marking_refs": [marking]}


async def release_withheld(pool: object, min_producers: int = 1) -> int:
    """Release every waiting withheld object now, as the server's release tick would."""
    from server.config import Settings
    from server.ingest.withheld import release_withheld as release

    return await release(pool, Settings(withheld_min_producers=min_producers),  # type: ignore[arg-type]
                         datetime.now(UTC) + timedelta(seconds=1))


async def revoke_and_hear(pool: object, app: object, key_id: str) -> None:
    """Revoke a key on a connection of our own, as another process would (`accord admin key
    revoke`), and return once the server's listener heard the NOTIFY: from then on the
    server refuses the key (the key cache's only window is that delivery)."""
    from server.store.keys import revoke_key
    from server.web.auth import KEY_CACHE

    cache = app.get(KEY_CACHE)  # type: ignore[attr-defined]
    before = cache.generation if cache is not None else 0
    async with pool.acquire() as conn:  # type: ignore[attr-defined]
        await revoke_key(conn, key_id)
    if cache is None or not cache.live:
        return  # nothing remembered: every request asks the database

    async def heard() -> None:
        while cache.generation == before:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(heard(), 30)  # a bound against a hang, not a timing
