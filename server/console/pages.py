"""What every console page shares: the route table, sessions, CSRF, rendering, errors.

Each handler is wrapped by `page`: it resolves the session to a principal on every request
(exactly like an API key: account live, role and organisation read now), refuses a POST
without the session's CSRF token, renders domain errors as pages (a hidden object is a 404
exactly like an unknown one) and sets the security headers.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from schemas.principal import Role
from server.config import SETTINGS
from server.console import i18n
from server.console.i18n import N_
from server.console.security import HEADERS, same_token, set_cookie
from server.db.pool import POOL
from server.errors import AccordError, BadRequest, Forbidden, NotFound, http_status
from server.store import sessions
from server.web.apis import Api, RouteTable
from server.web.auth import PRINCIPAL, public

log = logging.getLogger("accord.console")

CONSOLE_API = Api("console", "/console/", "text/html; charset=utf-8")
ROOT = "/console/"
SESSION_COOKIE = "accord_session"
# Forms shown before signing in carry a token matched against this cookie (double submit).
ANON_CSRF_COOKIE = "accord_csrf"

SESSION = web.RequestKey("console_session", sessions.Session)
FORM = web.RequestKey("console_form", MultiDictProxy)
_ANON_TOKEN = web.RequestKey("console_anon_csrf", str)
ENV = web.AppKey("console_templates", jinja2.Environment)

PageHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def environment() -> jinja2.Environment:
    """The template environment: autoescape on for every template, undefined is an error."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True,
    )


def table() -> RouteTable:
    """A route table of console pages."""
    return RouteTable(CONSOLE_API)


def session_of(request: web.Request) -> sessions.Session:
    """The signed-in session of a page that requires one."""
    return request[SESSION]


def form_of(request: web.Request) -> MultiDictProxy:
    """The posted form (already read and CSRF-checked)."""
    return request[FORM]


def field(request: web.Request, name: str, *, required: bool = True, limit: int = 1000) -> str:
    """One text field of the posted form, stripped; BadRequest if missing or too long."""
    value = form_of(request).get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise BadRequest(f"{name} is required")
    if len(value) > limit:
        raise BadRequest(f"{name} is too long")
    return value


def redirect(location: str) -> web.Response:
    """303 See Other to a console path (never an absolute URL from input)."""
    return web.Response(status=303, headers={"Location": location})


def render(request: web.Request, template: str, code: int = 200,
           **context: Any) -> web.Response:
    """Render a template with the request's language, session and CSRF token."""
    lang = i18n.language_of(request)
    catalogue = i18n.translations(lang)
    session = request.get(SESSION)
    csrf = session.csrf if session else request.get(_ANON_TOKEN, "")
    html = request.app[ENV].get_template(template).render(
        _=catalogue.gettext, ngettext=catalogue.ngettext, lang=lang, session=session,
        csrf=csrf, languages=i18n.LANGUAGES, **context,
    )
    return web.Response(status=code, text=html, content_type="text/html", charset="utf-8")

_ERROR_TITLES = {400: N_("The request could not be used"), 401: N_("Sign in first"),
                 403: N_("You may not do this"), 404: N_("Not found"), 409: N_("Conflict"),
                 413: N_("Too large"), 415: N_("Not a supported file")}


def _error_page(request: web.Request, status: int, message: str | None) -> web.Response:
    # A 404 never says more than "not found": a hidden thing answers like an absent one.
    return render(request, "error.html", code=status,
                  title=_ERROR_TITLES.get(status, N_("Error")),
                  message=None if status == 404 else message)


def page(*, signed_in: bool = True, role: Role | None = None,
         ) -> Callable[[PageHandler], PageHandler]:
    """Wrap a console handler: session, role, CSRF, errors as pages, security headers."""

    def wrap(handler: PageHandler) -> PageHandler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            response = await _run(request, handler, signed_in, role)
            response.headers.update(HEADERS)
            return response

        # The API-key middleware lets it through; `page` authenticates by session instead.
        return public(wrapper)

    return wrap


async def _run(request: web.Request, handler: PageHandler, signed_in: bool,
               role: Role | None) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    if token and len(token) < 200:
        async with request.app[POOL].acquire() as conn:
            session = await sessions.resolve(conn, token, request.app[SETTINGS]
                                             .console_idle_minutes * 60)
    if session is not None:
        request[SESSION] = session
        request[PRINCIPAL] = session.principal  # the access log names the user
    elif signed_in:
        return redirect(ROOT + "sign-in")
    anon = request.cookies.get(ANON_CSRF_COOKIE)
    fresh_anon = None
    if session is None:
        if not (anon and 20 < len(anon) < 100):
            anon = fresh_anon = secrets.token_urlsafe(32)
        request[_ANON_TOKEN] = anon
    try:
        if role is not None and not session.principal.has_role(role):  # type: ignore[union-attr]
            raise Forbidden("your role does not allow this")
        if request.method == "POST":
            form = await request.post()
            expected = session.csrf if session else (None if fresh_anon else anon)
            if not same_token(expected, form.get("csrf")):
                raise Forbidden("the form is stale or did not come from this site: reload it")
            request[FORM] = form
        response = await handler(request)
    except AccordError as exc:
        response = _error_page(request, http_status(exc), exc.description)
    except web.HTTPRequestEntityTooLarge:
        response = _error_page(request, 413, "the file is larger than this server accepts")
    except Exception:
        log.exception("unhandled error")
        response = _error_page(request, 500, None)
    if fresh_anon:
        set_cookie(request, response, ANON_CSRF_COOKIE, fresh_anon)
    return response


def not_found() -> NotFound:
    """The one answer for an absent and a hidden thing."""
    return NotFound("not found")
