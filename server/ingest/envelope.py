"""Ingest: envelope -> validated objects -> policy decisions -> store -> status (DESIGN.md).

Validation runs before any database work; the policy decisions, the ownership claims, the
objects, the audit entries and the status are written in one transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pydantic

from schemas import strict_json
from schemas.accord_extension import ACCORD_EXTENSION_ID, AccordTerms
from schemas.principal import Principal
from schemas.stix import StixError, StixFacts, parse_timestamp, validate_object
from schemas.tlp import TLP_LEVELS, Tlp
from server import policy
from server.errors import BadRequest
from server.ingest.facets import facets_of
from server.store import audit, statuses
from server.store import objects as object_store
from server.store.objects import Facets, StagedObject
from server.store.orgs import orgs_by_identity
from server.store.records import CollectionView

# Envelopes are CPU work on the event loop; yielding every _SLICE objects lets the loop
# finish other requests' database round trips, above all the one holding the ingest lock,
# instead of making every poster wait behind one envelope's validation.
_SLICE = 64
# A version dated further ahead than this would shadow every honest later version.
_FUTURE_SLACK = timedelta(days=1)


@dataclass(slots=True)
class _Checked:
    index: int
    obj: dict
    facts: StixFacts
    version: datetime | None
    terms: policy.Terms


def parse_envelope(body: bytes) -> list[object]:
    """The `objects` of a TAXII envelope; BadRequest names what is wrong with the rest."""
    try:
        envelope = strict_json.loads(body)
    except ValueError as exc:
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


_NO_TERMS = policy.Terms()  # immutable: one instance serves every object that states none


def _terms(obj: dict) -> policy.Terms:
    raw = (obj.get("extensions") or {}).get(ACCORD_EXTENSION_ID)
    if raw is None:
        return _NO_TERMS
    try:
        terms = AccordTerms.model_validate(raw)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise StixError(f"the Accord extension is malformed: {problems}",
                        property="extensions", reason="extension") from None
    return policy.Terms(
        attribution=terms.attribution,
        sectors=frozenset(terms.releasable_to_sectors) if terms.releasable_to_sectors else None,
        recipients=tuple(terms.recipients) if terms.recipients else None,
    )


def _check(index: int, obj: object, allow_custom: bool, now: datetime) -> _Checked:
    facts = validate_object(obj, allow_custom=allow_custom)
    assert isinstance(obj, dict)  # validate_object refuses anything else
    version = None
    if facts.version is not None:
        version = parse_timestamp(facts.version)
        if version > now + _FUTURE_SLACK:
            raise StixError(f"version {facts.version} is in the future", property="modified",
                            reason="timestamp")
    return _Checked(index, obj, facts, version, _terms(obj))


def _submission(principal: Principal, collection: CollectionView) -> policy.Submission:
    return policy.Submission(
        poster_org=principal.org_id,
        poster_identity=principal.identity_id,
        platform_admin=principal.is_platform_admin,
        group_id=collection.group_id,
        group_identity=collection.group_identity,
        allow_anonymous=collection.allow_anonymous,
        default_tlp=Tlp(principal.default_tlp or collection.default_tlp),
        default_attribution=principal.default_attribution or collection.default_attribution,
    )


def _canonical(obj: dict) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


async def ingest_envelope(
    pool: asyncpg.Pool, principal: Principal, collection: CollectionView, body: bytes
) -> statuses.Status:
    """Validate, decide and store a POSTed envelope; every object ends in successes or failures."""
    checked, repeats, failures = await _validate(parse_envelope(body), collection)
    async with pool.acquire() as conn, conn.transaction():
        return await _write(conn, principal, collection, checked, repeats, failures)


async def ingest_objects(
    conn: asyncpg.Connection, principal: Principal, collection: CollectionView, objects: list
) -> statuses.Status:
    """`ingest_envelope` for objects already parsed, inside the caller's transaction (a
    federation pull stores its cursor in the transaction that stores the objects)."""
    checked, repeats, failures = await _validate(objects, collection)
    return await _write(conn, principal, collection, checked, repeats, failures)


async def _validate(objects: list, collection: CollectionView) -> tuple[
    dict[tuple[str, datetime | None], _Checked], list[tuple[_Checked, _Checked]], list[dict]
]:
    now = datetime.now(UTC)
    failures: list[dict] = []
    checked: dict[tuple[str, datetime | None], _Checked] = {}
    repeats: list[tuple[_Checked, _Checked]] = []  # (first copy, identical later copy)
    for index, obj in enumerate(objects):
        if index % _SLICE == _SLICE - 1:
            await asyncio.sleep(0)
        try:
            item = _check(index, obj, collection.allow_custom, now)
        except StixError as exc:
            failures.append(_failure(obj, index, exc.message))
            continue
        earlier = checked.setdefault((item.facts.id, item.version), item)
        if earlier is item:
            continue
        if _canonical(earlier.obj) != _canonical(item.obj):
            failures.append(_failure(obj, index, "the envelope holds this id and version"
                                     " twice, with different content"))
        else:
            repeats.append((earlier, item))
    return checked, repeats, failures


async def _write(conn: asyncpg.Connection, principal: Principal, collection: CollectionView,
                 checked: dict[tuple[str, datetime | None], _Checked],
                 repeats: list[tuple[_Checked, _Checked]], failures: list[dict]
                 ) -> statuses.Status:
    run = _Run(conn, principal, collection, failures)
    successes = await run.store(list(checked.values()))
    _report_repeats(repeats, successes, failures)
    await audit.record(conn, run.audit_entries())
    return await statuses.save_status(conn, principal, collection.id, successes, failures)


def _report_repeats(repeats: list[tuple[_Checked, _Checked]], successes: list[dict],
                    failures: list[dict]) -> None:
    """An identical second copy in one envelope shares its first copy's outcome, so the
    status accounts for every object posted."""
    if not repeats:
        return
    stored: dict[str, list[str]] = {}
    for entry in successes:
        stored.setdefault(entry["id"], []).append(entry["version"])
    for first, again in repeats:
        versions = stored.get(first.facts.id, [])
        if first.facts.version is None and versions:  # unversioned: its stored version
            successes.append({"id": first.facts.id, "version": versions[0]})
        elif first.facts.version in versions:
            successes.append({"id": first.facts.id, "version": first.facts.version})
        else:
            failures.append(_failure(again.obj, again.index, f"identical to objects"
                                     f"[{first.index}], which was not stored"))


class _Run:
    """The database half of one ingest, inside its transaction."""

    def __init__(self, conn: asyncpg.Connection, principal: Principal, collection: CollectionView,
                 failures: list[dict]) -> None:
        self.conn = conn
        self.principal = principal
        self.collection = collection
        self.sub = _submission(principal, collection)
        self.failures = failures
        self.refused: list[dict] = []
        self.remarked: list[str] = []
        self.withheld: list[str] = []
        self.owners: dict[str, uuid.UUID] = {}

    def _refuse(self, item: _Checked, message: str, reason: str) -> None:
        self.failures.append(_failure(item.obj, item.index, message))
        self.refused.append({"id": item.facts.id, "reason": reason})

    async def store(self, items: list[_Checked]) -> list[dict]:
        successes: list[dict] = []
        items = await self._known_markings(items)
        # The TLP definitions are built in: posting one is a no-op success.
        builtin = [c for c in items if c.facts.id in TLP_LEVELS]
        successes += [{"id": c.facts.id, "version": c.facts.version or ""} for c in builtin]
        items = [c for c in items if c.facts.id not in TLP_LEVELS]
        fresh, staged = await self._foreign(items, successes)
        staged += await self._decided(await self._decide(fresh))
        if staged:
            outcome = await object_store.store_envelope(
                self.conn, self.collection.id, self.collection.group_id, staged
            )
            successes += [{"id": i, "version": v} for i, v in outcome.stored + outcome.duplicates]
            self.failures.extend(
                {"id": i, "version": v, "message": "a different object with this id and"
                 " version is already stored; a changed object needs a new 'modified'"}
                for i, v in outcome.conflicts
            )
            self.refused.extend({"id": i, "reason": "conflict"} for i, _ in outcome.conflicts)
        return successes

    async def _known_markings(self, items: list[_Checked]) -> list[_Checked]:
        """Refuse objects referencing marking definitions nobody can resolve.

        Known: the TLP definitions, marking definitions in this envelope, and those stored
        in this collection (never another, so a failure reveals nothing of other groups).
        """
        in_envelope = {c.facts.id for c in items if c.facts.type == "marking-definition"}
        wanted = {
            ref for c in items for ref in c.facts.marking_refs
            if ref not in TLP_LEVELS and ref not in in_envelope
        }
        stored = (
            await object_store.stored_ids(self.conn, self.collection.id, list(wanted))
            if wanted else set()
        )
        accepted = []
        for c in items:
            unknown = sorted(set(c.facts.marking_refs) - TLP_LEVELS.keys() - in_envelope - stored)
            if unknown:
                self._refuse(c, f"unknown marking definition {unknown[0]}: post it first or in"
                             " the same envelope", "marking")
            else:
                accepted.append(c)
        return accepted

    async def _decide(self, items: list[_Checked]) -> list[tuple[_Checked, policy.Decision]]:
        named = sorted({r for c in items for r in (c.terms.recipients or ())})
        recipients = await orgs_by_identity(self.conn, named) if named else {}
        decided = []
        for n, c in enumerate(items):
            if n % _SLICE == _SLICE - 1:
                await asyncio.sleep(0)
            try:
                decided.append((c, policy.decide(self.sub, c.obj, c.terms, recipients)))
            except policy.Refusal as exc:
                self._refuse(c, exc.message, exc.reason)
        return decided

    async def _foreign(self, items: list[_Checked],
                       successes: list[dict]) -> tuple[list[_Checked], list[StagedObject]]:
        """Claim ownership of new ids; judge versions of ids others own (re-shares and
        duplicates of what is stored, never new submissions of the poster's).

        Returns the items left for the submission policy, and the re-shares to store.
        """
        versioned = sorted({c.facts.id for c in items if c.version is not None})
        self.owners = await object_store.claim_owners(self.conn, versioned,
                                                      self.principal.org_id)
        if not self.owners or self.principal.is_platform_admin:
            return items, []
        copies = await object_store.stored_copies(self.conn, self.principal,
                                                  self.collection.id, sorted(self.owners))
        fresh, staged = [], []
        for c in items:
            owner = self.owners.get(c.facts.id)
            if owner is None:
                fresh.append(c)
                continue
            copy = copies.get((c.facts.id, c.version))
            if copy is not None and copy.body != _canonical(c.obj):
                copy = None  # only an identical copy counts
            try:
                producer = policy.check_owner(
                    self.sub, owner, Tlp(copy.tlp) if copy else None,
                    already_here=copy is not None and copy.here,
                )
            except policy.Refusal as exc:
                self._refuse(c, exc.message, exc.reason)
                continue
            assert copy is not None  # check_owner admits another's id only for a copy
            if copy.here:  # a TAXII duplicate: a success, and nothing to write
                successes.append({"id": c.facts.id, "version": c.facts.version or ""})
            else:  # a re-share, stored as it is stored, under its producer
                staged.append(self._stage(c, copy.body, producer, copy.tlp, copy.sectors, [],
                                          False, facets_of(c.obj)))
        return fresh, staged

    async def _decided(
        self, decided: list[tuple[_Checked, policy.Decision]]
    ) -> list[StagedObject]:
        """Stage what the submission policy admitted, under its producer."""
        staged = []
        for n, (c, decision) in enumerate(decided):
            if n % _SLICE == _SLICE - 1:
                await asyncio.sleep(0)
            # Only the poster's own ids reach here (or anyone's, for a platform admin).
            producer = policy.check_owner(self.sub, self.owners.get(c.facts.id), None)
            if decision.remarked:
                self.remarked.append(c.facts.id)
            if decision.withheld:
                self.withheld.append(c.facts.id)
            staged.append(self._stage(
                c, _canonical(decision.body), producer, decision.tlp.value,
                sorted(decision.sectors) if decision.sectors else None,
                sorted(decision.recipients), decision.withheld, facets_of(decision.body),
            ))
        return staged

    @staticmethod
    def _stage(c: _Checked, body: str, producer: uuid.UUID, tlp: str,
               sectors: list[str] | None, recipients: list[uuid.UUID],
               withheld: bool, facets: Facets) -> StagedObject:
        return StagedObject(
            c.facts.id, c.facts.type, c.facts.spec_version, c.version, c.facts.version, body,
            producer, tlp, sectors, recipients, withheld, facets,
        )

    def audit_entries(self) -> list[audit.AuditEntry]:
        org = self.principal.org_id
        where = {"collection": str(self.collection.id)}
        entries = []
        if self.refused:
            entries.append(audit.entry(self.principal, "object.refused", org,
                                       refused=self.refused, **where))
        if self.remarked:
            entries.append(audit.entry(self.principal, "object.remarked", org,
                                       ids=self.remarked, default_tlp=self.sub.default_tlp,
                                       **where))
        if self.withheld:
            entries.append(audit.entry(self.principal, "object.withheld", org, ids=self.withheld,
                                       producer_org=str(org),
                                       producer=self.principal.org_name, **where))
        return entries
