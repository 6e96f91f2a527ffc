"""API keys: created with a secret shown once, stored as a hash, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

import asyncpg

from schemas.principal import Principal, Role, Sector
from server.errors import NotFound
from server.store.records import ApiKey, NewApiKey

_COLUMNS = "id, org_id, role, created, last_used, revoked_at, default_tlp, default_attribution"
# Every process LISTENs here and forgets the keys it verified when a key is revoked; sent in
# the revoking statement, so it is delivered at its commit (and never for a rollback).
KEYS_CHANNEL = "accord_keys"


def secret_hash(secret: str) -> bytes:
    """The stored form of a key's secret."""
    # Secrets are 256 random bits, so a fast hash resists guessing as well as a slow one.
    return hashlib.sha256(secret.encode()).digest()


async def create_key(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    role: Role,
    *,
    default_tlp: str | None = None,
    default_attribution: str | None = None,
) -> NewApiKey:
    """Create a key for an organisation; the returned secret is never stored."""
    key_id = f"ak_{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)
    row = await conn.fetchrow(
        f"INSERT INTO api_keys (id, org_id, role, secret_hash, default_tlp, default_attribution)"
        f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
        key_id, org_id, role.value, secret_hash(secret), default_tlp, default_attribution,
    )
    return NewApiKey(ApiKey(**dict(row)), secret)


async def revoke_key(
    conn: asyncpg.Connection, key_id: str, org_id: uuid.UUID | None = None
) -> ApiKey:
    """Revoke a key at once (of `org_id` only, if given); revoking twice keeps the first time."""
    row = await conn.fetchrow(
        f"WITH r AS (UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
        f" WHERE id = $1 AND ($2::uuid IS NULL OR org_id = $2) RETURNING {_COLUMNS})"
        f" SELECT r.*, pg_notify('{KEYS_CHANNEL}', r.id) FROM r",
        key_id, org_id,
    )
    if row is None:
        raise NotFound(f"no API key {key_id!r}")
    return ApiKey(**{k: v for k, v in row.items() if k != "pg_notify"})


async def revoke_org_keys(conn: asyncpg.Connection, org_id: uuid.UUID) -> None:
    """Revoke every key of an organisation at once (revoking twice keeps the first time)."""
    await conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE org_id = $1", org_id
    )
    await conn.execute(f"NOTIFY {KEYS_CHANNEL}")


async def authenticate(conn: asyncpg.Connection, key_id: str, secret: str) -> Principal | None:
    """The principal for a live key whose secret matches, else None."""
    row = await conn.fetchrow(
        "SELECT k.secret_hash, k.role, k.org_id, o.name, o.sector, o.identity_id,"
        " k.default_tlp, k.default_attribution,"
        " k.last_used IS NULL OR k.last_used < now() - interval '1 minute' AS stale"
        " FROM api_keys k JOIN organizations o ON o.id = k.org_id"
        " WHERE k.id = $1 AND k.revoked_at IS NULL",
        key_id,
    )
    if row is None or not hmac.compare_digest(row["secret_hash"], secret_hash(secret)):
        return None
    if row["stale"]:
        # Coarse last-used tracking: one write a minute per key, not one per request.
        await conn.execute("UPDATE api_keys SET last_used = now() WHERE id = $1", key_id)
    return Principal(
        key_id=key_id,
        org_id=row["org_id"],
        org_name=row["name"],
        sector=Sector(row["sector"]),
        role=Role(row["role"]),
        identity_id=row["identity_id"],
        default_tlp=row["default_tlp"],
        default_attribution=row["default_attribution"],
    )


async def lock_keys(conn: asyncpg.Connection) -> None:
    """Hold off every other key write until this transaction ends (one first start at a time,
    however many processes start together)."""
    await conn.execute("LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE")


async def has_platform_admin_key(conn: asyncpg.Connection) -> bool:
    """Whether a platform-admin key was ever created (revoked ones count)."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = 'platform-admin')"
    )


async def list_keys(conn: asyncpg.Connection, org_id: uuid.UUID) -> list[ApiKey]:
    """An organisation's keys, newest first, revoked ones included."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created DESC, id", org_id
    )
    return [ApiKey(**dict(r)) for r in rows]


async def key_org(conn: asyncpg.Connection, key_id: str) -> uuid.UUID:
    """The organisation a key belongs to, or NotFound."""
    org_id = await conn.fetchval("SELECT org_id FROM api_keys WHERE id = $1", key_id)
    if org_id is None:
        raise NotFound(f"no API key {key_id!r}")
    return org_id


async def is_live(conn: asyncpg.Connection, key_id: str) -> bool:
    """Whether a key still exists unrevoked."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1 AND revoked_at IS NULL)", key_id
    )
