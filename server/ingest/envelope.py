"""Ingest: envelope -> validated objects -> store in one transaction -> status (DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
from schemas.stix import StixError, StixFacts, parse_timestamp, validate_object

from schemas.principal import Principal
from schemas.tlp import TLP_LEVELS
from server.errors import BadRequest
from server.store import objects as object_store
from server.store import statuses
from server.store.objects import StagedObject
from server.store.records import Collection

# A version dated further ahead than this would shadow every honest later version.
_FUTURE_SLACK = timedelta(days=1)


@dataclass(slots=True)
class _Checked:
    index: int
    facts: StixFacts
    staged: StagedObject


def parse_envelope(body: bytes) -> list[object]:
    """The `objects` of a TAXII envelope; BadRequest names what is wrong with the rest."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise BadRequest("request body must be a TAXII envelope (a JSON object)")
    objects = envelope.get("objects")
    if objects is None:
        raise BadRequest("the envelope has no 'objects' property")
    if not isinstance(objects, list):
        raise BadRequest("the envelope's 'objects' must be a list")
    if not objects:
        raise BadRequest("the envelope's 'objects' list is empty")
    return objects


def _failure(obj: object, index: int, message: str) -> dict:
    stix_id = obj.get("id") if isinstance(obj, dict) else None
    version = obj.get("modified", obj.get("created")) if isinstance(obj, dict) else None
    return {
        "id": stix_id if isinstance(stix_id, str) else f"objects[{index}]",
        "version": version if isinstance(version, str) else "",
        "message": f"objects[{index}]: {message}",
    }


def _check(index: int, obj: object, allow_custom: bool, now: datetime) -> _Checked:
    facts = validate_object(obj, allow_custom=allow_custom)
    version = None
    if facts.version is not None:
        version = parse_timestamp(facts.version)
        if version > now + _FUTURE_SLACK:
            raise StixError(
                f"version {facts.version} is in the future", property="modified",
                reason="timestamp",
            )
    body = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
    staged = StagedObject(facts.id, facts.type, facts.spec_version, version, facts.version, body)
    return _Checked(index, facts, staged)


async def ingest_envelope(
    pool: asyncpg.Pool, principal: Principal, collection: Collection, body: bytes
) -> statuses.Status:
    """Validate and store a POSTed envelope; every object ends in successes or failures."""
    objects = parse_envelope(body)
    now = datetime.now(UTC)
    failures: list[dict] = []
    checked: dict[tuple[str, datetime | None], _Checked] = {}
    for index, obj in enumerate(objects):
        try:
            item = _check(index, obj, collection.allow_custom, now)
        except StixError as exc:
            failures.append(_failure(obj, index, exc.message))
            continue
        key = (item.facts.id, item.staged.version)
        earlier = checked.get(key)
        if earlier is None:
            checked[key] = item
        elif earlier.staged.body != item.staged.body:
            failures.append(_failure(obj, index, "the envelope holds this id and version twice,"
                                     " with different content"))
    async with pool.acquire() as conn, conn.transaction():
        accepted = await _known_markings(conn, collection, list(checked.values()), failures)
        successes: list[dict] = []
        if accepted:
            outcome = await object_store.store_envelope(
                conn, collection.id, principal.org_id, [c.staged for c in accepted]
            )
            successes = [
                {"id": i, "version": v} for i, v in outcome.stored + outcome.duplicates
            ]
            failures.extend(
                {"id": i, "version": v, "message": "a different object with this id and"
                 " version is already stored; a changed object needs a new 'modified'"}
                for i, v in outcome.conflicts
            )
        return await statuses.save_status(conn, principal, collection.id, successes, failures)


async def _known_markings(
    conn: asyncpg.Connection, collection: Collection, items: list[_Checked], failures: list[dict]
) -> list[_Checked]:
    """Drop (into failures) objects that reference marking definitions nobody can resolve.

    Known: the TLP definitions, marking definitions in this envelope, and those stored
    in this collection (never another, so a failure reveals nothing of other groups).
    """
    in_envelope = {c.facts.id for c in items if c.facts.type == "marking-definition"}
    wanted = {
        ref for c in items for ref in c.facts.marking_refs
        if ref not in TLP_LEVELS and ref not in in_envelope
    }
    stored = await object_store.stored_ids(conn, collection.id, list(wanted)) if wanted else set()
    accepted = []
    for c in items:
        unknown = sorted(
            r for r in c.facts.marking_refs
            if r not in TLP_LEVELS and r not in in_envelope and r not in stored
        )
        if unknown:
            failures.append({
                "id": c.facts.id, "version": c.facts.version or "",
                "message": f"objects[{c.index}]: unknown marking definition {unknown[0]}:"
                " post it first or in the same envelope",
            })
        else:
            accepted.append(c)
    return accepted
