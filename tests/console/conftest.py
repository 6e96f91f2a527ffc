"""Console fixtures: people with accounts, signed in over real HTTP with their own cookies."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import asyncpg
import pyotp
import pytest

from server.store import users

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "correct horse battery staple"


def next_code(secret: str) -> str:
    """The authenticator's code of the next time-step: valid now (one step of drift is
    allowed) and later than any step used before it (each code signs in once)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = CSRF.search(html)
    assert match, html[:2000]
    return match.group(1)


@dataclass
class Person:
    """A console user with a signed-in browser-like HTTP session."""

    http: aiohttp.ClientSession
    base: str
    email: str
    user_id: uuid.UUID
    totp_secret: str | None

    async def get(self, path: str, **kw) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.get(self.base + path, allow_redirects=False, **kw) as resp:
            return resp.status, await resp.text(), resp

    async def post(self, path: str, data: dict, *, from_page: str | None = None,
                   csrf: bool = True) -> tuple[int, str, aiohttp.ClientResponse]:
        """POST a form, with the CSRF token of `from_page` (default: the home page)."""
        form = dict(data)
        if csrf:
            _, html, _ = await self.get(from_page or "/console/")
            form["csrf"] = csrf_of(html)
        async with self.http.post(self.base + path, data=form, allow_redirects=False) as resp:
            return resp.status, await resp.text(), resp


async def invite(pool: asyncpg.Pool, org_id: uuid.UUID, role: str = "org-admin",
                 ) -> tuple[str, str]:
    """An invitation for a fresh address in the organisation: (email, token)."""
    email = f"p-{uuid.uuid4().hex[:8]}@example.org"
    async with pool.acquire() as conn:
        _, token = await users.invite_user(conn, org_id, email, "Pat Doe", role, 1)
    return email, token


async def accept(base: str, token: str, *, totp: bool) -> tuple[aiohttp.ClientSession, str | None]:
    """Accept an invitation over HTTP (password, maybe TOTP); the signed-in session."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{base}/console/invite/{token}") as resp:
        html = await resp.text()
        assert resp.status == 200, html
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', html).group(1)
    form = {"csrf": csrf_of(html), "password": PASSWORD, "confirm": PASSWORD,
            "secret": secret, "code": pyotp.TOTP(secret).now() if totp else ""}
    async with http.post(f"{base}/console/invite/{token}", data=form,
                         allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    return http, secret if totp else None


@pytest.fixture
async def people(pool: asyncpg.Pool, base_url: str) -> AsyncIterator:
    """A maker of signed-in people; their HTTP sessions are closed at the end."""
    made: list[aiohttp.ClientSession] = []

    async def make(org_id: uuid.UUID, role: str = "org-admin", *, totp: bool = False) -> Person:
        email, token = await invite(pool, org_id, role)
        http, secret = await accept(base_url, token, totp=totp)
        made.append(http)
        async with pool.acquire() as conn:
            creds = await users.credentials(conn, email)
        return Person(http, base_url, email, creds.user_id, secret)

    yield make
    for http in made:
        await http.close()
