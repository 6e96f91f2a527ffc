"""Reading a feed: visible versions its filter selects, after a cursor, in commit order."""

from __future__ import annotations

import asyncpg

from schemas.principal import Principal
from schemas.taxii import Cursor, ObjectQuery, VersionMatch
from server.store import objects as object_store
from server.store.feeds import FeedRow
from server.store.records import Page

# Every committed version is an event of its own: later versions do not hide earlier ones.
ALL_VERSIONS = VersionMatch(all=True)


async def read_after(
    conn: asyncpg.Connection, principal: Principal, feed: FeedRow, cursor: Cursor | None,
    limit: int, projection: object_store.Projection = object_store.Projection.BODY,
) -> Page:
    """The next page of the feed for this principal, judged by its rights right now."""
    query = ObjectQuery(limit=limit, versions=ALL_VERSIONS, cursor=cursor)
    return await object_store.read_page(conn, principal, None, query, projection,
                                        feed=feed.filter)
