"""Request bodies read with a size cap that holds for chunked and compressed bodies too,
and a time limit, so a slow sender cannot hold a request open for ever."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from server.config import SETTINGS
from server.errors import BadRequest, PayloadTooLarge, RequestTimeout


async def read_bounded(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes (decompressed), and
    with 408 if it has not all arrived within the deployment's body timeout."""
    too_large = PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    timeout_s = request.app[SETTINGS].body_timeout_s
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout_s):
            # Count while reading: Content-Length is absent for chunked bodies and counts
            # the compressed size of gzip ones.
            async for chunk in request.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(f"the body did not arrive within {timeout_s:g} s") from None
    except (HttpProcessingError, RequestPayloadError):
        # A body its Content-Encoding cannot decode (garbage deflate, a cut-off gzip stream).
        raise BadRequest("the body could not be decoded as its Content-Encoding says") from None
    return b"".join(chunks)
