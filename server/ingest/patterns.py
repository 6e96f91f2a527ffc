"""Indicator patterns the fast recogniser misses, checked in worker processes, fairly.

The ANTLR parser of stix2-patterns costs ~0.4-6 ms a pattern; on the event loop, one
member's envelope of such patterns stalled every other request (issue 10: 1,500 of them
took 8.9 s while /healthz waited 2.7 s). Here they are checked in a bounded process pool,
in chunks, and each organisation has at most one chunk in the pool at a time: a member's
flood waits behind itself, and other members' posts and every read go on as usual.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from aiohttp import web

from schemas.stix_pattern import KNOWN_ANSWERS, needs_slow_check, pattern_errors
from server.errors import BadRequest

# Patterns per task sent to a worker: small enough that a flood yields the pool to other
# organisations every few tens of milliseconds, large enough to amortise the round trip.
CHUNK = 32
# An envelope's patterns are checked within this time, or the envelope is refused (400).
TIMEOUT_S = 120.0


class PatternChecker:
    """A process pool for slow pattern checks with a fair share for each organisation."""

    def __init__(self, workers: int, *, per_org: int = 1) -> None:
        # spawn, not fork: the server process holds an event loop, sockets and a pool.
        self._workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        self._per_org = per_org
        # One per organisation that ever posted a slow pattern (as many as there are members).
        self._turns: dict[uuid.UUID, asyncio.Semaphore] = {}

    async def answers(self, org_id: uuid.UUID, patterns: list[str]) -> dict[str, str | None]:
        """`pattern_error` of each pattern, worked out in the pool in this organisation's
        turns; BadRequest if they take longer than TIMEOUT_S."""
        found: dict[str, str | None] = {}
        if not patterns:
            return found
        turn = self._turns.setdefault(org_id, asyncio.Semaphore(self._per_org))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT_S
        try:
            for start in range(0, len(patterns), CHUNK):
                chunk = patterns[start:start + CHUNK]
                async with asyncio.timeout_at(deadline):
                    async with turn:
                        result = await loop.run_in_executor(self._executor, pattern_errors,
                                                            chunk)
                found.update(zip(chunk, result, strict=True))
        except BrokenProcessPool:
            # A worker died (killed, out of memory): start afresh; this envelope's patterns
            # not answered yet are checked in the server process, as with no pool.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"))
        except TimeoutError:
            raise BadRequest(f"the envelope's indicator patterns took more than"
                             f" {TIMEOUT_S:.0f} s to check; post fewer at a time") from None
        return found

    def close(self) -> None:
        """Stop the workers (at server shutdown)."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def sort_patterns(objects: list[object]) -> tuple[list[str], dict[str, str | None]]:
    """The distinct STIX patterns of these objects that the fast recogniser misses, and
    the answers for those it recognises (valid: None), so validation asks it no second time."""
    slow: dict[str, None] = {}
    fast: dict[str, str | None] = {}
    for obj in objects:
        if (isinstance(obj, dict) and obj.get("type") == "indicator"
                and obj.get("pattern_type") == "stix"):
            pattern = obj.get("pattern")
            if not isinstance(pattern, str) or pattern in fast or pattern in slow:
                continue
            if needs_slow_check(pattern):
                slow[pattern] = None
            elif pattern.strip():
                fast[pattern] = None
    return list(slow), fast


@contextmanager
def known_answers(answers: Mapping[str, str | None]) -> Iterator[None]:
    """Let the validation in this context use these answers instead of the parser."""
    token = KNOWN_ANSWERS.set(answers)
    try:
        yield
    finally:
        KNOWN_ANSWERS.reset(token)


# The server's checker, for the handlers that ingest (absent: checks run on the event loop).
PATTERNS = web.AppKey("patterns", PatternChecker)
