"""Concurrent posters: date_added order never lets an added_after reader skip an object."""

from __future__ import annotations

import asyncio
import time

from tests.helpers import auth, envelope, indicator, objects_url, post

POSTERS = 4
ENVELOPES_EACH = 8
OBJECTS_EACH = 25


async def test_parallel_posters_and_added_after_reader_skip_nothing(http, base_url, world):
    url = objects_url(base_url, world.collection_id)
    posted: list[str] = []
    done = asyncio.Event()

    async def poster(n: int) -> None:
        for e in range(ENVELOPES_EACH):
            objs = [indicator(f"10.{n}.{e}.{i}") for i in range(OBJECTS_EACH)]
            status = await post(http, base_url, world.collection_id, world.alice.contributor,
                                *objs)
            assert status["success_count"] == OBJECTS_EACH
            posted.extend(o["id"] for o in objs)

    async def reader() -> list[str]:
        # A poller that only remembers the last date_added it saw, as SIEM connectors do.
        seen: list[str] = []
        added_after = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            finished = done.is_set()
            params = {"limit": "7"}
            if added_after:
                params["added_after"] = added_after
            async with http.get(url, headers=auth(world.bob.reader), params=params) as resp:
                assert resp.status == 200
                body = await resp.json(content_type=None)
                if body.get("objects"):
                    seen.extend(o["id"] for o in body["objects"])
                    added_after = resp.headers["X-TAXII-Date-Added-Last"]
                    continue
            if finished:
                return seen
            await asyncio.sleep(0.005)
        raise AssertionError("reader did not catch up within 60 s")

    read_task = asyncio.create_task(reader())
    await asyncio.gather(*(poster(n) for n in range(POSTERS)))
    done.set()
    seen = await read_task
    assert len(posted) == POSTERS * ENVELOPES_EACH * OBJECTS_EACH
    assert len(seen) == len(set(seen)), "an object was read twice"
    assert sorted(seen) == sorted(posted), "an object was skipped"


async def test_same_envelope_posted_concurrently_is_stored_once(http, base_url, world):
    objs = [indicator(f"172.16.0.{i}") for i in range(20)]
    body = envelope(*objs)

    async def once() -> dict:
        async with http.post(objects_url(base_url, world.collection_id), data=body,
                             headers=auth(world.alice.contributor)) as resp:
            assert resp.status == 202
            return await resp.json(content_type=None)

    statuses = await asyncio.gather(*(once() for _ in range(12)))
    assert all(s["success_count"] == 20 and s["failure_count"] == 0 for s in statuses)
    async with http.get(objects_url(base_url, world.collection_id),
                        headers=auth(world.alice.reader),
                        params={"match[version]": "all", "limit": "1000"}) as resp:
        stored = (await resp.json(content_type=None))["objects"]
    assert sorted(o["id"] for o in stored) == sorted(o["id"] for o in objs)
