"""The rows `accord admin reindex` rewrites: stored versions whose lookup values and
warninglist flag are derived at ingest (migration 0020), read and rewritten by seq."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

# The types whose versions carry lookup values or a warninglist flag (server.ingest.facets).
TYPES = ["indicator", "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file",
         "artifact"]


@dataclass(frozen=True, slots=True)
class Stored:
    """One version as stored: its body and what ingest derived from it."""

    seq: int
    body: str
    obs_kinds: list[str] | None
    obs_values: list[str] | None
    warned: bool | None


async def position(conn: asyncpg.Connection, name: str, restart: bool) -> int:
    """The seq a run resumes after: that of an unfinished run, else 0 (a new run)."""
    row = await conn.fetchrow("SELECT last_seq, finished FROM reindex_progress WHERE name = $1",
                              name)
    if row is None or restart or row["finished"] is not None:
        await conn.execute(
            "INSERT INTO reindex_progress (name, last_seq) VALUES ($1, 0) ON CONFLICT (name)"
            " DO UPDATE SET last_seq = 0, rewritten = 0, started = now(), updated = now(),"
            " finished = NULL", name)
        return 0
    return row["last_seq"]


async def batch(conn: asyncpg.Connection, after: int, limit: int) -> list[Stored]:
    """The next `limit` versions of those types after seq `after`, in seq order."""
    rows = await conn.fetch(
        "SELECT seq, body, obs_kinds, obs_values, warned FROM objects WHERE seq > $1"
        " AND stix_type = ANY($2::text[]) ORDER BY seq LIMIT $3", after, TYPES, limit)
    return [Stored(*r) for r in rows]


async def rewrite(conn: asyncpg.Connection, name: str, last_seq: int, done: int,
                  changes: list[tuple[int, list[str] | None, list[str] | None, bool | None]],
                  ) -> None:
    """Store a batch's new values and the run's position in one transaction, so a run
    stopped anywhere resumes after the last batch it stored. A changed flag stamps the
    version `changed` (0025's trigger): export watermarks move."""
    async with conn.transaction():
        if changes:
            await conn.executemany(
                "UPDATE objects SET obs_kinds = $2, obs_values = $3, warned = $4"
                " WHERE seq = $1", changes)
        await conn.execute(
            "UPDATE reindex_progress SET last_seq = $2, rewritten = rewritten + $3,"
            " updated = now() WHERE name = $1", name, last_seq, done)


async def finish(conn: asyncpg.Connection, name: str) -> int:
    """Mark the run finished; the number of versions it rewrote in all."""
    return await conn.fetchval(
        "UPDATE reindex_progress SET finished = now(), updated = now() WHERE name = $1"
        " RETURNING rewritten", name)
