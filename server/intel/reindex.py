"""`accord admin reindex`: derive again, for stored versions, the lookup values and the
warninglist flag that ingest derives (server.ingest.facets).

Versions stored before migration 0020 have neither (their values are absent from the
lookup, their warninglisted values flow to default feeds), and a warninglist update changes
which values are flagged. The run goes through `objects` in seq order, a batch per
transaction, and records where it stands, so a stopped run resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import orjson

from server.ingest.facets import facets_of
from server.store import reindex as store

NAME = "lookup"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run did: versions read and rewritten now, and whether it got to the end."""

    read: int
    rewritten: int
    finished: bool
    resumed_after: int


async def reindex(conn: asyncpg.Connection, *, batch: int = 2000, max_batches: int | None = None,
                  restart: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> Outcome:
    """Rewrite the derived columns that differ from what ingest would store today.

    `max_batches` bounds the run (it then resumes on the next call); `restart` starts over.
    """
    after = start = await store.position(conn, NAME, restart)
    read = rewritten = batches = 0
    while max_batches is None or batches < max_batches:
        rows = await store.batch(conn, after, batch)
        if not rows:
            await store.finish(conn, NAME)
            return Outcome(read, rewritten, True, start)
        changes = []
        for r in rows:
            f = facets_of(orjson.loads(r.body))
            now = (f.obs_kinds, f.obs_values, f.warned or None)
            if now != (r.obs_kinds, r.obs_values, r.warned):
                changes.append((r.seq, *now))
        after = rows[-1].seq
        await store.rewrite(conn, NAME, after, len(changes), changes)
        read += len(rows)
        rewritten += len(changes)
        batches += 1
        if progress is not None:
            progress(read, rewritten)
    return Outcome(read, rewritten, False, start)
