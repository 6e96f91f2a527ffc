"""TAXII status resources: readable only by the organisation that posted, for a while."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
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
    pendings: list[dict] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return len(self.pendings)


async def save_status(
    conn: asyncpg.Connection,
    principal: Principal,
    collection_id: uuid.UUID,
    successes: list[dict],
    failures: list[dict],
    pendings: list[dict] | None = None,
) -> Status:
    """Record the outcome of one POST (`pendings`: objects still waiting for a decision)."""
    status_id = uuid.uuid4()
    pendings = pendings or []
    total = len(successes) + len(failures) + len(pendings)
    created = await conn.fetchval(
        "INSERT INTO statuses (id, org_id, collection_id, total, success_count, failure_count,"
        " pending_count, successes, failures, pendings)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING created",
        status_id, principal.org_id, collection_id, total, len(successes), len(failures),
        len(pendings), orjson.dumps(successes).decode(), orjson.dumps(failures).decode(),
        orjson.dumps(pendings).decode(),
    )
    return Status(status_id, created, total, successes, failures, pendings)


async def settle_pending(
    conn: asyncpg.Connection, status_id: uuid.UUID, successes: list[dict],
    failures: list[dict], *, replaced: list[dict] | None = None,
) -> None:
    """Move decided objects of a status from its pendings to its successes or failures
    (`replaced`: pendings settled by another version, e.g. a redacted one)."""
    row = await conn.fetchrow(
        "SELECT successes, failures, pendings FROM statuses WHERE id = $1 FOR UPDATE",
        status_id,
    )
    if row is None:  # purged meanwhile
        return
    decided = {(e["id"], e["version"]) for e in successes + failures + (replaced or [])}
    pendings = [e for e in orjson.loads(row["pendings"])
                if (e["id"], e["version"]) not in decided]
    done = orjson.loads(row["successes"]) + successes
    failed = orjson.loads(row["failures"]) + failures
    await conn.execute(
        "UPDATE statuses SET successes = $2, failures = $3, pendings = $4,"
        " success_count = $5, failure_count = $6, pending_count = $7 WHERE id = $1",
        status_id, orjson.dumps(done).decode(), orjson.dumps(failed).decode(),
        orjson.dumps(pendings).decode(), len(done), len(failed), len(pendings),
    )


async def get_status(
    conn: asyncpg.Connection, principal: Principal, status_id: uuid.UUID, retention_hours: int
) -> Status:
    """A status of the caller's organisation within retention; NotFound otherwise, alike."""
    row = await conn.fetchrow(
        "SELECT id, created, total, successes, failures, pendings FROM statuses"
        " WHERE id = $1 AND org_id = $2 AND created > now() - $3 * interval '1 hour'",
        status_id, principal.org_id, retention_hours,
    )
    if row is None:
        raise NotFound("no such status")
    return Status(
        row["id"], row["created"], row["total"],
        orjson.loads(row["successes"]), orjson.loads(row["failures"]),
        orjson.loads(row["pendings"]),
    )


async def purge_statuses(conn: asyncpg.Connection, retention_hours: int) -> int:
    """Delete statuses past retention; return how many."""
    result = await conn.execute(
        "DELETE FROM statuses WHERE created <= now() - $1 * interval '1 hour'", retention_hours
    )
    return int(result.split()[-1])
