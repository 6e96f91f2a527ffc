"""The client library against the running test server: chunking, paging, feeds, stream resume."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import orjson
import pytest

from clients import (
    AccordClient,
    AuthenticationFailed,
    NotFound,
    RequestRefused,
    ServerUnreachable,
    SyncAccordClient,
)
from clients.client import chunk_objects
from tests.helpers import indicator


@pytest.fixture
async def alice(base_url, world) -> AsyncIterator[AccordClient]:
    async with AccordClient(base_url, world.alice.contributor.token) as client:
        yield client


@pytest.fixture
async def bob(base_url, world) -> AsyncIterator[AccordClient]:
    async with AccordClient(base_url, world.bob.reader.token) as client:
        yield client


def test_chunks_respect_size_and_count():
    objects = [indicator(f"192.0.2.{100 + i}") for i in range(50)]  # all of one size
    one = len(next(chunk_objects(objects[:1], 10**6, 1000))[0][0])
    limit = 14 + 5 * (one + 1)
    chunks = list(chunk_objects(objects, limit, 1000))
    assert [len(batch) for batch, _ in chunks] == [5] * 10
    assert all(len(b'{"objects":[' + b",".join(batch) + b"]}") <= limit for batch, _ in chunks)
    chunks = list(chunk_objects(objects, 10**6, 7))
    assert [len(batch) for batch, _ in chunks] == [7] * 7 + [1]
    batch, too_large = next(chunk_objects(objects[:1], one, 10))
    assert batch == [] and too_large[0].id == objects[0]["id"]


async def test_post_objects_is_chunked_to_max_content_length(alice, bob, world, settings):
    limit = await alice.max_content_length()
    assert limit == settings.max_content_length
    # Ten objects of ~300 kB: more than one 2 MB envelope holds, and one that fits none.
    big = [{**indicator(f"198.51.100.{i}"), "description": "x" * 300_000} for i in range(10)]
    huge = {**indicator("198.51.100.99"), "description": "y" * (limit + 1)}
    chunks = []
    result = await alice.post_objects(world.collection_id, [*big, huge], on_chunk=chunks.append)
    assert result.total == 11 and result.success_count == 10
    assert len(result.chunks) == len(chunks) >= 2
    assert [f.id for f in result.failures] == [huge["id"]]
    assert "max_content_length" in result.failures[0].message
    stored = [o async for o in bob.objects(world.collection_id)]
    assert {o["id"] for o in stored} == {o["id"] for o in big}


async def test_envelopes_in_flight_at_once_and_only_acknowledged_ones_recorded(base_url,
                                                                                world):
    envelopes = [[orjson.dumps(indicator(f"198.51.100.{10 * i + j}")) for j in range(3)]
                 for i in range(8)]
    envelopes[3] = [b'{"type": "indicator"'] * 3  # not JSON: the server refuses the envelope
    taken: list[int] = []
    acked: dict[int, int] = {}

    def batches():
        for index, batch in enumerate(envelopes):
            taken.append(index)
            yield index, batch

    async with AccordClient(base_url, world.alice.contributor.token, in_flight=3) as client:
        with pytest.raises(RequestRefused):
            await client.post_batches(world.collection_id, batches(),
                                      lambda chunk: acked.setdefault(chunk.index, len(taken)))
        stored = {o["name"] async for o in client.objects(world.collection_id)}
    # Three were out before the first answer; after the refusal none more was sent, and
    # those out were answered and recorded before the error was raised.
    assert min(acked.values()) == 3
    assert 3 not in acked and set(acked) == set(taken) - {3} and {0, 1, 2} <= set(acked)
    for index in acked:  # every envelope recorded was stored
        assert {orjson.loads(raw)["name"] for raw in envelopes[index]} <= stored


async def test_per_object_failures_come_from_the_status(alice, world):
    bad = {**indicator("192.0.2.1"), "pattern": "[nonsense"}
    result = await alice.post_objects(world.collection_id, [indicator("192.0.2.2"), bad])
    assert result.success_count == 1 and not result.ok
    assert result.failures[0].id == bad["id"] and "pattern" in result.failures[0].message


async def test_paged_reads_resume_with_added_after_and_next(alice, bob, world):
    await alice.post_objects(world.collection_id, [indicator(f"203.0.113.{i}")
                                                   for i in range(25)])
    pages = [p async for p in bob.pages(world.collection_id, limit=10)]
    assert [len(p.objects) for p in pages] == [10, 10, 5]
    assert pages[0].more and pages[0].next and not pages[-1].more
    # Resume from the middle with the first page's `next` token.
    rest = [p async for p in bob.pages(world.collection_id, next=pages[0].next, limit=10)]
    assert sum(len(p.objects) for p in rest) == 15
    # Nothing after the last date_added; one new object after it.
    last = pages[-1].date_added_last
    assert [o async for o in bob.objects(world.collection_id, added_after=last)] == []
    await alice.post_objects(world.collection_id, [indicator("203.0.113.200")])
    new = [o async for o in bob.objects(world.collection_id, added_after=last)]
    assert [o["pattern"] for o in new] == ["[ipv4-addr:value = '203.0.113.200']"]


async def test_feeds_and_exports_with_etag(alice, bob, world):
    # The test values are documentation addresses, on the shipped warninglists.
    feed = await bob.create_feed("blocklist", {"collections": [str(world.collection_id)],
                                               "include_warninglisted": True,
                                               "observable_kinds": ["ipv4"]})
    assert feed.id in {f.id for f in await bob.feeds()}
    await alice.post_objects(world.collection_id, [indicator("192.0.2.77")])
    first = await bob.export(feed.id, "txt")
    assert first.status == 200 and first.body == b"192.0.2.77\n" and first.etag
    again = await bob.export(feed.id, "txt", etag=first.etag)
    assert again.not_modified and again.body is None
    page = [p async for p in bob.feed_pages(feed.id)]
    assert [o["pattern"] for o in page[0].objects] == ["[ipv4-addr:value = '192.0.2.77']"]
    await bob.delete_feed(feed.id)
    with pytest.raises(NotFound) as caught:
        await bob.export(feed.id, "txt")
    assert caught.value.http_status == 404 and caught.value.title


class Proxy:
    """A loopback TCP proxy whose connections can be cut, to break streams mid-flight."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []
        self.accepted = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        """Drop every open connection at once (no clean close)."""
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        self.server.close()
        await self.server.wait_closed()


async def test_stream_resumes_after_a_dropped_connection(server, alice, bob, world):
    feed = await bob.create_feed("live", {"collections": [str(world.collection_id)],
                                          "include_warninglisted": True})
    proxy = Proxy(server.port)
    url = await proxy.start()
    first = [indicator(f"198.51.100.{i}") for i in range(3)]
    later = [indicator(f"198.51.100.{i}") for i in range(10, 14)]
    await alice.post_objects(world.collection_id, first)
    try:
        async with AccordClient(url, world.bob.reader.token) as client:
            events = client.stream(feed.id, from_beginning=True, reconnect_delay_s=0.05)
            got = [await asyncio.wait_for(anext(events), 10) for _ in range(3)]
            proxy.cut()
            await alice.post_objects(world.collection_id, later)
            got += [await asyncio.wait_for(anext(events), 10) for _ in range(4)]
            await events.aclose()
    finally:
        await proxy.close()
    assert proxy.accepted >= 2  # it did reconnect
    assert [e.data["id"] for e in got] == [o["id"] for o in first + later]
    # An event id resumes a new stream right after that event.
    async with AccordClient(server.make_url("").human_repr().rstrip("/"),
                            world.bob.reader.token) as client:
        events = client.stream(feed.id, last_event_id=got[4].id)
        rest = [await asyncio.wait_for(anext(events), 10) for _ in range(2)]
        await events.aclose()
    assert [e.data["id"] for e in rest] == [o["id"] for o in later[2:]]


async def test_errors_carry_the_taxii_fields(base_url, world):
    async with AccordClient(base_url, "nope.nope") as client:
        with pytest.raises(AuthenticationFailed) as caught:
            await client.collections()
    assert caught.value.http_status == 401 and caught.value.title == "Authentication required"
    async with AccordClient("http://127.0.0.1:9", world.bob.reader.token) as client:
        with pytest.raises(ServerUnreachable, match="cannot reach"):
            await client.discovery()
        with pytest.raises(ServerUnreachable):
            await anext(client.stream("00000000-0000-0000-0000-000000000000"))


async def test_sync_wrapper(base_url, world):
    def work() -> tuple[list[dict], int]:
        with SyncAccordClient(base_url, world.alice.contributor.token) as client:
            result = client.post_objects(world.collection_id, [indicator("192.0.2.55")])
            objects = [o for p in client.pages(world.collection_id) for o in p.objects]
            return objects, result.success_count

    # In a thread: the test server runs on this thread's event loop.
    objects, stored = await asyncio.to_thread(work)
    assert stored == 1 and len(objects) == 1
