"""TAXII status resources: readable only by the organisation that posted, for a while."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from schemas.principal import Principal
from server.errors import NotFound


@dataclass(frozen=True, slots=True)
class Status:
    id: uuid.UUID
    created: datetime
    total: int
    successes: list[dict]
    failures: list[dict]
    pending: int = 0


async def save_status(
    conn: asyncpg.Connection,
    principal: Principal,
    collection_id: uuid.UUID,
    successes: list[dict],
    failures: list[dict],
) -> Status:
    """Record the outcome of one POST."""
    status_id = uuid.uuid4()
    total = len(successes) + len(failures)
    created = await conn.fetchval(
        "INSERT INTO statuses (id, org_id, collection_id, total, success_count, failure_count,"
        " pending_count, successes, failures) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)"
        " RETURNING created",
        status_id, principal.org_id, collection_id, total, len(successes), len(failures),
        orjson.dumps(successes).decode(), orjson.dumps(failures).decode(),
    )
    return Status(status_id, created, total, successes, failures)


async def get_status(
    conn: asyncpg.Connection, principal: Principal, status_id: uuid.UUID, retention_hours: int
) -> Status:
    """A status of the caller's organisation within retention; NotFound otherwise, alike."""
    row = await conn.fetchrow(
        "SELECT id, created, total, successes, failures, pending_count FROM statuses"
        " WHERE id = $1 AND org_id = $2 AND created > now() - $3 * interval '1 hour'",
        status_id, principal.org_id, retention_hours,
    )
    if row is None:
        raise NotFound("no such status")
    return Status(
        row["id"], row["created"], row["total"],
        orjson.loads(row["successes"]), orjson.loads(row["failures"]), row["pending_count"],
    )


async def purge_statuses(conn: asyncpg.Connection, retention_hours: int) -> int:
    """Delete statuses past retention; return how many."""
    result = await conn.execute(
        "DELETE FROM statuses WHERE created <= now() - $1 * interval '1 hour'", retention_hours
    )
    return int(result.split()[-1])
