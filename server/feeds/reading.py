"""Reading a feed: visible versions its filter selects, and removal events, after a cursor,
in commit order."""

from __future__ import annotations

import asyncpg

from schemas.principal import Principal
from schemas.taxii import Cursor, ObjectQuery, VersionMatch
from server.store import objects as object_store
from server.store import removals as removal_store
from server.store.feeds import FeedRow
from server.store.records import Page

# Every committed version is an event of its own: later versions do not hide earlier ones.
ALL_VERSIONS = VersionMatch(all=True)


async def read_after(
    conn: asyncpg.Connection, principal: Principal, feed: FeedRow, cursor: Cursor | None,
    limit: int, projection: object_store.Projection = object_store.Projection.BODY,
) -> Page:
    """The next page of the feed for this principal, judged by its rights right now: object
    versions (as the projection's records) and removal events (`RemovalRow`), merged in
    commit order.

    Two queries a batch, whatever its size: the object page as before, then the removals
    up to that page's end (removal rows are few; their index walk stops at once when
    there are none).
    """
    query = ObjectQuery(limit=limit, versions=ALL_VERSIONS, cursor=cursor)
    page = await object_store.read_page(conn, principal, None, query, projection,
                                        feed=feed.filter)
    # Past a full object page the next page's objects may come before later removals:
    # those wait for it.
    removals = await removal_store.after(conn, principal, feed.filter, cursor, limit,
                                         until=page.next)
    if not removals:
        return page
    rows = sorted([*page.rows, *removals], key=lambda r: (r.date_added, r.seq))
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, rows[-1].cursor)
    return Page(rows, page.next)
