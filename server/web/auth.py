"""API key authentication: Bearer `<key id>.<secret>` or HTTP Basic (key id, secret)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable

from aiohttp import web

from schemas.principal import Principal
from server.db.pool import POOL
from server.errors import Unauthorized
from server.store.keys import authenticate

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_MAX_CREDENTIAL = 512
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
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value or len(value) > _MAX_CREDENTIAL:
        return None
    if scheme.lower() == "bearer":
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
