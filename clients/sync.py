"""A small blocking wrapper of AccordClient for scripts that do not use asyncio."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, TypeVar

from clients.client import AccordClient, Event, Export, Page, PostResult
from schemas.feeds import Feed, FeedCreated

T = TypeVar("T")


class SyncAccordClient:
    """AccordClient's operations as plain calls; use as `with SyncAccordClient(url, key) as c:`."""

    def __init__(self, url: str, key: str, **options: Any) -> None:
        # One private event loop for the client's life, so its HTTP session is reused.
        self._runner = asyncio.Runner()
        self._client = AccordClient(url, key, **options)

    def __enter__(self) -> SyncAccordClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session and the event loop."""
        self._runner.run(self._client.close())
        self._runner.close()

    def _iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self._runner.run(source.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._runner.run(source.aclose())  # type: ignore[attr-defined]

    def discovery(self) -> dict[str, Any]:
        """GET /taxii2/."""
        return self._runner.run(self._client.discovery())

    def collections(self) -> list[dict[str, Any]]:
        """The collections this key may see."""
        return self._runner.run(self._client.collections())

    def post_objects(self, collection: str | uuid.UUID,
                     objects: Iterable[dict[str, Any]]) -> PostResult:
        """Post objects in chunks; per-object failures in the result."""
        return self._runner.run(self._client.post_objects(collection, objects))

    def pages(self, collection: str | uuid.UUID, **query: Any) -> Iterator[Page]:
        """Pages of a collection (added_after, next, limit, params)."""
        return self._iterate(self._client.pages(collection, **query))

    def feed_pages(self, feed: str | uuid.UUID, **query: Any) -> Iterator[Page]:
        """Pages of a feed read as a TAXII collection."""
        return self._iterate(self._client.feed_pages(feed, **query))

    def create_feed(self, name: str, filter: Any = None, webhook: Any = None) -> FeedCreated:
        """Save a feed."""
        return self._runner.run(self._client.create_feed(name, filter, webhook))

    def feeds(self) -> list[Feed]:
        """This organisation's feeds."""
        return self._runner.run(self._client.feeds())

    def delete_feed(self, feed: str | uuid.UUID) -> None:
        """Delete a feed."""
        self._runner.run(self._client.delete_feed(feed))

    def export(self, feed: str | uuid.UUID, fmt: str = "txt", etag: str | None = None) -> Export:
        """A feed's export; 304 (body None) when etag is still current."""
        return self._runner.run(self._client.export(feed, fmt, etag))

    def stream(self, feed: str | uuid.UUID, last_event_id: str | None = None,
               **options: Any) -> Iterator[Event]:
        """The feed's live stream, resuming after reconnects."""
        return self._iterate(self._client.stream(feed, last_event_id, **options))
