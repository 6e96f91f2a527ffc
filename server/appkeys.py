"""Typed application keys for what lives as long as the app."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from schemas.principal import Principal
from server.config import Settings
from server.feeds.notifier import Notifier
from server.feeds.shared import SharedReads

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
NOTIFIER = web.AppKey("notifier", Notifier)
DSN = web.AppKey("dsn", str)
SHARED_READS = web.AppKey("shared_reads", SharedReads)
# Set on each request by the auth and request-id middlewares.
PRINCIPAL = web.RequestKey("principal", Principal)
REQUEST_ID = web.RequestKey("request_id", str)
# (successes, failures) of a POST objects, for the metrics middleware.
INGESTED = web.RequestKey("ingested", tuple)


def principal_of(request: web.Request) -> Principal:
    """The authenticated principal of a request that passed the auth middleware."""
    return request[PRINCIPAL]
