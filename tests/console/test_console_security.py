"""The console over HTTP: sessions, CSRF, lockout, headers, inert untrusted content, and the
visibility predicate on every page (a hidden object is a 404 exactly like an unknown one)."""

from __future__ import annotations

import uuid

import aiohttp
import pyotp

from server.store import groups, users
from tests.console.conftest import PASSWORD, accept, csrf_of, invite, next_code
from tests.helpers import indicator, post


async def _sign_in(base: str, email: str, password: str, code: str = ""
                   ) -> tuple[int, str, aiohttp.ClientResponse, aiohttp.ClientSession]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{base}/console/sign-in") as resp:
        token = csrf_of(await resp.text())
    async with http.post(f"{base}/console/sign-in", allow_redirects=False, data={
            "csrf": token, "email": email, "password": password, "code": code}) as resp:
        return resp.status, await resp.text(), resp, http


async def test_pages_need_a_session(http, base_url):
    async with http.get(f"{base_url}/console/", allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/console/sign-in"
    async with http.get(f"{base_url}/console/sign-in") as resp:
        assert resp.status == 200 and "<form" in await resp.text()


async def test_security_headers_on_every_page(http, base_url):
    async with http.get(f"{base_url}/console/sign-in") as resp:
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert "<script" not in await resp.text()


async def test_session_cookie_flags(pool, world, base_url):
    email, token = await invite(pool, world.alice.org_id)
    http, _ = await accept(base_url, token, totp=False)
    await http.close()
    status, _, resp, http = await _sign_in(base_url, email, PASSWORD)
    await http.close()
    assert status == 303
    cookie = resp.cookies["accord_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/console/"
    # Plain HTTP and no trusted proxy: not Secure (X-Forwarded-Proto alone is not believed).
    assert not cookie["secure"]


async def test_csrf_is_refused_without_the_token(world, people):
    alice = await people(world.alice.org_id)
    status, _, _ = await alice.post("/console/search", {"q": "x"}, csrf=False)
    assert status == 403
    status, _, _ = await alice.post("/console/search", {"q": "x", "csrf": "forged"},
                                    csrf=False)
    assert status == 403
    status, _, _ = await alice.post("/console/search", {"q": "x"})
    assert status == 200
    # A sign-in form without the token is refused too.
    async with aiohttp.ClientSession() as fresh, fresh.post(
            f"{alice.base}/console/sign-in",
            data={"email": alice.email, "password": PASSWORD}) as resp:
        assert resp.status == 403


async def test_totp_is_required_once_set(pool, world, base_url):
    email, token = await invite(pool, world.alice.org_id)
    http, secret = await accept(base_url, token, totp=True)
    await http.close()
    status, _, _, http = await _sign_in(base_url, email, PASSWORD)
    await http.close()
    assert status == 401
    status, _, _, http = await _sign_in(base_url, email, PASSWORD, next_code(secret))
    await http.close()
    assert status == 303


async def test_a_totp_code_signs_in_once(pool, world, base_url):
    email, token = await invite(pool, world.alice.org_id)
    http, secret = await accept(base_url, token, totp=True)
    await http.close()
    code = next_code(secret)
    status, _, _, http = await _sign_in(base_url, email, PASSWORD, code)
    await http.close()
    assert status == 303
    # The same code again, within its window: refused like a wrong one, and audited.
    status, html, _, http = await _sign_in(base_url, email, PASSWORD, code)
    await http.close()
    assert status == 401 and "wrong" in html
    # So is the code that confirmed the authenticator at the invitation (an earlier step).
    status, _, _, http = await _sign_in(base_url, email, PASSWORD, pyotp.TOTP(secret).now())
    await http.close()
    assert status == 401
    async with pool.acquire() as conn:
        details = await conn.fetchval(
            "SELECT details FROM audit_log WHERE action = 'user.signin_failed'"
            " AND subject = $1 ORDER BY seq LIMIT 1",
            str((await users.credentials(conn, email)).user_id))
    assert '"replayed": true' in details


async def test_repeated_failures_lock_the_account(pool, world, base_url, settings):
    email, token = await invite(pool, world.alice.org_id)
    http, _ = await accept(base_url, token, totp=False)
    await http.close()
    for _ in range(settings.console_max_failures):
        status, _, _, http = await _sign_in(base_url, email, "wrong password, wrong")
        await http.close()
        assert status == 401
    # Locked now: even the right password is refused for a while.
    status, html, _, http = await _sign_in(base_url, email, PASSWORD)
    await http.close()
    assert status == 429 and "locked" in html


async def test_sign_out_and_revocation_end_sessions_at_once(world, people):
    admin = await people(world.alice.org_id)
    other = await people(world.alice.org_id, "reader")
    assert (await other.get("/console/"))[0] == 200
    status, _, _ = await admin.post(f"/console/admin/users/{other.user_id}/revoke", {},
                                    from_page="/console/admin")
    assert status == 303
    assert (await other.get("/console/"))[0] == 303  # back to sign-in
    status, _, _ = await admin.post("/console/sign-out", {})
    assert status == 303
    assert (await admin.get("/console/"))[0] == 303


async def test_untrusted_strings_render_inert(world, people, http, base_url):
    hostile = indicator("198.51.100.66", name="<script>alert(1)</script>",
                        description='"><img src=x onerror=alert(2)>',
                        external_references=[
                            {"source_name": "x", "url": "javascript:alert(3)"},
                            {"source_name": "y", "url": "https://example.org/a?b=<c>"}])
    await post(http, base_url, world.collection_id, world.alice.contributor, hostile)
    bob = await people(world.bob.org_id, "reader")
    status, html, _ = await bob.get(f"/console/objects/{hostile['id']}")
    assert status == 200
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html.lower()
    assert "javascript:alert(3)" in html  # shown as text
    assert ('href="https://example.org/a?b=&lt;c&gt;" rel="noopener noreferrer nofollow"'
            in html)


async def test_hidden_object_is_a_404_exactly_like_an_unknown_one(world, people, http,
                                                                  base_url):
    obj = indicator("198.51.100.67")
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    mallory = await people(world.mallory.org_id, "reader")
    hidden = await mallory.get(f"/console/objects/{obj['id']}")
    unknown = await mallory.get(f"/console/objects/indicator--{uuid.uuid4()}")
    assert hidden[0] == unknown[0] == 404
    assert hidden[1] == unknown[1]
    ignore = {"Date", "X-Request-ID", "Content-Length"}
    assert ({k: v for k, v in hidden[2].headers.items() if k not in ignore}
            == {k: v for k, v in unknown[2].headers.items() if k not in ignore})
    # Nor does search find it.
    status, html, _ = await mallory.post("/console/search", {"q": obj["id"]},
                                         from_page="/console/search")
    assert status == 200 and f'/console/objects/{obj["id"]}' not in html
    assert "No objects." in html
    # The control: bob, in the group, finds it by the same search.
    bob = await people(world.bob.org_id, "reader")
    status, html, _ = await bob.post("/console/search", {"q": obj["id"]},
                                     from_page="/console/search")
    assert f'/console/objects/{obj["id"]}' in html


async def test_removed_member_loses_the_groups_pages_at_once(world, people, http, base_url,
                                                             pool):
    obj = indicator("198.51.100.68")
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    carol = await people(world.carol.org_id, "reader")
    assert (await carol.get(f"/console/objects/{obj['id']}"))[0] == 200
    assert (await carol.get(f"/console/groups/{world.group_id}"))[0] == 200
    async with pool.acquire() as conn:
        await groups.remove_member(conn, world.group_id, world.carol.org_id)
    assert (await carol.get(f"/console/objects/{obj['id']}"))[0] == 404
    assert (await carol.get(f"/console/groups/{world.group_id}"))[0] == 404


async def test_roles_limit_pages(world, people):
    reader = await people(world.alice.org_id, "reader")
    assert (await reader.get("/console/admin"))[0] == 403
    assert (await reader.get("/console/share"))[0] == 403


async def test_french(world, people):
    alice = await people(world.alice.org_id)
    status, html, _ = await alice.get("/console/", headers={"Accept-Language": "fr-FR,fr"})
    assert status == 200 and "Se déconnecter" in html and 'lang="fr"' in html
