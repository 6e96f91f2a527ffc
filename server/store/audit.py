"""The append-only audit log (the database refuses UPDATE, DELETE and TRUNCATE on it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import orjson

from schemas.principal import Principal


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One decision or change worth keeping: who, about which organisation, what, details."""

    action: str
    org_id: uuid.UUID | None
    subject: str | None = None
    details: dict = field(default_factory=dict)
    actor_org: uuid.UUID | None = None
    actor_key: str | None = None
    at: datetime | None = None
    seq: int | None = None


def entry(principal: Principal | None, action: str, org_id: uuid.UUID | None,
          subject: str | None = None, **details: object) -> AuditEntry:
    """An entry acted by a principal (None: the platform itself, e.g. the CLI)."""
    return AuditEntry(
        action=action, org_id=org_id, subject=subject, details=details,
        actor_org=principal.org_id if principal else None,
        actor_key=principal.key_id if principal else None,
    )


async def record(conn: asyncpg.Connection, entries: list[AuditEntry]) -> None:
    """Append entries (in the caller's transaction, so they commit with what they record)."""
    if not entries:
        return
    await conn.executemany(
        "INSERT INTO audit_log (actor_org, actor_key, org_id, action, subject, details)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
        [(e.actor_org, e.actor_key, e.org_id, e.action, e.subject,
          orjson.dumps(e.details, default=str).decode()) for e in entries],
    )


async def query(
    conn: asyncpg.Connection,
    *,
    org_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Entries matching every given filter, oldest first, keyset-paged by seq."""
    rows = await conn.fetch(
        "SELECT seq, at, actor_org, actor_key, org_id, action, subject, details::text"
        " FROM audit_log WHERE ($1::uuid IS NULL OR org_id = $1 OR actor_org = $1)"
        " AND ($2::text IS NULL OR action = $2) AND ($3::timestamptz IS NULL OR at >= $3)"
        " AND ($4::timestamptz IS NULL OR at < $4) AND ($5::bigint IS NULL OR seq > $5)"
        " ORDER BY seq LIMIT $6",
        org_id, action, since, until, after_seq, limit,
    )
    return [
        AuditEntry(
            action=r["action"], org_id=r["org_id"], subject=r["subject"],
            details=orjson.loads(r["details"]), actor_org=r["actor_org"],
            actor_key=r["actor_key"], at=r["at"], seq=r["seq"],
        )
        for r in rows
    ]
