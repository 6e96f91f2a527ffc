"""The analyst lookup: values matched through the facets ingest writes, in one query.

Exact values and the CIDR ranges holding an address are all equality probes of the
GIN-indexed value arrays (`ioc_values`, the blocklist facets, and `obs_values`, the rest):
an address is probed as itself and as each of its prefixes, one index scan in all.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schemas.principal import Principal
from server.store.query import Params
from server.store.visibility import visible


@dataclass(frozen=True, slots=True)
class Probe:
    """One search key of one looked-up value (its index in the request)."""

    index: int
    kind: str
    value: str
    match: str  # "exact", "range" (a prefix holding the address) or "parent"


@dataclass(frozen=True, slots=True)
class Hit:
    """A current, visible version whose values match a probe."""

    index: int
    match: str
    matched: str
    kind: str
    stix_id: str
    stix_type: str
    tlp: str
    confidence: int | None
    valid_until: datetime | None
    revoked: bool
    labels: list[str] | None
    valid_from: str | None
    producer_org: uuid.UUID
    producer_name: str
    withheld: bool
    collection_id: uuid.UUID
    collection_title: str


async def find(conn: asyncpg.Connection, principal: Principal, probes: list[Probe]) -> list[Hit]:
    """Every current version visible to the principal holding a probe's value (of its kind).

    A version is current when no later version of it in its collection is visible to the
    principal: an indicator whose pattern changed no longer matches its old value. Hidden
    rows are filtered inside the query, so an invisible match and no match answer alike.
    """
    if not probes:
        return []
    p = Params()
    values = p(sorted({x.value for x in probes}))
    sql = (
        f"WITH k AS (SELECT * FROM unnest({p([x.index for x in probes])}::int[],"
        f" {p([x.kind for x in probes])}::text[], {p([x.value for x in probes])}::text[],"
        f" {p([x.match for x in probes])}::text[]) AS k(i, kind, value, match))"
        f" SELECT k.i, k.match, u.v AS matched, u.k AS kind, o.stix_id, o.stix_type, o.tlp,"
        f" o.confidence, o.valid_until, o.revoked, o.labels,"
        f" o.body::jsonb ->> 'valid_from' AS valid_from, o.producer_org,"
        f" org.name AS producer_name, o.withheld, o.collection_id, c.title AS collection_title"
        f" FROM objects o"
        f" CROSS JOIN LATERAL unnest("
        f"coalesce(o.ioc_kinds, '{{}}') || coalesce(o.obs_kinds, '{{}}'),"
        f" coalesce(o.ioc_values, '{{}}') || coalesce(o.obs_values, '{{}}')) AS u(k, v)"
        f" JOIN k ON k.value = u.v AND k.kind = u.k"
        f" JOIN collections c ON c.id = o.collection_id"
        f" JOIN organizations org ON org.id = o.producer_org"
        f" WHERE (o.ioc_values && {values}::text[] OR o.obs_values && {values}::text[])"
        f" AND {visible(principal, p, 'o')}"
        # Only a superseded row (one with a later version stored) needs the look for a
        # later version this reader may see.
        f" AND (NOT o.superseded OR NOT EXISTS (SELECT 1 FROM objects n"
        f" WHERE n.collection_id = o.collection_id AND n.stix_id = o.stix_id"
        f" AND n.version > o.version AND {visible(principal, p, 'n')}))"
        f" ORDER BY k.i, o.stix_id, o.version DESC, o.collection_id"
    )
    async with _planned(conn):
        rows = await conn.fetch(sql, *p.values)
    return [Hit(*r) for r in rows]


# A handful of index probes: starting parallel workers costs far more than the query. And
# always the GIN index: on a small table the planner picks a scan that tests `&&` row by
# row, which compares every element with every probe (a 10,000-value bulk lookup holds some
# 100,000 probes: minutes instead of milliseconds).
_PLANNER = "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL enable_seqscan = off"


@asynccontextmanager
async def _planned(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A transaction with the lookup's planner settings, opened in one round trip.

    `conn.transaction()` then `SET LOCAL` cost two round trips before the query; a single
    lookup is a few of them in all, so the simple-query protocol takes BEGIN and the
    settings together. Inside a caller's transaction, a savepoint as before.
    """
    if conn.is_in_transaction():
        async with conn.transaction():
            await conn.execute(_PLANNER)
            yield
        return
    await conn.execute(f"BEGIN; {_PLANNER}")
    try:
        yield
    except BaseException:
        if not conn.is_closed():
            # Cancelled or failed mid-query: the pool rolls back whatever is left open.
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
