"""Console security: password hashing (argon2id), TOTP (RFC 6238), CSRF, response headers."""

from __future__ import annotations

import asyncio
import hmac
import time
from datetime import UTC, datetime

import pyotp
from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.config import SETTINGS

_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# A hash of nothing anyone knows: an unknown account costs the same time as a known one.
_DUMMY = _HASHER.hash("accord: no such account")
MIN_PASSWORD = 12

# Script only from the console's own files (the vendored htmx), never inline; htmx's
# requests go to the console itself. Every page also works without JavaScript.
CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self';"
       " img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


async def hash_password(password: str) -> str:
    """An argon2id hash (off the event loop: it is slow on purpose)."""
    return await asyncio.to_thread(_HASHER.hash, password)


async def check_password(stored: str | None, password: str) -> bool:
    """Whether the password matches the stored hash; None (no account) never matches."""
    def verify() -> bool:
        try:
            return _HASHER.verify(stored or _DUMMY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret."""
    return pyotp.random_base32()


def totp_uri(secret: str, account: str) -> str:
    """The otpauth:// URI authenticator apps read."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name="Accord")


def totp_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The RFC 6238 time-step a 6-digit code belongs to, if valid now (one step of clock
    drift either way), else None. A caller refuses steps already used (no replay)."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    try:
        totp = pyotp.TOTP(secret)
        totp.byte_secret()
    except (ValueError, TypeError):  # a malformed secret in the invitation form
        return None
    now = totp.timecode(datetime.fromtimestamp(time.time() if at is None else at, UTC))
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def same_token(expected: str | None, given: object) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


def secure_cookie(request: web.Request) -> bool:
    """Whether cookies get the Secure flag: by setting, or when the request came over TLS."""
    settings = request.app[SETTINGS]
    if settings.console_secure_cookie != "auto":
        return settings.console_secure_cookie == "always"
    if request.secure:
        return True
    # Only a proxy the deployment names may say the client spoke TLS.
    return (settings.console_trust_proxy
            and request.headers.get("X-Forwarded-Proto", "").lower() == "https")


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               max_age: int | None = None) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Secure behind TLS, for /console/ only."""
    response.set_cookie(name, value, max_age=max_age, path="/console/", httponly=True,
                        samesite="Strict", secure=secure_cookie(request))
