"""Helpers for feed tests: create feeds over HTTP, read Server-Sent Events, receive webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass, field

import aiohttp
import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.store.records import NewApiKey


def json_auth(key: NewApiKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.token}", "Content-Type": "application/json"}


async def create_feed(http: aiohttp.ClientSession, base_url: str, key: NewApiKey,
                      **spec: object) -> dict:
    """Create a feed; unless its filter says otherwise it asks for warninglisted values too
    (the tests' addresses are RFC 5737 documentation ranges, on the shipped lists)."""
    spec.setdefault("name", "test feed")
    filt = spec.setdefault("filter", {})
    if isinstance(filt, dict):
        spec["filter"] = {"include_warninglisted": True, **filt}
    async with http.post(f"{base_url}/api/v1/feeds", data=orjson.dumps(spec),
                         headers=json_auth(key)) as resp:
        body = orjson.loads(await resp.read())
        assert resp.status == 201, body
        return body


@dataclass
class Event:
    id: str
    data: dict
    kind: str = "object"  # the SSE `event:` field


class SseReader:
    """Reads events from an open SSE response, with a bound on every wait."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp
        self.heartbeats = 0

    async def next(self, timeout: float = 10) -> Event | None:
        """The next event, or None if none arrives within timeout."""
        fields: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = await asyncio.wait_for(self.resp.content.readline(), left)
            except TimeoutError:
                return None
            if not line:
                return None
            text = line.decode().rstrip("\n")
            if text.startswith(":"):
                self.heartbeats += 1
                continue
            if text == "":
                if "data" in fields:
                    return Event(fields.get("id", ""), orjson.loads(fields["data"]),
                                 fields.get("event", "message"))
                fields = {}
                continue
            name, _, value = text.partition(": ")
            fields[name] = value

    async def take(self, count: int, timeout: float = 10) -> list[Event]:
        events = []
        for _ in range(count):
            event = await self.next(timeout)
            assert event is not None, f"only {len(events)} of {count} events arrived"
            events.append(event)
        return events


def verify(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """The receiver's check of X-Accord-Signature, as the README shows it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body,
                        hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(parts["t"])) <= tolerance_s
    return fresh and hmac.compare_digest(expected, parts["v1"])


@dataclass
class Receiver:
    """A webhook endpoint on loopback that fails its first `fail_first` requests."""

    fail_first: int = 0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    accepted: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        if len(self.requests) <= self.fail_first:
            return web.Response(status=503)
        self.accepted.append((dict(request.headers), body))
        return web.Response(status=204)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("/hook"))

    async def close(self) -> None:
        if self.server:
            await self.server.close()


async def open_stream(http: aiohttp.ClientSession, base_url: str, key: NewApiKey, feed_id: str,
                      *, beginning: bool = False) -> tuple[aiohttp.ClientResponse, SseReader]:
    """A feed's event stream opened with this key (200 checked), and a reader of it."""
    url = f"{base_url}/api/v1/feeds/{feed_id}/stream" + ("?from=beginning" if beginning else "")
    resp = await http.get(url, headers={"Authorization": f"Bearer {key.token}"}, timeout=None)
    assert resp.status == 200
    return resp, SseReader(resp)
