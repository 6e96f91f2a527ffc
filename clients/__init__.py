"""The Accord client library and the member/analyst CLI commands.

    async with AccordClient("https://accord.example", token) as client:
        result = await client.post_objects(collection_id, objects)
        async for event in client.stream(feed_id):
            ...
"""

from clients.client import (
    AccordClient,
    ChunkResult,
    Event,
    Export,
    Failure,
    Page,
    PostResult,
)
from clients.errors import (
    AccordClientError,
    AmbiguousName,
    ApiError,
    AuthenticationFailed,
    NotAnAccordServer,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestRefused,
    ServerError,
    ServerUnreachable,
)
from clients.sync import SyncAccordClient

__all__ = [
    "AccordClient", "AccordClientError", "AmbiguousName", "ApiError", "AuthenticationFailed",
    "ChunkResult",
    "Event", "Export", "Failure", "NotAnAccordServer", "NotFound", "Page", "PermissionDenied",
    "PostResult", "RateLimited", "RequestRefused", "ServerError", "ServerUnreachable",
    "SyncAccordClient",
]
