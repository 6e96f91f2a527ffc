"""Console sessions, server-side: a random cookie token stored as its hash.

The principal is resolved from the session on every request (account live, organisation,
role), exactly as an API key is, so signing out or revoking a user takes effect at once;
group membership is never cached in a session: the visibility predicate reads it per query.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import asyncpg

from schemas.principal import Principal, Role, Sector
from server.store.users import token_hash


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who, and the CSRF token its forms carry."""

    principal: Principal
    user_id: uuid.UUID
    display_name: str
    csrf: str


def principal_key(user_id: uuid.UUID) -> str:
    """How a user appears where a key id would (audit log, access log)."""
    return f"user:{user_id}"


async def create_session(conn: asyncpg.Connection, user_id: uuid.UUID, ttl_s: int) -> str:
    """Open a session for a user; the returned token is the cookie value, never stored."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO console_sessions (token_hash, user_id, csrf, expires)"
        " VALUES ($1, $2, $3, now() + $4 * interval '1 second')",
        token_hash(token), user_id, secrets.token_urlsafe(32), ttl_s,
    )
    return token


async def resolve(conn: asyncpg.Connection, token: str, idle_s: int) -> Session | None:
    """The live session of a cookie token (account not revoked, not idle or expired)."""
    row = await conn.fetchrow(
        "SELECT s.user_id, s.csrf, u.display_name, u.role, u.org_id, o.name, o.sector,"
        " o.identity_id, s.last_seen < now() - interval '1 minute' AS stale"
        " FROM console_sessions s JOIN users u ON u.id = s.user_id"
        " JOIN organizations o ON o.id = u.org_id"
        " WHERE s.token_hash = $1 AND s.expires > now() AND u.revoked_at IS NULL"
        " AND s.last_seen > now() - $2 * interval '1 second'",
        token_hash(token), idle_s,
    )
    if row is None:
        return None
    if row["stale"]:
        # Coarse idle tracking: one write a minute per session, not one per page.
        await conn.execute("UPDATE console_sessions SET last_seen = now() WHERE token_hash = $1",
                           token_hash(token))
    principal = Principal(
        key_id=principal_key(row["user_id"]), org_id=row["org_id"], org_name=row["name"],
        sector=Sector(row["sector"]), role=Role(row["role"]), identity_id=row["identity_id"],
    )
    return Session(principal, row["user_id"], row["display_name"], row["csrf"])


async def end_session(conn: asyncpg.Connection, token: str) -> None:
    """Sign out: the token is worthless from now on."""
    await conn.execute("DELETE FROM console_sessions WHERE token_hash = $1", token_hash(token))


async def purge_sessions(conn: asyncpg.Connection) -> int:
    """Drop expired sessions; how many went."""
    status = await conn.execute("DELETE FROM console_sessions WHERE expires <= now()")
    return int(status.split()[-1])
