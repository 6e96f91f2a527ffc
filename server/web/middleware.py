"""Cross-cutting middlewares: request id and access log, errors as TAXII error resources."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import zlib

import orjson
from aiohttp import web

from schemas.taxii import QueryError
from server.config import SETTINGS
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
    try:
        encoded = orjson.dumps(body)
    except orjson.JSONEncodeError:
        # A message quoting a header or query value aiohttp decoded with surrogate escapes
        # (bytes that are not UTF-8): say it with replacement characters, never a 500.
        encoded = orjson.dumps(_printable(body))
    return web.Response(
        status=status,
        body=encoded,
        # The route's API says: TAXII errors for TAXII, plain JSON for the JSON API and the
        # operations endpoints.
        headers={"Content-Type": api_of(request).error_media_type, **(headers or {})},
    )


def _printable(value: object) -> object:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give each request an id, echo it, and log one access line (never with credentials).

    The line names the route template, the key id (not its secret) and the query string with
    credential-like parameters redacted; headers are never logged.
    """
    request_id = os.urandom(16).hex()  # uuid4().hex's form, a third of its cost
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


async def _with_slash(request: web.Request) -> str | None:
    """The path with a trailing slash (and the query), if that names a TAXII resource."""
    path = request.rel_url.raw_path
    if path.endswith("/") or not path.startswith("/taxii2"):
        return None
    target = request.rel_url.with_path(path + "/", encoded=True)
    match = await request.app.router.resolve(request.clone(rel_url=target))
    if match.http_exception is not None and match.http_exception.status == 404:
        return None
    query = request.rel_url.raw_query_string
    return str(target) + (f"?{query}" if query else "")


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
    except web.HTTPNotFound as exc:
        if (slashed := await _with_slash(request)) is not None:
            # TAXII paths end with a slash; 308 keeps the method and body of a POST.
            return error_response(
                request, 308, "Permanent redirect",
                f"TAXII paths end with a slash: {slashed}", {"location": slashed},
                headers={"Location": slashed})
        return error_response(request, 404, exc.reason, exc.text or exc.reason)
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


# JSON is what is worth compressing: a 1,000-object page is about 1 MB and shrinks 5-10x.
# Streams (SSE) are not web.Response and pass untouched; exports carry an ETag of their own
# bytes and are left to their own handler.
_COMPRESSIBLE = ("application/taxii+json", "application/stix+json", "application/json")
_MIN_GZIP = 1024  # below this the gzip header and a round of zlib cost more than they save
_OFF_LOOP = 128 * 1024  # zlib releases the GIL: large bodies compress in a thread


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (RFC 9110 s12.5.3, q=0 refuses)."""
    explicit = wildcard = None
    for part in header.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        coding = coding.lower()
        if coding in ("gzip", "x-gzip"):
            explicit = quality > 0
        elif coding == "*":
            wildcard = quality > 0
    return explicit if explicit is not None else bool(wildcard)


def _gzip(body: bytes, level: int) -> bytes:
    packer = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    return packer.compress(body) + packer.flush()


@web.middleware
async def compression_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """gzip TAXII and JSON bodies for clients that ask for it, with Vary: Accept-Encoding.

    Every client in the field asks: requests (taxii2-client, OpenCTI's connector, XSOAR)
    sends `gzip, deflate`, Go's net/http (Elastic's input) `gzip`, axios (OpenCTI's
    ingester) `gzip, compress, deflate, br`.
    """
    response = await handler(request)
    level = request.app[SETTINGS].gzip_level
    if (
        level == 0
        or type(response) is not web.Response
        or response.prepared
        or not isinstance(response.body, bytes)
        or len(response.body) < _MIN_GZIP
        or response.content_type not in _COMPRESSIBLE
        or "Content-Encoding" in response.headers
        or "ETag" in response.headers
    ):
        return response
    vary = response.headers.get("Vary")
    if not vary or "accept-encoding" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
    if not accepts_gzip(request.headers.get("Accept-Encoding", "")):
        return response
    body = response.body
    if len(body) >= _OFF_LOOP:
        packed = await asyncio.get_running_loop().run_in_executor(None, _gzip, body, level)
    else:
        packed = _gzip(body, level)
    response.body = packed
    response.headers["Content-Encoding"] = "gzip"
    return response
