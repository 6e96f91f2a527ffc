"""The prefix lengths of the stored CIDR ranges, kept in memory by each serving process.

A looked-up address is probed at these lengths only (server.store.lookup). Reading them
before every lookup was a round trip of its own, about a sixth of a lookup's server time.
The set only grows (migration 0025), so its size tells whether a copy is current: the
lookup's query returns the size it saw, and a copy of another size is read again and the
lookup run again under the same snapshot rules. No notification is needed and none can
be late: a range stored before a lookup begins is always probed.
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from server.store import lookup as store


class PrefixLengths:
    """The stored prefix lengths by kind (ipv4, ipv6), as last read by this process."""

    def __init__(self) -> None:
        self._lengths: dict[str, frozenset[int]] | None = None

    async def get(self, conn: asyncpg.Pool | asyncpg.Connection) -> dict[str, frozenset[int]]:
        """The lengths, read from the database the first time and after `stale`."""
        if self._lengths is None:
            self._lengths = await store.prefix_lengths(conn)
        return self._lengths

    def stale(self, stored: int) -> bool:
        """Whether `stored` lengths in the database means the copy is out of date (and is
        forgotten); the caller then asks `get` again."""
        known = sum(len(v) for v in (self._lengths or {}).values())
        if self._lengths is not None and known == stored:
            return False
        self._lengths = None
        return True


PREFIX_LENGTHS = web.AppKey("prefix_lengths", PrefixLengths)
