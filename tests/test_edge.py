"""The HTTP edge: every route not marked public needs a key; stalled request heads are cut."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app, server_options
from server.config import Settings

MALFORMED = ["Bearer", "Bearer nodot", "Bearer ak_x.", "Basic !!!", "Token abc", "Bearer é.é"]


def _concrete(path: str) -> str:
    """A route template with each {name} or {name:regex} filled with a plausible value."""
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name == "fmt":
            return "txt"
        if name == "object_id":
            return f"indicator--{uuid.uuid4()}"
        if name == "key_id":
            return "ak_0000000000000000"
        return str(uuid.uuid4())
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", fill, path)


def _routes(server: TestServer) -> list[tuple[str, str, bool]]:
    found = []
    for route in server.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        public = getattr(route.handler, "__accord_public__", False)
        found.append((route.method, route.resource.canonical, public))
    return found


async def test_every_route_not_marked_public_answers_401_without_a_good_key(
    http, base_url, server
):
    routes = _routes(server)
    guarded = [(m, p) for m, p, public in routes if not public]
    assert len(guarded) > 30  # the walk found the router's routes
    for method, template in guarded:
        url = base_url + _concrete(template)
        for header in [None, *MALFORMED]:
            headers = {} if header is None else {"Authorization": header}
            async with http.request(method, url, headers=headers) as resp:
                assert resp.status == 401, (method, template, header)
                assert "WWW-Authenticate" in resp.headers


async def test_public_routes_are_only_the_documented_few(server):
    public = sorted(p for _, p, is_public in _routes(server) if is_public)
    assert public == ["/api/v1/openapi.json", "/api/v1/schemas/accord-extension.json",
                      "/healthz", "/metrics", "/readyz"]


@pytest.fixture
async def impatient(database_url) -> AsyncIterator[str]:
    settings = Settings(header_timeout_s=0.5)
    server = TestServer(create_app(settings, database_url), host="127.0.0.1")
    await server.start_server(**server_options(settings))
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_a_connection_stalled_in_its_headers_is_closed(impatient):
    parts = urlsplit(impatient)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        await writer.drain()
        # The server closes it (EOF); without a bound this would wait for aiohttp's hour.
        assert await asyncio.wait_for(reader.read(), 20) == b""
    finally:
        writer.close()


async def test_a_connection_that_sends_nothing_is_closed(impatient):
    parts = urlsplit(impatient)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        assert await asyncio.wait_for(reader.read(), 20) == b""
    finally:
        writer.close()
