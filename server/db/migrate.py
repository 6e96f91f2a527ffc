"""Numbered plain-SQL migrations, applied in order, each in its own transaction."""

from __future__ import annotations

import re
from importlib import resources

import asyncpg

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any fixed number: every process that migrates takes the same advisory lock first.
_LOCK_KEY = 0x4143_434F_5244


def available() -> list[tuple[int, str, str]]:
    """The shipped migrations as (number, name, sql), in order."""
    found = []
    for entry in resources.files("server.db").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return sorted(found)


async def migrate(conn: asyncpg.Connection, upto: int | None = None) -> list[str]:
    """Apply every migration not yet applied (numbered up to `upto`, if given); return the
    names applied now."""
    applied_now = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " number integer PRIMARY KEY, name text NOT NULL,"
            " applied timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["number"] for r in await conn.fetch("SELECT number FROM schema_migrations")}
        for number, name, sql in available():
            if number in done or (upto is not None and number > upto):
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (number, name) VALUES ($1, $2)", number, name
                )
            applied_now.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now


async def is_set_up(conn: asyncpg.Connection) -> bool:
    """Whether migrations were ever applied to this database (by `accord serve`)."""
    return await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")


async def pending(conn: asyncpg.Connection) -> list[str]:
    """Names of shipped migrations not applied to this database."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done = set()
    if exists:
        done = {r["number"] for r in await conn.fetch("SELECT number FROM schema_migrations")}
    return [name for number, name, _ in available() if number not in done]
