"""Signing in and out, accepting an invitation, choosing a language."""

from __future__ import annotations

import time
from collections import deque

from aiohttp import web

from server.config import SETTINGS
from server.console import i18n
from server.console.i18n import N_
from server.console.pages import (
    ROOT,
    SESSION_COOKIE,
    field,
    not_found,
    page,
    redirect,
    render,
    session_of,
    table,
)
from server.console.security import (
    MIN_PASSWORD,
    check_password,
    hash_password,
    new_totp_secret,
    set_cookie,
    totp_step,
    totp_uri,
)
from server.db.pool import POOL
from server.errors import BadRequest
from server.store import audit, sessions, users

routes = table()

# Sign-in attempts per client address in a sliding minute (per process), besides the
# per-account lockout: it slows guessing across many accounts. The peer address only:
# X-Forwarded-For is never believed.
_PER_MINUTE = 30
ATTEMPTS = web.AppKey("console_signin_attempts", dict)


def _too_many(request: web.Request) -> bool:
    window: dict[str, deque[float]] = request.app[ATTEMPTS]
    peer = request.remote or "?"
    now = time.monotonic()
    times = window.setdefault(peer, deque())
    while times and times[0] < now - 60:
        times.popleft()
    if len(times) >= _PER_MINUTE:
        return True
    times.append(now)
    if len(window) > 10_000:  # bounded: forget the quietest clients
        for key in [k for k, v in window.items() if not v][:5000]:
            del window[key]
    return False


def _user_entry(action: str, user: users.Credentials | users.User, **details: object
                ) -> audit.AuditEntry:
    user_id = user.user_id if isinstance(user, users.Credentials) else user.id
    return audit.AuditEntry(action=action, org_id=user.org_id, subject=str(user_id),
                            details=details, actor_org=user.org_id,
                            actor_key=sessions.principal_key(user_id))


async def _open_session(request: web.Request, user_id) -> web.Response:
    settings = request.app[SETTINGS]
    ttl = settings.console_session_hours * 3600
    async with request.app[POOL].acquire() as conn:
        token = await sessions.create_session(conn, user_id, ttl)
    response = redirect(ROOT)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=ttl)
    return response


@routes.get(ROOT + "sign-in")
@page(signed_in=False)
async def sign_in_form(request: web.Request) -> web.Response:
    """The sign-in form."""
    return render(request, "sign_in.html", error=None, email="")


@routes.post(ROOT + "sign-in")
@page(signed_in=False)
async def sign_in(request: web.Request) -> web.Response:
    """Check address, password and (where set) TOTP code; lock after repeated failures."""
    email = field(request, "email", limit=254)
    password = field(request, "password", limit=1000)
    code = field(request, "code", required=False, limit=20)
    if _too_many(request):
        return render(request, "sign_in.html", code=429, email=email,
                      error=N_("Too many attempts from here; wait a minute."))
    settings = request.app[SETTINGS]
    async with request.app[POOL].acquire() as conn:
        creds = await users.credentials(conn, email)
        if creds is not None and creds.locked:
            await audit.record(conn, [_user_entry("user.signin_locked", creds)])
            return render(request, "sign_in.html", code=429, email=email,
                          error=N_("This account is locked for a while after repeated failures."))
        ok = await check_password(creds.password_hash if creds else None, password)
        replayed = False
        if ok and creds is not None and creds.totp_secret:
            step = totp_step(creds.totp_secret, code)
            # A code is good once: one seen by a shoulder or a phishing page is spent.
            ok = step is not None and await users.use_totp_step(conn, creds.user_id, step)
            replayed = step is not None and not ok
        if creds is None or not ok:
            if creds is not None:
                async with conn.transaction():
                    locked = await users.record_failure(
                        conn, creds.user_id, settings.console_max_failures,
                        settings.console_lock_minutes * 60)
                    await audit.record(conn, [_user_entry("user.signin_failed", creds,
                                                          locked=locked, replayed=replayed)])
            return render(request, "sign_in.html", code=401, email=email,
                          error=N_("The address, password or code is wrong."))
        async with conn.transaction():
            await users.record_success(conn, creds.user_id)
            await audit.record(conn, [_user_entry("user.signed_in", creds)])
    return await _open_session(request, creds.user_id)


@routes.post(ROOT + "sign-out")
@page()
async def sign_out(request: web.Request) -> web.Response:
    """End the session now, here and everywhere it was copied."""
    session = session_of(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await sessions.end_session(conn, request.cookies[SESSION_COOKIE])
        await audit.record(conn, [audit.entry(session.principal, "user.signed_out",
                                              session.principal.org_id, str(session.user_id))])
    response = redirect(ROOT + "sign-in")
    response.del_cookie(SESSION_COOKIE, path="/console/")
    return response


async def _invitation(request: web.Request) -> tuple[str, users.User, bool]:
    token = request.match_info["token"]
    if len(token) > 100:
        raise not_found()
    async with request.app[POOL].acquire() as conn:
        user = await users.invited_user(conn, token)
        if user is None:
            raise not_found()
        required = await users.requires_totp(conn, user.org_id)
    return token, user, required


@routes.get(ROOT + "invite/{token}")
@page(signed_in=False)
async def invitation_form(request: web.Request) -> web.Response:
    """Set a password (and a second factor) for an invited account."""
    _, user, required = await _invitation(request)
    secret = new_totp_secret()
    return render(request, "invite.html", user=user, totp_required=required, secret=secret,
                  uri=totp_uri(secret, user.email), error=None, min_password=MIN_PASSWORD)


@routes.post(ROOT + "invite/{token}")
@page(signed_in=False)
async def accept_invitation(request: web.Request) -> web.Response:
    """Use the invitation once: store the argon2id hash, the TOTP secret, and sign in."""
    token, user, required = await _invitation(request)
    password = field(request, "password", limit=1000)
    secret = field(request, "secret", limit=64)
    code = field(request, "code", required=False, limit=20)
    error = None
    step = totp_step(secret, code) if code else None
    if len(password) < MIN_PASSWORD:
        error = N_("The password needs at least 12 characters.")
    elif password != field(request, "confirm", limit=1000):
        error = N_("The two passwords differ.")
    elif (required or code) and step is None:
        error = N_("The authenticator code does not match; check the device's clock.")
    if error:
        return render(request, "invite.html", code=400, user=user, totp_required=required,
                      secret=secret, uri=totp_uri(secret, user.email), error=error,
                      min_password=MIN_PASSWORD)
    hashed = await hash_password(password)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        activated = await users.accept_invitation(conn, token, hashed, secret if code else None,
                                                  step)
        if activated is None:
            raise not_found()
        await audit.record(conn, [_user_entry("user.activated", activated,
                                              totp=bool(code))])
    return await _open_session(request, activated.id)


@routes.post(ROOT + "language")
@page(signed_in=False)
async def language(request: web.Request) -> web.Response:
    """Remember the chosen language in a cookie."""
    lang = field(request, "lang", limit=5)
    if lang not in i18n.LANGUAGES:
        raise BadRequest("unknown language")
    response = redirect(ROOT)
    set_cookie(request, response, i18n.LANG_COOKIE, lang, max_age=365 * 86400)
    return response
