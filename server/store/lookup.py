"""The analyst lookup: observable values indexed at ingest, matched in one query per call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg

from schemas.principal import Principal
from server.store.query import Params
from server.store.visibility import visible

_US = "interval '1 microsecond'"


class _Indexed(Protocol):
    observables: list[tuple[str, str, str | None]] | None


async def index_observables(
    conn: asyncpg.Connection, collection_id: uuid.UUID, base: datetime,
    objects: list[_Indexed],
) -> None:
    """Index the observables of the versions an envelope's insert just stored.

    The n-th staged object was given date_added `base + n us` in its collection; a
    duplicate (not inserted) has no row there, so its values are not indexed twice.
    """
    ords: list[int] = []
    kinds: list[str] = []
    values: list[str] = []
    nets: list[str | None] = []
    for n, o in enumerate(objects):
        if o.observables:
            for kind, value, net in o.observables:
                ords.append(n)
                kinds.append(kind)
                values.append(value)
                nets.append(net)
    if not ords:
        return
    await conn.execute(
        f"INSERT INTO observables (seq, kind, value, net)"
        f" SELECT o.seq, x.kind, x.value, x.net::inet"
        f" FROM unnest($3::int[], $4::text[], $5::text[], $6::text[]) AS x(ord, kind, value, net)"
        f" JOIN objects o ON o.collection_id = $1"
        f" AND o.date_added = $2::timestamptz + x.ord * {_US}",
        collection_id, base, ords, kinds, values, nets,
    )


@dataclass(frozen=True, slots=True)
class Probe:
    """One search key of one looked-up value (its index in the request)."""

    index: int
    kind: str
    value: str
    match: str  # "exact" or "parent"


class Hit(asyncpg.Record):
    """A current, visible version whose observables match a looked-up value."""


async def find(
    conn: asyncpg.Connection, principal: Principal, probes: list[Probe],
    addresses: list[tuple[int, str]],
) -> list[Hit]:
    """Every current version visible to the principal matching a probe (equal kind and
    value) or holding an address (a stored address or range `>>=` it), in one query.

    A version is current when no later version of the same object in its collection is
    visible to the principal: an indicator whose pattern changed no longer matches its old
    value. Hidden rows are filtered inside the query, so an invisible match and no match
    give the same answer.
    """
    p = Params()
    ki, kk, kv, km = (p([getattr(x, f) for x in probes]) for f in ("index", "kind", "value",
                                                                       "match"))
    ai = p([i for i, _ in addresses])
    aa = p([a for _, a in addresses])
    sql = (
        f"WITH k AS (SELECT * FROM unnest({ki}::int[], {kk}::text[], {kv}::text[],"
        f" {km}::text[]) AS k(i, kind, value, match)),"
        f" a AS (SELECT * FROM unnest({ai}::int[], {aa}::inet[]) AS a(i, addr)),"
        f" hits AS ("
        f"SELECT k.i, k.match, ob.value AS matched, ob.kind, ob.seq FROM k"
        f" JOIN observables ob ON ob.kind = k.kind AND ob.value = k.value"
        f" UNION ALL"
        f" SELECT a.i, CASE WHEN ob.net = a.addr THEN 'exact' ELSE 'range' END, ob.value,"
        f" ob.kind, ob.seq FROM a"
        f" JOIN observables ob ON ob.net IS NOT NULL AND ob.net >>= a.addr)"
        f" SELECT h.i, h.match, h.matched, h.kind, o.stix_id, o.stix_type, o.tlp,"
        f" o.confidence, o.valid_until, o.revoked, o.labels, o.version_text,"
        f" o.body::jsonb ->> 'valid_from' AS valid_from, o.producer_org,"
        f" o.collection_id, c.title AS collection_title, org.name AS producer_name,"
        # A withheld producer stays withheld wherever a copy of the object is stored.
        f" (o.withheld OR EXISTS (SELECT 1 FROM observables ow JOIN objects w"
        f" ON w.seq = ow.seq WHERE ow.kind = h.kind AND ow.value = h.matched"
        f" AND w.stix_id = o.stix_id AND w.withheld)) AS withheld"
        f" FROM hits h JOIN objects o ON o.seq = h.seq"
        f" JOIN collections c ON c.id = o.collection_id"
        f" JOIN organizations org ON org.id = o.producer_org"
        f" WHERE {visible(principal, p, 'o')}"
        f" AND NOT EXISTS (SELECT 1 FROM objects n WHERE n.collection_id = o.collection_id"
        f" AND n.stix_id = o.stix_id AND n.version > o.version AND {visible(principal, p, 'n')})"
        f" ORDER BY h.i, o.stix_id, o.version DESC, o.collection_id"
    )
    async with conn.transaction():
        # A handful of index probes: starting parallel workers (the planner's pick once the
        # GiST estimate grows) costs some 20 ms, a hundred times the query itself.
        await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        return await conn.fetch(sql, *p.values, record_class=Hit)
