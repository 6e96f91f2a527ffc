"""Request bodies read with a size cap that holds for chunked and compressed bodies too."""

from __future__ import annotations

from aiohttp import web

from server.errors import PayloadTooLarge


async def read_bounded(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes (decompressed)."""
    too_large = PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks, size = [], 0
    # Count while reading: Content-Length is absent for chunked bodies and counts the
    # compressed size of gzip ones.
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
