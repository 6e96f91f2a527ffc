"""An organisation's exclusion list: values read, classified as ingest spells them, stored."""

from __future__ import annotations

import ipaddress

import asyncpg

from schemas.lookup import Exclusion, ExclusionList, ExclusionsPut
from schemas.principal import Principal, Role
from server.errors import BadRequest, Forbidden
from server.ingest.lookup_values import classify
from server.store import exclusions as store


def _entry(value: str) -> tuple[str, str, str | None] | None:
    """(kind, canonical value, network) of a value, or None if it is of no known kind."""
    kind, keys = classify(value)
    if kind is None or not keys:
        return None
    canonical = keys[0][1]
    net = str(ipaddress.ip_network(canonical, strict=False)) if kind in ("ipv4", "ipv6") \
        else None
    return kind, canonical, net


async def read(pool: asyncpg.Pool, principal: Principal) -> ExclusionList:
    """The principal's organisation's list."""
    async with pool.acquire() as conn:
        found = await store.list_exclusions(conn, principal.org_id)
    return ExclusionList(entries=[Exclusion(kind=e.kind, value=e.value, note=e.note,
                                            created=e.created) for e in found])


async def replace(pool: asyncpg.Pool, principal: Principal, spec: ExclusionsPut) -> ExclusionList:
    """Replace the organisation's list (org-admins); 400 naming every unrecognised value."""
    if not principal.has_role(Role.ORG_ADMIN):
        raise Forbidden("changing the exclusion list needs the org-admin role",
                        details={"needed_role": "org-admin"})
    rows: dict[tuple[str, str], tuple[str, str, str | None, str | None]] = {}
    bad = []
    for n, e in enumerate(spec.entries):
        parsed = _entry(e.value)
        if parsed is None:
            bad.append({"index": n, "value": e.value[:200]})
            continue
        kind, value, net = parsed
        rows[(kind, value)] = (kind, value, net, e.note)
    if bad:
        raise BadRequest("some entries are no address, range, domain, URL, e-mail address or"
                         " hash", details={"unrecognised": bad})
    async with pool.acquire() as conn, conn.transaction():
        await store.replace_exclusions(conn, principal.org_id, list(rows.values()))
    return await read(pool, principal)
