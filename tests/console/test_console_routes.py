"""Every console route is secure by default: a session for each page but the sign-in ones,
a CSRF token for each form, the security headers on each answer; cookie flags by setting."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.console.pages import CONSOLE_API
from server.web.apis import ROUTE_APIS

# Reachable without a session: signing in, invitations, the language, the stylesheet.
_PUBLIC = {"/console/sign-in", "/console/invite/{token}", "/console/language",
           "/console/static/{name}"}


def _console_routes(app) -> list[tuple[str, str]]:
    found = []
    for resource, api in app[ROUTE_APIS].items():
        if api is CONSOLE_API:
            for route in resource:
                if route.method != "HEAD":
                    found.append((route.method, resource.canonical))
    return sorted(found)


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: ("console.css" if m.group(0) == "{name}"
                                           else str(uuid.uuid4())), template)


async def test_every_console_route_needs_a_session_or_is_listed_public(server, base_url):
    routes = _console_routes(server.app)
    assert ("GET", "/console/") in routes and ("POST", "/console/share") in routes
    async with aiohttp.ClientSession() as anon:
        for method, template in routes:
            async with anon.request(method, base_url + _concrete(template),
                                    allow_redirects=False) as resp:
                assert resp.headers.get("X-Frame-Options") == "DENY", template
                assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
                if template in _PUBLIC:
                    # A public form still refuses a POST without its token.
                    if method == "POST":
                        assert resp.status == 403, template
                    continue
                assert resp.status == 303, (method, template, resp.status)
                assert resp.headers["Location"] == "/console/sign-in"


async def test_every_console_form_refuses_a_post_without_csrf(server, world, people):
    alice = await people(world.alice.org_id)
    for method, template in _console_routes(server.app):
        if method != "POST":
            continue
        status, _, _ = await alice.post(_concrete(template), {}, csrf=False)
        assert status == 403, template


@pytest.fixture
async def app_with(database_url: str, settings) -> AsyncIterator:
    servers: list[TestServer] = []

    async def start(**changes: object) -> str:
        test_server = TestServer(create_app(settings.model_copy(update=changes), database_url),
                                 host="127.0.0.1")
        await test_server.start_server()
        servers.append(test_server)
        return str(test_server.make_url("")).rstrip("/")

    yield start
    for s in servers:
        await s.close()


async def _cookie(base: str, headers: dict | None = None):
    """The console cookie a first visit sets (the sign-in form's CSRF cookie; the session
    cookie is set by the same function, whose flags the security tests check over HTTP)."""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/console/sign-in",
                                                         headers=headers) as resp:
        return resp.cookies["accord_csrf"]


async def test_secure_cookie_by_setting_or_trusted_proxy(app_with):
    always = await app_with(console_secure_cookie="always")
    assert (await _cookie(always))["secure"]
    proxied = await app_with(console_trust_proxy=True)
    assert (await _cookie(proxied, {"X-Forwarded-Proto": "https"}))["secure"]
    assert not (await _cookie(proxied))["secure"]
    untrusted = await app_with()
    cookie = await _cookie(untrusted, {"X-Forwarded-Proto": "https"})
    assert not cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"
