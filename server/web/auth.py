"""API key authentication: Bearer (or Token) `<key id>.<secret>`, or HTTP Basic (id, secret)."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from schemas.principal import Principal
from server.db.pool import POOL
from server.errors import Unauthorized
from server.store.keys import authenticate, secret_hash

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_MAX_CREDENTIAL = 512
# Key ids and secrets are URL-safe ASCII (store.keys); anything else cannot be a key and is
# refused before it reaches hashing or the database, exactly like an unknown key.
_TOKEN_PART = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Set on each request that passed the auth middleware.
PRINCIPAL = web.RequestKey("principal", Principal)


# Past this many remembered keys the cache starts again empty (keys are few; ids are bounded
# before anything is cached, and only verified keys are ever remembered).
_MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class _Verified:
    digest: bytes
    principal: Principal
    until: float


class KeyCache:
    """API keys this process verified in the last `ttl` seconds, so that a request costs no
    database round trip for its principal.

    Staleness is bounded twice: every revocation NOTIFYs (store.keys.KEYS_CHANNEL) and the
    process's listener clears the cache when it arrives; and an entry is trusted for `ttl`
    seconds at most, whatever happened to the notification. While the listener is not
    connected (`live` false) nothing is remembered and every request asks the database.
    Only a key whose secret matched is remembered, with the secret's hash: a wrong secret
    for a cached key id is refused by the database as before.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, _Verified] = {}
        self._live = False
        # Moves on every clear, so that a database answer read before a revocation arrived
        # is not remembered after it.
        self.generation = 0

    @property
    def live(self) -> bool:
        """Whether revocations reach this process (its listener is connected)."""
        return self._live

    def set_live(self, live: bool) -> None:
        """The listener (re)connected or was lost: forget everything either way."""
        self._live = live and self.ttl > 0
        self.clear()

    def clear(self, *_: object) -> None:
        """Forget every key (a key was revoked somewhere; the payload is not needed)."""
        self._entries = {}
        self.generation += 1

    def get(self, key_id: str, secret: str) -> Principal | None:
        """The remembered principal of this key and secret, if still fresh."""
        entry = self._entries.get(key_id)
        if entry is None or not self._live:
            return None
        if entry.until <= self._clock():
            del self._entries[key_id]
            return None
        if not hmac.compare_digest(entry.digest, secret_hash(secret)):
            return None
        return entry.principal

    def put(self, key_id: str, secret: str, principal: Principal, generation: int) -> None:
        """Remember a key the database just verified (read at `generation`)."""
        if not self._live or generation != self.generation:
            return
        if len(self._entries) >= _MAX_CACHED:
            self._entries = {}
        self._entries[key_id] = _Verified(secret_hash(secret), principal,
                                          self._clock() + self.ttl)


KEY_CACHE = web.AppKey("key_cache", KeyCache)


def forget_keys(app: web.Application) -> None:
    """After a revocation this process made: refuse from its next request on, without
    waiting for the NOTIFY to come back (other processes hear that)."""
    cache = app.get(KEY_CACHE)
    if cache is not None:
        cache.clear()


def principal_of(request: web.Request) -> Principal:
    """The authenticated principal of a request that passed the auth middleware."""
    return request[PRINCIPAL]


def public(handler: Handler) -> Handler:
    """Mark a handler as reachable without credentials; every other route needs a key."""
    handler.__accord_public__ = True  # type: ignore[attr-defined]
    return handler


def _credentials(header: str) -> tuple[str, str] | None:
    creds = _parse_credentials(header)
    if creds is None or not all(_TOKEN_PART.fullmatch(part) for part in creds):
        return None
    return creds


def _parse_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value or len(value) > _MAX_CREDENTIAL:
        return None
    # `Token` is what taxii2-client's TokenAuth sends (taxii2client/common.py:
    # `'Token {}'.format(self.key)`), and with it OpenCTI's TAXII 2 connector (`use_token`,
    # external-import/taxii2/src/connector/client_taxii.py) and Cortex XSOAR's TAXII 2 feed
    # (user `_api_token_key`, Packs/ApiModules/Scripts/TAXII2ApiModule): the same key as Bearer.
    if scheme.lower() in ("bearer", "token"):
        key_id, dot, secret = value.partition(".")
        return (key_id, secret) if dot and key_id and secret else None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        key_id, colon, secret = decoded.partition(":")
        return (key_id, secret) if colon and key_id and secret else None
    return None


async def principal_for(request: web.Request) -> Principal:
    """Resolve the request's credentials to a principal, or raise Unauthorized."""
    header = request.headers.get("Authorization")
    if not header:
        raise Unauthorized("send an API key: 'Authorization: Bearer <key id>.<secret>'")
    creds = _credentials(header)
    principal = None
    if creds is not None:
        cache = request.app.get(KEY_CACHE)
        if cache is not None and (principal := cache.get(*creds)) is not None:
            return principal
        generation = cache.generation if cache is not None else 0
        async with request.app[POOL].acquire() as conn:
            principal = await authenticate(conn, *creds)
        if principal is not None and cache is not None:
            cache.put(*creds, principal, generation)
    if principal is None:
        raise Unauthorized("the API key is unknown, revoked or malformed")
    return principal


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Secure by default: every route needs a live key unless its handler is marked public."""
    route_handler = getattr(request.match_info, "handler", None)
    if not getattr(route_handler, "__accord_public__", False):
        request[PRINCIPAL] = await principal_for(request)
    return await handler(request)
