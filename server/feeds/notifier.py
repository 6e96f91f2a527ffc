"""Cross-process wake-ups: one LISTEN connection per process, NOTIFY sent by ingest at commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
from aiohttp import web

from server.db.pool import SESSION_SETTINGS
from server.store.objects import NOTIFY_CHANNEL

log = logging.getLogger("accord.notifier")


class Notifier:
    """Wakes every waiter of this process when some process commits new objects."""

    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()
        # Other channels heard on the same connection, and who wants to know whether it is
        # up (a cache that is only sound while notifications arrive).
        self._channels: dict[str, Callable[..., object]] = {}
        self._on_state: list[Callable[[bool], None]] = []

    def subscribe(self, channel: str, callback: Callable[..., object],
                  on_state: Callable[[bool], None] | None = None) -> None:
        """Also LISTEN on `channel`; `on_state` hears True once listening, False when lost."""
        self._channels[channel] = callback
        if on_state is not None:
            self._on_state.append(on_state)

    def _state(self, up: bool) -> None:
        for callback in self._on_state:
            callback(up)

    def wake(self, *_: object) -> None:
        """Something was committed (or the listener reconnected): let every waiter re-read."""
        self.generation += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int, timeout: float) -> bool:
        """Wait until the generation moves past `seen`; False on timeout."""
        if self.generation != seen:
            return True
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def listen(self, dsn: str) -> None:
        """Hold a LISTEN connection for ever, reconnecting after failures."""
        while True:
            try:
                conn = await asyncpg.connect(dsn, server_settings=SESSION_SETTINGS)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("listen connection failed", extra={"fields": {"error": str(exc)}})
                await asyncio.sleep(1)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
            try:
                await conn.add_listener(NOTIFY_CHANNEL, self.wake)
                for channel, callback in self._channels.items():
                    await conn.add_listener(channel, callback)
                # Anything committed while we were not listening is found by re-reading.
                self.wake()
                self._state(True)
                await lost.wait()
            finally:
                self._state(False)
                with contextlib.suppress(Exception):
                    await conn.close()
            await asyncio.sleep(0.5)


NOTIFIER = web.AppKey("notifier", Notifier)
