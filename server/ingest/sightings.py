"""STIX `sighting` objects of indicators, posted over TAXII: stored as the objects they are,
shared no wider than the indicator they refer to, anonymous unless the sighter chooses.

A sighting of an indicator the poster cannot see in the collection's trust group is refused
with the same message whether the indicator exists elsewhere or nowhere. Readers get the
aggregates (server.store.sightings) with the lookup.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Protocol

import asyncpg

from schemas.principal import Principal, Sector
from schemas.tlp import Tlp
from server import policy
from server.store import sightings as store

REFUSAL = "sighting_of_ref names no indicator visible to you in this trust group"


class _Item(Protocol):
    obj: dict
    terms: Any


def is_indicator_sighting(obj: dict) -> bool:
    """Whether an object is a sighting of an indicator (bounded by it)."""
    ref = obj.get("sighting_of_ref")
    return obj.get("type") == "sighting" and isinstance(ref, str) and \
        ref.startswith("indicator--")


async def bounds(conn: asyncpg.Connection, principal: Principal, group_id: uuid.UUID,
                 items: list[_Item]) -> tuple[dict[str, policy.StoredObject], list[_Item]]:
    """The indicator copy bounding each sighting among items (by indicator id), and the
    sightings refused because their indicator is not visible to the poster in the group."""
    wanted = sorted({c.obj["sighting_of_ref"] for c in items if is_indicator_sighting(c.obj)})
    if not wanted:
        return {}, []
    copies = await store.indicator_copies(conn, principal, group_id, wanted)
    found = {
        stix_id: policy.strictest_copy([policy.StoredObject(
            group_id, c.producer_org, Tlp(c.tlp),
            frozenset(Sector(s) for s in c.sectors) if c.sectors is not None else None,
            frozenset(c.recipients)) for c in rows])
        for stix_id, rows in copies.items()
    }
    refused = [c for c in items if is_indicator_sighting(c.obj)
               and c.obj["sighting_of_ref"] not in found]
    return found, refused


def sighting_terms(terms: policy.Terms, sub: policy.Submission) -> policy.Terms:
    """A sighting names its sighter only if it asks to (the Accord extension's
    `attribution: credited`), where the group accepts anonymous posts."""
    if terms.attribution is None and sub.allow_anonymous:
        return dataclasses.replace(terms, attribution="withheld")
    return terms


def bounded(decision: policy.Decision, indicator: policy.StoredObject,
            sub: policy.Submission) -> policy.Decision:
    """The policy's decision on a sighting, narrowed to its indicator's readers."""
    return policy.bound_sighting(decision, indicator, sub.poster_org, sub.poster_identity,
                                 sub.group_identity)
