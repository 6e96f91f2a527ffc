"""Console users: accounts within an organisation, one-time invitations, sign-in counters.

Passwords arrive here already hashed (argon2id, by the console); invitation tokens are
stored as SHA-256 hashes, so a database read never yields a usable link.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.errors import Conflict, NotFound

_COLUMNS = (
    "u.id, u.org_id, o.name AS org_name, u.email, u.display_name, u.role, u.created,"
    " u.revoked_at, u.password_hash IS NOT NULL AS active, u.totp_secret IS NOT NULL AS has_totp"
)


@dataclass(frozen=True, slots=True)
class User:
    """A console account as admins see it (never its password or TOTP secret)."""

    id: uuid.UUID
    org_id: uuid.UUID
    org_name: str
    email: str
    display_name: str
    role: str
    created: datetime
    revoked_at: datetime | None
    active: bool  # has set a password
    has_totp: bool


@dataclass(frozen=True, slots=True)
class Credentials:
    """What signing in checks: the stored hash, the TOTP secret, the lock."""

    user_id: uuid.UUID
    org_id: uuid.UUID
    password_hash: str | None
    totp_secret: str | None
    locked: bool


def token_hash(token: str) -> bytes:
    """How one-time tokens are stored (256 random bits: a fast hash suffices)."""
    return hashlib.sha256(token.encode()).digest()


async def invite_user(
    conn: asyncpg.Connection, org_id: uuid.UUID, email: str, display_name: str, role: str,
    ttl_hours: int,
) -> tuple[User, str]:
    """Create an account without a password and its one-time invitation token."""
    user_id = uuid.uuid4()
    try:
        await conn.execute(
            "INSERT INTO users (id, org_id, email, display_name, role) VALUES ($1, $2, $3, $4, $5)",
            user_id, org_id, email, display_name, role,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"an account for {email!r} exists") from None
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO user_invitations (token_hash, user_id, expires)"
        " VALUES ($1, $2, now() + $3 * interval '1 hour')",
        token_hash(token), user_id, ttl_hours,
    )
    return await get_user(conn, user_id), token


async def invited_user(conn: asyncpg.Connection, token: str) -> User | None:
    """The live account an unused, unexpired invitation token is for, else None."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM user_invitations i JOIN users u ON u.id = i.user_id"
        f" JOIN organizations o ON o.id = u.org_id WHERE i.token_hash = $1"
        f" AND i.used_at IS NULL AND i.expires > now() AND u.revoked_at IS NULL",
        token_hash(token),
    )
    return User(**dict(row)) if row else None


async def accept_invitation(
    conn: asyncpg.Connection, token: str, password_hash: str, totp_secret: str | None,
    totp_step: int | None = None,
) -> User | None:
    """Use an invitation once: set the password (and TOTP secret, with the time-step of the
    code that confirmed it, so that code cannot sign in again); None if it is not valid."""
    user_id = await conn.fetchval(
        "UPDATE user_invitations i SET used_at = now() FROM users u"
        " WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires > now()"
        " AND u.id = i.user_id AND u.revoked_at IS NULL RETURNING i.user_id",
        token_hash(token),
    )
    if user_id is None:
        return None
    await conn.execute(
        "UPDATE users SET password_hash = $2, totp_secret = $3, totp_last_step = $4"
        " WHERE id = $1",
        user_id, password_hash, totp_secret, totp_step if totp_secret else None,
    )
    return await get_user(conn, user_id)


async def get_user(conn: asyncpg.Connection, user_id: uuid.UUID,
                   org_id: uuid.UUID | None = None) -> User:
    """One account (of `org_id` only, if given), or NotFound."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM users u JOIN organizations o ON o.id = u.org_id"
        f" WHERE u.id = $1 AND ($2::uuid IS NULL OR u.org_id = $2)",
        user_id, org_id,
    )
    if row is None:
        raise NotFound("no such user")
    return User(**dict(row))


async def list_users(conn: asyncpg.Connection, org_id: uuid.UUID) -> list[User]:
    """An organisation's accounts, revoked ones included, by address."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM users u JOIN organizations o ON o.id = u.org_id"
        f" WHERE u.org_id = $1 ORDER BY lower(u.email)",
        org_id,
    )
    return [User(**dict(r)) for r in rows]


async def revoke_user(conn: asyncpg.Connection, user_id: uuid.UUID, org_id: uuid.UUID | None
                      ) -> User:
    """Revoke an account at once and end its sessions (of `org_id` only, if given)."""
    found = await conn.fetchval(
        "UPDATE users SET revoked_at = coalesce(revoked_at, now())"
        " WHERE id = $1 AND ($2::uuid IS NULL OR org_id = $2) RETURNING id",
        user_id, org_id,
    )
    if found is None:
        raise NotFound("no such user")
    await conn.execute("DELETE FROM console_sessions WHERE user_id = $1", user_id)
    return await get_user(conn, user_id)


async def credentials(conn: asyncpg.Connection, email: str) -> Credentials | None:
    """A live account's sign-in credentials by address (any case), else None."""
    row = await conn.fetchrow(
        "SELECT id AS user_id, org_id, password_hash, totp_secret,"
        " coalesce(locked_until > now(), false) AS locked"
        " FROM users WHERE lower(email) = lower($1) AND revoked_at IS NULL",
        email,
    )
    return Credentials(**dict(row)) if row else None


async def record_failure(conn: asyncpg.Connection, user_id: uuid.UUID, max_failures: int,
                         lock_seconds: int) -> bool:
    """Count a failed sign-in; lock the account when the count reaches max_failures.

    Returns whether the account is now locked. The count restarts after a lock.
    """
    locked = await conn.fetchval(
        "UPDATE users SET"
        " failed_signins = CASE WHEN failed_signins + 1 >= $2 THEN 0 ELSE failed_signins + 1 END,"
        " locked_until = CASE WHEN failed_signins + 1 >= $2"
        "  THEN now() + $3 * interval '1 second' ELSE locked_until END"
        " WHERE id = $1 RETURNING coalesce(locked_until > now(), false)",
        user_id, max_failures, lock_seconds,
    )
    return bool(locked)


async def use_totp_step(conn: asyncpg.Connection, user_id: uuid.UUID, step: int) -> bool:
    """Claim a TOTP time-step for the user: False if it (or a later one) was used already.

    One conditional UPDATE, so two concurrent sign-ins with the same code cannot both win.
    """
    return bool(await conn.fetchval(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1"
        " AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING true",
        user_id, step,
    ))


async def record_success(conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
    """Reset the failure count after a good sign-in."""
    await conn.execute(
        "UPDATE users SET failed_signins = 0, locked_until = NULL WHERE id = $1", user_id
    )


async def requires_totp(conn: asyncpg.Connection, org_id: uuid.UUID) -> bool:
    """Whether the organisation requires a second factor of its users."""
    return bool(await conn.fetchval(
        "SELECT require_totp FROM organizations WHERE id = $1", org_id
    ))


async def set_requires_totp(conn: asyncpg.Connection, org_id: uuid.UUID, required: bool) -> None:
    """Say whether the organisation's users must use TOTP."""
    await conn.execute("UPDATE organizations SET require_totp = $2 WHERE id = $1",
                       org_id, required)
