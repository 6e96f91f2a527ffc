"""Sightings reported through the JSON API, on the member's behalf."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from schemas.principal import Principal, Role
from schemas.sightings import SightingCreate, SightingRecorded
from server.errors import Forbidden, NotFound
from server.store import sightings as store


async def report(pool: asyncpg.Pool, principal: Principal,
                 spec: SightingCreate) -> SightingRecorded:
    """Record a sighting of an indicator the principal can see; an indicator it cannot see
    is answered exactly like one that does not exist."""
    if not principal.has_role(Role.CONTRIBUTOR):
        raise Forbidden("reporting a sighting needs the contributor role",
                        details={"needed_role": Role.CONTRIBUTOR.value})
    stix_id = spec.indicator_id.lower()  # an id is one id however its UUID is spelt
    last_seen = spec.last_seen or datetime.now(UTC)
    async with pool.acquire() as conn:
        recorded = await store.record(conn, principal, stix_id, spec.kind, spec.count,
                                      spec.first_seen, last_seen, spec.credited)
    if not recorded:
        raise NotFound("no indicator with this id is visible to you",
                       details={"indicator_id": spec.indicator_id})
    return SightingRecorded(indicator_id=stix_id, kind=spec.kind, count=spec.count,
                            last_seen=last_seen, credited=spec.credited)
