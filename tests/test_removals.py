"""Removal events: a revoked indicator reaches the stream and webhooks as a removal."""

from __future__ import annotations

import asyncio
import time

import orjson

from tests.feed_helpers import Receiver, create_feed, open_stream
from tests.helpers import indicator, post


def _revoked(obj: dict) -> dict:
    return {**obj, "revoked": True, "modified": "2026-06-01T00:00:00.000Z"}


async def test_a_revocation_is_a_removal_event_on_the_stream(http, base_url, world):
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    resp, reader = await open_stream(http, base_url, world.bob.reader, feed["id"])
    await asyncio.sleep(0.2)
    obj = indicator("100.64.9.1")
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    await post(http, base_url, world.collection_id, world.alice.contributor, _revoked(obj))
    first, second = await reader.take(2)
    resp.close()
    assert (first.kind, first.data["id"]) == ("object", obj["id"])
    assert (second.kind, second.data["id"], second.data["revoked"]) == (
        "removed", obj["id"], True)


async def test_a_feed_with_the_default_warninglist_setting_streams_a_removal(
        http, base_url, world):
    # The feed helpers ask for warninglisted values unless told otherwise; a feed left at
    # the default (warninglisted values out) must still read removal events, which carry
    # no warninglist flag (the stream failed with "column o.warned does not exist").
    feed = await create_feed(http, base_url, world.bob.reader, filter={
        "collections": [str(world.collection_id)], "include_warninglisted": False})
    resp, reader = await open_stream(http, base_url, world.bob.reader, feed["id"])
    await asyncio.sleep(0.2)
    obj = indicator("93.184.216.91")  # on no warninglist
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    await post(http, base_url, world.collection_id, world.alice.contributor, _revoked(obj))
    first, second = await reader.take(2)
    resp.close()
    assert (first.kind, first.data["id"]) == ("object", obj["id"])
    assert (second.kind, second.data["id"]) == ("removed", obj["id"])


async def test_a_webhook_batch_lists_revoked_indicators_as_removed(http, base_url, world):
    receiver = Receiver()
    url = await receiver.start()
    try:
        feed = await create_feed(http, base_url, world.bob.reader,
                                 filter={"collections": [str(world.collection_id)]},
                                 webhook={"url": url})
        assert feed["webhook_secret"]
        kept, gone = indicator("100.64.9.2"), indicator("100.64.9.3")
        await post(http, base_url, world.collection_id, world.alice.contributor, kept, gone)
        await post(http, base_url, world.collection_id, world.alice.contributor,
                   _revoked(gone))
        deadline = time.monotonic() + 20
        removed: list[str] = []
        seen: list[str] = []
        while time.monotonic() < deadline and not removed:
            for _, body in receiver.accepted:
                payload = orjson.loads(body)
                seen += [o["id"] for o in payload["objects"]]
                removed += payload["removed"]
            await asyncio.sleep(0.1)
        assert removed == [gone["id"]] and kept["id"] in seen
    finally:
        await receiver.close()
