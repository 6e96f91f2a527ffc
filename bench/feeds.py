"""Feed benchmark: post-to-delivery latency over Server-Sent Events, and webhook throughput.

    python bench/feeds.py [--subscribers 200] [--objects 2000] [--database-url DSN]

Starts `accord serve` (embedded PostgreSQL unless --database-url), opens N stream
subscribers on loopback, posts indicators in small envelopes while they listen, and prints
p50/p99/max latency from the start of each POST to each subscriber's receipt. Then points
webhooks at a loopback receiver and prints deliveries/s and objects/s. Every loop is
bounded in count and time; everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import aiohttp
import orjson
from aiohttp import web
from common import AccordServer, describe_server, free_port

TAXII = "application/taxii+json;version=2.1"


def _indicator(i: int, sent: float) -> dict:
    stamp = "2026-11-29T00:00:00.000Z"
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": stamp, "modified": stamp, "name": f"bench {i} sent={sent!r}",
            "pattern": f"[ipv4-addr:value = '10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}']",
            "pattern_type": "stix", "valid_from": stamp}


async def _subscriber(http: aiohttp.ClientSession, url: str, headers: dict, want: int,
                      latencies: list[float], ready: asyncio.Event, deadline: float) -> int:
    """Count events as they arrive; the client must cost little, it shares the machine."""
    got, pending = 0, b""
    async with http.get(url, headers=headers, timeout=None) as resp:
        ready.set()
        while got < want and time.monotonic() < deadline:
            try:
                chunk = await asyncio.wait_for(resp.content.readany(),
                                               max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            if not chunk:
                break
            now = time.monotonic()
            *events, pending = (pending + chunk).split(b"\n\n")
            for event in events:
                at = event.find(b"sent=")
                if at >= 0:
                    latencies.append(now - float(event[at + 5:event.index(b'"', at)]))
                    got += 1
    return got


async def stream_latency(url: str, reader: str, contributor: str, collection: str,
                         subscribers: int, objects: int, per_post: int) -> dict:
    """Open the subscribers, post while they listen, return latency figures."""
    bearer = {"Authorization": f"Bearer {reader}"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.post(f"{url}/api/v1/feeds", headers=bearer,
                             json={"name": "bench", "filter": {"collections": [collection]}}
                             ) as resp:
            feed = (await resp.json())["id"]
        latencies: list[float] = []
        deadline = time.monotonic() + 120
        readies = [asyncio.Event() for _ in range(subscribers)]
        tasks = [asyncio.create_task(_subscriber(
            http, f"{url}/api/v1/feeds/{feed}/stream", bearer, objects, latencies, ev, deadline))
            for ev in readies]
        await asyncio.wait_for(asyncio.gather(*(ev.wait() for ev in readies)), 60)
        await asyncio.sleep(1)
        post_headers = {"Authorization": f"Bearer {contributor}", "Accept": TAXII,
                        "Content-Type": TAXII}
        started = time.monotonic()
        for n in range(0, objects, per_post):
            sent = time.monotonic()
            batch = [_indicator(n + i, sent) for i in range(min(per_post, objects - n))]
            async with http.post(f"{url}/taxii2/root/collections/{collection}/objects/",
                                 data=orjson.dumps({"objects": batch}),
                                 headers=post_headers) as resp:
                assert resp.status == 202, await resp.text()
            # A steady trickle, as members post, rather than one burst.
            await asyncio.sleep(0.02)
        posting = time.monotonic() - started
        received = await asyncio.gather(*tasks)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {"subscribers": subscribers, "objects": objects, "deliveries": sum(received),
            "expected": subscribers * objects, "post_seconds": round(posting, 2),
            "p50_ms": round(pct(0.50), 1), "p99_ms": round(pct(0.99), 1),
            "max_ms": round(ordered[-1] * 1000, 1), "mean_ms": round(
                statistics.fmean(ordered) * 1000, 1)}


async def webhook_throughput(url: str, reader: str, contributor: str, collection: str,
                             feeds: int, objects: int) -> dict:
    """Post objects to feeds with webhooks on a loopback receiver; measure delivery rate."""
    received: list[tuple[float, int]] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        received.append((time.monotonic(), len(orjson.loads(body)["objects"])))
        return web.Response(status=204)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        bearer = {"Authorization": f"Bearer {reader}"}
        async with aiohttp.ClientSession() as http:
            for i in range(feeds):
                async with http.post(f"{url}/api/v1/feeds", headers=bearer, json={
                    "name": f"hook {i}", "filter": {"collections": [collection]},
                    "webhook": {"url": f"http://127.0.0.1:{port}/hook"}}) as resp:
                    assert resp.status == 201, await resp.text()
            headers = {"Authorization": f"Bearer {contributor}", "Accept": TAXII,
                       "Content-Type": TAXII}
            started = time.monotonic()
            for n in range(0, objects, 500):
                batch = [_indicator(n + i, 0.0) for i in range(min(500, objects - n))]
                async with http.post(f"{url}/taxii2/root/collections/{collection}/objects/",
                                     data=orjson.dumps({"objects": batch}),
                                     headers=headers) as resp:
                    assert resp.status == 202
            deadline = time.monotonic() + 120
            while sum(n for _, n in received) < feeds * objects and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        elapsed = (received[-1][0] if received else time.monotonic()) - started
        delivered = sum(n for _, n in received)
        return {"feeds": feeds, "objects": objects, "deliveries": len(received),
                "objects_delivered": delivered, "expected": feeds * objects,
                "seconds": round(elapsed, 2),
                "deliveries_per_s": round(len(received) / elapsed, 1),
                "objects_per_s": round(delivered / elapsed)}
    finally:
        await runner.cleanup()


async def main(args: argparse.Namespace) -> None:
    env = {"ACCORD_WEBHOOK_ALLOW_PRIVATE": "true", "ACCORD_WEBHOOK_BACKOFF_S": "0.2",
           "ACCORD_HEARTBEAT_S": "5"}
    with AccordServer(args.database_url, env=env) as server:
        describe_server(server)
        contributor, collection = server.setup()
        reader = server.admin("key", "create", "--org", server.org, "--role", "reader",
                              "--quiet")
        figures = await stream_latency(server.base, reader, contributor, collection,
                                       args.subscribers, args.objects, args.per_post)
        print("stream latency:", orjson.dumps(figures).decode())
        figures = await webhook_throughput(server.base, reader, contributor, collection,
                                           args.webhook_feeds, args.webhook_objects)
        print("webhooks:", orjson.dumps(figures).decode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--per-post", type=int, default=10)
    parser.add_argument("--webhook-feeds", type=int, default=10)
    parser.add_argument("--webhook-objects", type=int, default=5000)
    parser.add_argument("--database-url")
    asyncio.run(main(parser.parse_args()))
