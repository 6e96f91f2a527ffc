"""Cross-cutting middlewares: request id and access log, errors as TAXII error resources."""

from __future__ import annotations

import logging
import time
import uuid

import orjson
from aiohttp import web

from schemas.taxii import QueryError
from server.errors import AccordError, Unauthorized, http_status
from server.logs import redact_query, request_id_var
from server.web.apis import api_of
from server.web.auth import PRINCIPAL, Handler

log = logging.getLogger("accord.http")

# Set on each request by the request-id middleware.
REQUEST_ID = web.RequestKey("request_id", str)
_CHALLENGE = 'Bearer realm="accord", Basic realm="accord"'


def route_template(request: web.Request) -> str:
    """The matched route's path template (bounded, safe to log and to use as a label)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def error_response(
    request: web.Request,
    status: int,
    title: str,
    description: str,
    details: dict | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A TAXII 2.1 error resource (section 3.6.1) with the request id as error_id."""
    body = {
        "title": title,
        "description": description,
        "error_id": request.get(REQUEST_ID, ""),
        "http_status": str(status),
    }
    if details:
        body["details"] = details
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        # The route's API says: TAXII errors for TAXII, plain JSON for the JSON API and the
        # operations endpoints.
        headers={"Content-Type": api_of(request).error_media_type, **(headers or {})},
    )


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give each request an id, echo it, and log one access line (never with credentials).

    The line names the route template, the key id (not its secret) and the query string with
    credential-like parameters redacted; headers are never logged.
    """
    request_id = uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-ID"] = request_id
        return response
    finally:
        fields: dict[str, object] = {
            "method": request.method, "path": request.path, "route": route_template(request),
            "status": status, "ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if request.query_string:
            fields["query"] = redact_query(request.query.items())
        principal = request.get(PRINCIPAL)
        if principal is not None:
            fields["key"] = principal.key_id
        log.info("request", extra={"fields": fields})
        request_id_var.reset(token)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a TAXII error resource; never let a stack trace out."""
    try:
        return await handler(request)
    except AccordError as exc:
        status = http_status(exc)
        headers = {"WWW-Authenticate": _CHALLENGE} if isinstance(exc, Unauthorized) else None
        return error_response(request, status, exc.title, exc.description, exc.details, headers)
    except QueryError as exc:
        return error_response(request, 400, "Bad request", str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return error_response(request, exc.status, exc.reason, exc.text or exc.reason,
                              headers=headers)
    except Exception:
        log.exception("unhandled error")
        return error_response(request, 500, "Internal error",
                              "the server failed to handle this request; it was logged")
