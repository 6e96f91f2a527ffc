"""API key authentication: Bearer (or Token) `<key id>.<secret>`, or HTTP Basic (id, secret)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from schemas.principal import Principal
from server.db.pool import POOL
from server.errors import Unauthorized
from server.store.keys import authenticate

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_MAX_CREDENTIAL = 512
# Key ids and secrets are URL-safe ASCII (store.keys); anything else cannot be a key and is
# refused before it reaches hashing or the database, exactly like an unknown key.
_TOKEN_PART = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Set on each request that passed the auth middleware.
PRINCIPAL = web.RequestKey("principal", Principal)


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
        async with request.app[POOL].acquire() as conn:
            principal = await authenticate(conn, *creds)
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
