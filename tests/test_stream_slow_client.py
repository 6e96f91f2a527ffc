"""A stream client that stops reading is cut off, not buffered without bound."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestServer

from server.app import create_app
from tests.feed_helpers import create_feed
from tests.helpers import indicator, post

OBJECTS = 12_000  # ≈ 9 MB of events: more than loopback socket buffers hold


async def test_a_client_that_stops_reading_is_disconnected(http, world, settings, database_url):
    slow = settings.model_copy(update={"stream_write_timeout_s": 0.5, "heartbeat_s": 0.2})
    server = TestServer(create_app(slow, database_url), host="127.0.0.1")
    await server.start_server()
    try:
        base_url = str(server.make_url("")).rstrip("/")
        feed = await create_feed(http, base_url, world.bob.reader,
                                 filter={"collections": [str(world.collection_id)]})
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            f"GET /api/v1/feeds/{feed['id']}/stream HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {world.bob.reader.token}\r\n\r\n".encode()
        )
        await writer.drain()
        await asyncio.sleep(0.3)
        for start in range(0, OBJECTS, 1000):
            await post(http, base_url, world.collection_id, world.alice.contributor,
                       *[indicator(f"10.{start // 256 % 256}.{start % 256}.{i % 256}",
                                   description="x" * 200) for i in range(1000)])
        # The client now does not read; the server's writes block, then time out.
        await asyncio.sleep(3)
        received, deadline = 0, time.monotonic() + 20
        while time.monotonic() < deadline:
            chunk = await asyncio.wait_for(reader.read(1 << 20), 20)
            if not chunk:
                break
            received += len(chunk)
        else:
            raise AssertionError("the server kept the stalled stream open")
        writer.close()
        # It was cut before sending everything: what arrived is what sat in the buffers.
        assert received < OBJECTS * 700, received
    finally:
        await server.close()
