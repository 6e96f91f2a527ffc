"""Single-flight reads: subscribers at the same position share one query per wake-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from aiohttp import web

# Results stay shareable this long: the subscribers woken by one NOTIFY ask within it.
_KEEP_S = 0.5


class SharedReads:
    """Runs one fetch per key at a time and hands its result to every caller of that key."""

    def __init__(self) -> None:
        self._results: dict[Hashable, asyncio.Future] = {}

    async def read(self, key: Hashable, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """The result of `fetch` for `key`, shared with concurrent callers of the same key."""
        future = self._results.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self._results[key] = future
            loop.call_later(_KEEP_S, self._results.pop, key, None)
            try:
                future.set_result(await fetch())
            except BaseException as exc:
                future.set_exception(exc)
                # Every caller sees the failure; nobody must be left with it unretrieved.
                future.exception()
                raise
        return await asyncio.shield(future)


SHARED_READS = web.AppKey("shared_reads", SharedReads)
