"""An organisation's exclusion list: values read, classified as ingest spells them, stored."""

from __future__ import annotations

import ipaddress
from datetime import datetime

import asyncpg

from schemas.lookup import Exclusion, ExclusionList, ExclusionsPut
from schemas.principal import Principal, Role
from server.errors import BadRequest, Forbidden, PreconditionFailed
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


def _etag(changed: datetime | None) -> str:
    return f'"{round(changed.timestamp() * 1_000_000)}"' if changed else '"0"'


def _matches(if_match: str, etag: str) -> bool:
    """RFC 9110 s13.1.1: `*`, or one of the listed tags by strong comparison (a weak tag
    never matches)."""
    if if_match.strip() == "*":
        return True
    return etag in (tag.strip() for tag in if_match.split(","))


async def read(pool: asyncpg.Pool, principal: Principal) -> tuple[ExclusionList, str]:
    """The principal's organisation's list and its ETag, read under one snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                         readonly=True):
        changed = await store.list_changed(conn, principal.org_id)
        found = await store.list_exclusions(conn, principal.org_id)
    return ExclusionList(entries=[Exclusion(kind=e.kind, value=e.value, note=e.note,
                                            created=e.created) for e in found]), _etag(changed)


async def replace(pool: asyncpg.Pool, principal: Principal, spec: ExclusionsPut,
                  if_match: str | None = None) -> tuple[ExclusionList, str]:
    """Replace the organisation's list (org-admins); 400 naming every unrecognised value,
    412 if `if_match` (the If-Match header) names a list changed since."""
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
        current = _etag(await store.list_changed(conn, principal.org_id, lock=True))
        # Read, change, write back: without this, of two admins editing at once the
        # second would silently undo the first.
        if if_match is not None and not _matches(if_match, current):
            raise PreconditionFailed(
                "the exclusion list changed since it was read: read it again (its ETag) and"
                " send the change with that If-Match", details={"etag": current})
        await store.replace_exclusions(conn, principal.org_id, list(rows.values()))
    return await read(pool, principal)
