"""Every console route table, and what the application needs to render pages."""

from __future__ import annotations

from aiohttp import web

from server.console import admin, auth, feeds, review, views
from server.console.auth import ATTEMPTS
from server.console.pages import ENV, environment

ROUTES = (auth.routes, views.routes, feeds.routes, admin.routes, review.routes)


def setup(app: web.Application) -> None:
    """Give the application the console's template environment."""
    app[ENV] = environment()
    app[ATTEMPTS] = {}
