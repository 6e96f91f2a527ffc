"""STIX `sighting` objects of indicators, posted over TAXII: taken as reports, not re-shared.

A sighting says what hit the sighter's network; stored as an object it would be served to
the group with its `created_by_ref` and `where_sighted_refs`, naming the sighter. So a
sighting of an indicator is recorded as an aggregate report (server.store.sightings):
kind from its labels (`false-positive`, `expired`, else seen), `count`, `first_seen`,
`last_seen`; credited only if its Accord extension says `"attribution": "credited"`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg

from schemas.principal import Principal
from schemas.stix import parse_timestamp
from server.store import sightings as store

REFUSAL = "sighting_of_ref names no indicator visible to you"


class _Item(Protocol):
    obj: dict
    terms: Any


def is_indicator_sighting(obj: dict) -> bool:
    """Whether an object is a sighting of an indicator (taken as a report)."""
    ref = obj.get("sighting_of_ref")
    return obj.get("type") == "sighting" and isinstance(ref, str) and \
        ref.lower().startswith("indicator--")


def kind_of(obj: dict) -> str:
    """seen, false-positive or expired, from the sighting's labels."""
    labels = obj.get("labels")
    labels = labels if isinstance(labels, list) else []
    if "false-positive" in labels:
        return "false-positive"
    if "expired" in labels:
        return "expired"
    return "seen"


def _when(value: object) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


async def take(conn: asyncpg.Connection, principal: Principal,
               items: list[_Item]) -> tuple[list[_Item], list[_Item]]:
    """Record the reports of these sighting items; return (recorded, refused).

    Refused: the indicator is not visible to the poster, answered the same whether it
    exists in a group the poster cannot read or nowhere.
    """
    recorded, refused = [], []
    for item in items:
        obj = item.obj
        count = obj.get("count")
        count = count if type(count) is int and count > 0 else 1
        last_seen = _when(obj.get("last_seen")) or _when(obj.get("modified")) or \
            datetime.now(UTC)
        first_seen = _when(obj.get("first_seen"))
        done = await store.record(
            conn, principal, obj["sighting_of_ref"].lower(), kind_of(obj), count,
            first_seen if first_seen is None or first_seen <= last_seen else last_seen,
            last_seen, item.terms.attribution == "credited", sighting_ref=obj["id"].lower(),
        )
        (recorded if done else refused).append(item)
    return recorded, refused
