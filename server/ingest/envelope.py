"""Ingest: envelope -> validated objects -> policy decisions -> store -> status (DESIGN.md).

Validation runs before any database work; the policy decisions, the ownership claims, the
objects, the audit entries and the status are written in one transaction. Objects naming a
marking-definition that has not arrived yet wait in `pending_objects` (shared with nobody)
and are decided when it arrives, in the transaction that stores it, or refused after
PENDING_MARKING_WAIT.
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
from schemas.principal import Principal, Role, Sector
from schemas.stix import StixError, StixFacts, parse_timestamp, validate_object
from schemas.taxii import HELD_FOR_REVIEW
from schemas.tlp import TLP2_ID_OF, TLP_LEVELS, Tlp
from server import policy
from server.errors import BadRequest
from server.ingest import screen, sightings, warninglists
from server.ingest.facets import facets_of
from server.ingest.patterns import PatternChecker, known_answers, sort_patterns
from server.store import audit, statuses
from server.store import groups as group_store
from server.store import objects as object_store
from server.store import pending as pending_store
from server.store import withheld as withheld_store
from server.store.objects import Facets, StagedObject
from server.store.orgs import orgs_by_identity, platform_org
from server.store.records import CollectionView

# Envelopes are CPU work on the event loop; yielding every _SLICE objects lets the loop
# finish other requests' database round trips, above all the one holding the ingest lock,
# instead of making every poster wait behind one envelope's validation.
_SLICE = 64
# A version dated further ahead than this would shadow every honest later version.
_FUTURE_SLACK = timedelta(days=1)
# How long an object waits, shared with nobody, for a marking-definition it names that has
# not arrived yet (a tool posting a file in chunks); then it is refused (README).
PENDING_MARKING_WAIT = timedelta(minutes=15)
# A deadlock between two envelopes' marking-definition locks aborts one; it runs again.
_DEADLOCK_RETRIES = 3
_RESERVABLE = ("identity--", "marking-definition--", "extension-definition--")
# The version Accord gives the identity objects it serves so created_by_ref resolves.
_IDENTITY_SINCE = "2020-01-01T00:00:00.000Z"


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
    pool: asyncpg.Pool, principal: Principal, collection: CollectionView, body: bytes,
    patterns: PatternChecker | None = None,
) -> statuses.Status:
    """Validate, decide and store a POSTed envelope; every object ends in successes, failures
    or pendings (awaiting a marking-definition). `patterns`: where indicator patterns the
    fast recogniser misses are checked (else here, on the event loop)."""
    objects = parse_envelope(body)
    now = datetime.now(UTC)
    failures: list[dict] = []
    answers: dict[str, str | None] = {}
    if patterns is not None:
        slow, answers = sort_patterns(objects)
        answers.update(await patterns.answers(principal.org_id, slow))
    with known_answers(answers):
        checked, repeats = await _checked_objects(objects, collection.allow_custom, now,
                                                  failures)
    for attempt in range(_DEADLOCK_RETRIES):
        try:
            return await _write_envelope(pool, principal, collection, checked, repeats,
                                         list(failures), now)
        except asyncpg.DeadlockDetectedError:
            # Two envelopes each storing a definition that objects of the other await:
            # PostgreSQL rolled this one back whole; the other has committed or will.
            if attempt == _DEADLOCK_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


async def _write_envelope(
    pool: asyncpg.Pool, principal: Principal, collection: CollectionView,
    checked: list[_Checked], repeats: list[tuple[_Checked, _Checked]], failures: list[dict],
    now: datetime,
) -> statuses.Status:
    """The envelope's one transaction: decisions, rows, audit, status, releases."""
    async with pool.acquire() as conn, conn.transaction():
        return await _write(conn, principal, collection, checked, repeats, failures, now)


async def ingest_objects(
    conn: asyncpg.Connection, principal: Principal, collection: CollectionView, objects: list
) -> statuses.Status:
    """`ingest_envelope` for objects already parsed, inside the caller's transaction (a
    federation pull stores its cursor in the transaction that stores the objects)."""
    now = datetime.now(UTC)
    failures: list[dict] = []
    checked, repeats = await _checked_objects(objects, collection.allow_custom, now, failures)
    return await _write(conn, principal, collection, checked, repeats, failures, now)


async def _write(conn: asyncpg.Connection, principal: Principal, collection: CollectionView,
                 checked: list[_Checked], repeats: list[tuple[_Checked, _Checked]],
                 failures: list[dict], now: datetime) -> statuses.Status:
    write = _IngestTransaction(conn, principal, collection, failures)
    screened = await screen.screen(conn, collection, checked, write._refuse)
    successes = await write.store(screened.admitted)
    _report_repeats(repeats, successes, failures, write.pending + screened.held)
    await audit.record(conn, write.audit_entries() + screened.audit_entries(principal,
                                                                             collection))
    status = await statuses.save_status(conn, principal, collection.id, successes, failures,
                                        [*map(_entry, write.pending),
                                         *(_entry(c, HELD_FOR_REVIEW) for c in screened.held)])
    await write.hold_pending(status.id, now)
    await screened.keep(conn, status.id, principal, collection, _poster(principal), now)
    if write.stored_markings:
        await release_pending(conn, collection, write.stored_markings)
    return status


async def _checked_objects(
    objects: list[object], allow_custom: bool, now: datetime, failures: list[dict],
) -> tuple[list[_Checked], list[tuple[_Checked, _Checked]]]:
    """Validate each object; one per (id, version), plus the identical repeats."""
    checked: dict[tuple[str, datetime | None], _Checked] = {}
    repeats: list[tuple[_Checked, _Checked]] = []  # (first copy, identical later copy)
    for index, obj in enumerate(objects):
        if index % _SLICE == _SLICE - 1:
            await asyncio.sleep(0)
        try:
            item = _check(index, obj, allow_custom, now)
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
    return list(checked.values()), repeats


def _entry(c: _Checked, message: str | None = None) -> dict:
    entry = {"id": c.facts.id, "version": c.facts.version or ""}
    if message:
        entry["message"] = message
    return entry


def _report_repeats(repeats: list[tuple[_Checked, _Checked]], successes: list[dict],
                    failures: list[dict], pending: list[_Checked]) -> None:
    """An identical second copy in one envelope shares its first copy's outcome, so the
    status accounts for every object posted."""
    if not repeats:
        return
    stored: dict[str, list[str]] = {}
    for entry in successes:
        stored.setdefault(entry["id"], []).append(entry["version"])
    waiting = {id(c) for c in pending}
    for first, again in repeats:
        versions = stored.get(first.facts.id, [])
        if id(first) in waiting:
            continue  # decided with its first copy when its marking arrives
        if first.facts.version is None and versions:  # unversioned: its stored version
            successes.append({"id": first.facts.id, "version": versions[0]})
        elif first.facts.version in versions:
            successes.append({"id": first.facts.id, "version": first.facts.version})
        else:
            failures.append(_failure(again.obj, again.index, f"identical to objects"
                                     f"[{first.index}], which was not stored"))


def _poster(principal: Principal) -> dict:
    """The principal as a pending object keeps it, to be decided under it later."""
    return {"key_id": principal.key_id, "org_id": str(principal.org_id),
            "org_name": principal.org_name, "sector": principal.sector.value,
            "role": principal.role.value, "identity_id": principal.identity_id,
            "default_tlp": principal.default_tlp,
            "default_attribution": principal.default_attribution}


def _principal(poster: dict) -> Principal:
    return Principal(
        poster["key_id"], uuid.UUID(poster["org_id"]), poster["org_name"],
        Sector(poster["sector"]), Role(poster["role"]), poster["identity_id"],
        poster["default_tlp"], poster["default_attribution"],
    )


async def store_released(conn: asyncpg.Connection, poster: dict, collection: CollectionView,
                         status_id: uuid.UUID, index: int, obj: dict
                         ) -> tuple[list[dict], list[dict]]:
    """Store an object released from privacy review under its poster, judged as if posted
    now; returns its status successes and failures (none of either: it now waits, under
    the same status, for a marking-definition)."""
    principal, now, failures = _principal(poster), datetime.now(UTC), []
    items = []
    try:
        items.append(_check(index, obj, collection.allow_custom, now))
    except StixError as exc:
        failures.append(_failure(obj, index, exc.message))
    write = _IngestTransaction(conn, principal, collection, failures)
    successes = await write.store(items)
    await audit.record(conn, write.audit_entries())
    await write.hold_pending(status_id, now)
    if write.stored_markings:
        await release_pending(conn, collection, write.stored_markings)
    return successes, failures


def poster_principal(poster: dict) -> Principal:
    """The principal a waiting object was posted under, as its queue keeps it."""
    return _principal(poster)


async def read_status(pool: asyncpg.Pool, principal: Principal, status_id: uuid.UUID,
                      retention_hours: int) -> statuses.Status:
    """A status of the caller's organisation (NotFound otherwise), its overdue waiting
    objects refused first."""
    async with pool.acquire() as conn, conn.transaction():
        found = await statuses.get_status(conn, principal, status_id, retention_hours)
        if not found.pending:
            return found
        await _refuse_expired(conn, await pending_store.take_expired(conn, status_id=status_id))
        return await statuses.get_status(conn, principal, status_id, retention_hours)


async def expire_pending(pool: asyncpg.Pool) -> None:
    """Refuse the waiting objects whose marking-definition did not arrive in time: nothing
    is ever shared wider than its markings declare, so no level is guessed. (Run by the
    status purge loop; a status read and every release also respect the deadline.)"""
    async with pool.acquire() as conn, conn.transaction():
        await _refuse_expired(conn, await pending_store.take_expired(conn))


async def _refuse_expired(conn: asyncpg.Connection,
                          expired: dict[uuid.UUID, list[asyncpg.Record]]) -> None:
    for status_id, rows in expired.items():
        failures = [{
            "id": r["stix_id"], "version": r["version_text"],
            "message": f"objects[{r['ord']}]: marking definition {r['awaiting'][0]} did not"
                       f" arrive within {PENDING_MARKING_WAIT.seconds // 60} minutes; post it,"
                       " then the object again",
        } for r in rows]
        await statuses.settle_pending(conn, status_id, [], failures)
        principal = _principal(orjson.loads(rows[0]["poster"]))
        await audit.record(conn, [audit.entry(
            principal, "object.refused", principal.org_id,
            collection=str(rows[0]["collection_id"]),
            refused=[{"id": r["stix_id"], "reason": "marking"} for r in rows])])


async def release_pending(conn: asyncpg.Connection, collection: CollectionView,
                          arrived: set[str]) -> None:
    """Decide the waiting objects of this collection whose definitions have all arrived,
    each under its own poster, and settle their statuses."""
    while arrived:
        rows = await pending_store.take_ready(conn, collection.id, sorted(arrived))
        arrived = set()
        by_status: dict[uuid.UUID, list[asyncpg.Record]] = {}
        for r in rows:
            by_status.setdefault(r["status_id"], []).append(r)
        now = datetime.now(UTC)
        for status_id, group in by_status.items():
            failures: list[dict] = []
            items = []
            poster = _principal(orjson.loads(group[0]["poster"]))
            # Decided with the poster's rights of now: one that left the group posts nothing.
            member = poster.is_platform_admin or await group_store.members(
                conn, collection.group_id, only_org=poster.org_id)
            for r in group:
                try:
                    if not member:
                        raise StixError("your organisation left this collection's trust group"
                                        " before the object's marking definition arrived")
                    items.append(_check(r["ord"], orjson.loads(r["body"]),
                                        collection.allow_custom, now))
                except StixError as exc:
                    failures.append(_failure(orjson.loads(r["body"]), r["ord"], exc.message))
            write = _IngestTransaction(conn, poster, collection, failures)
            successes = await write.store(items)
            await audit.record(conn, write.audit_entries())
            # Still waiting for another definition: within the time it was first given.
            await write.hold_pending(status_id, group[0]["deadline"] - PENDING_MARKING_WAIT)
            await statuses.settle_pending(conn, status_id, successes, failures)
            arrived |= write.stored_markings


WITHHELD_IDENTITY_NAME = "Withheld: a member of this trust group"


def served_identity(stix_id: str, name: str, owner: uuid.UUID,
                    identity_class: str) -> StagedObject:
    """An identity object Accord serves so that created_by_ref resolves for readers."""
    body = {"type": "identity", "spec_version": "2.1", "id": stix_id,
            "created": _IDENTITY_SINCE, "modified": _IDENTITY_SINCE, "name": name,
            "identity_class": identity_class, "object_marking_refs": [TLP2_ID_OF[Tlp.CLEAR]]}
    return StagedObject(stix_id, "identity", "2.1", parse_timestamp(_IDENTITY_SINCE),
                        _IDENTITY_SINCE, _canonical(body), owner, Tlp.CLEAR.value)


class _IngestTransaction:
    """The database half of one ingest (or of the release of waiting objects), inside its
    transaction: ownership claims, policy decisions, the rows written and the audit."""

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
        self.corrected: list[str] = []
        self.pending: list[_Checked] = []
        self.awaiting: dict[int, list[str]] = {}  # index of a pending object: what it awaits
        self.stored_markings: set[str] = set()
        self.claims = object_store.Claims()
        self.levels: dict[str, Tlp] = {}
        self.recipients: dict[str, uuid.UUID] = {}  # named recipients' organisations
        self.sighted: dict[str, policy.StoredObject] = {}  # indicators sightings refer to

    def _refuse(self, item: _Checked, message: str, reason: str) -> None:
        self.failures.append(_failure(item.obj, item.index, message))
        self.refused.append({"id": item.facts.id, "reason": reason})

    async def store(self, items: list[_Checked]) -> list[dict]:
        """Decide and store these objects; return the status successes."""
        successes: list[dict] = []
        # The TLP definitions are built in: posting one is a no-op success.
        builtin = [c for c in items if c.facts.id in TLP_LEVELS]
        successes += [_entry(c) for c in builtin]
        items = [c for c in items if c.facts.id not in TLP_LEVELS]
        items = await self._resolve_markings(items)
        items = await self._bound_sightings(items)
        versioned = sorted({c.facts.id for c in items if c.version is not None})
        named = sorted({c.facts.created_by_ref for c in items
                        if c.facts.created_by_ref and c.facts.created_by_ref
                        != self.principal.identity_id})
        # Only identities and definitions are ever reserved (organisations', groups', the
        # platform's reference objects): the rest need no look-up there.
        named += [i for i in versioned if i.startswith(_RESERVABLE)]
        self.claims = await object_store.claim_owners(
            self.conn, self.collection.group_id, self.principal.org_id, versioned, named)
        recipients = sorted({r for c in items for r in (c.terms.recipients or ())})
        if recipients:
            self.recipients = await orgs_by_identity(self.conn, recipients)
        fresh, staged = await self._judge_held_ids(items, successes)
        admitted = await self._apply_submission_policy(fresh)
        staged += self._stage_admitted(admitted)
        staged = self._drop_refused_marking_refs(staged, items)
        if self.collection.warninglist_policy == "refuse":
            staged = self._refuse_warninglisted(staged, items)
        # Withheld objects are not stored in this commit: beside the poster's credited ones
        # (a microsecond apart in date_added) they would name their producer. They wait,
        # decided and durable, for a release batch mixed across producers (ingest/withheld).
        # Marking-definitions are stored at once: objects of other envelopes await them.
        later = [o for o in staged if o.withheld and o.stix_type != "marking-definition"]
        if later:
            staged = [o for o in staged if not (o.withheld
                                                and o.stix_type != "marking-definition")]
            await withheld_store.hold(self.conn, self.collection.id, self.collection.group_id,
                                      later)
            successes += [{"id": o.stix_id, "version": o.version_text or ""} for o in later]
        extra = await self._identities_to_serve(staged)
        staged += extra
        if staged:
            outcome = await object_store.store_envelope(
                self.conn, self.collection.id, self.collection.group_id, staged
            )
            served = {o.stix_id for o in extra}  # Accord's own, not the poster's
            successes += [{"id": i, "version": v}
                          for i, v in outcome.stored + outcome.duplicates + outcome.corrected
                          if i not in served]
            warned = {o.stix_id: list(zip(o.facets.ioc_kinds or (), o.facets.ioc_values or (),
                                          strict=True))
                      for o in staged if o.facets.warned}
            if warned:
                warninglists.warn(successes, warned)
            self.corrected += [i for i, _ in outcome.corrected]
            self.failures.extend(
                {"id": i, "version": v, "message": "a different object with this id and"
                 " version is already stored; a changed object needs a new 'modified'"}
                for i, v in outcome.conflicts
            )
            self.refused.extend({"id": i, "reason": "conflict"} for i, _ in outcome.conflicts)
            stored_now = {i for i, _ in outcome.stored + outcome.corrected}
            self.stored_markings = {o.stix_id for o in staged if o.stix_type ==
                                    "marking-definition" and o.stix_id in stored_now}
        if self.refused:
            # A refused object claims nothing (unless a version of it is stored in the group).
            await object_store.release_claims(
                self.conn, self.collection.group_id, self.principal.org_id,
                sorted({r["id"] for r in self.refused}))
        return successes

    async def _bound_sightings(self, items: list[_Checked]) -> list[_Checked]:
        """Learn the indicator copy each sighting is bounded by; refuse those whose
        indicator the poster cannot see here (server.ingest.sightings)."""
        # A sighting of an indicator posted in this same envelope (a MISP event's own
        # sightings) is the producer's: it is decided like the rest of its post.
        posted = {c.facts.id for c in items if c.facts.type == "indicator"}
        sighting = [c for c in items if c.facts.type == "sighting"
                    and c.obj.get("sighting_of_ref") not in posted]
        if not sighting:
            return items
        self.sighted, refused = await sightings.bounds(
            self.conn, self.principal, self.collection.group_id, sighting)
        if not refused:
            return items
        for c in refused:
            self._refuse(c, sightings.REFUSAL, "sighting")
        gone = {id(c) for c in refused}
        return [c for c in items if id(c) not in gone]

    async def _resolve_markings(self, items: list[_Checked]) -> list[_Checked]:
        """Learn the TLP level every named marking-definition declares; set aside the objects
        naming one that has not arrived (they wait, shared with nobody).

        Known: the TLP definitions, marking-definitions anywhere in this envelope, and those
        stored in this collection (never another, so nothing reveals other groups).
        """
        in_envelope = {c.facts.id: c for c in items if c.facts.type == "marking-definition"}
        wanted = sorted({
            ref for c in items for ref in c.facts.marking_refs
            if ref not in TLP_LEVELS and ref not in in_envelope
        })
        # The definitions looked for and those this envelope may store, locked until commit,
        # so a concurrent envelope storing one (or holding objects pending on one) is seen.
        # TLP definitions are built in: the usual envelope takes no lock.
        await pending_store.lock_markings(self.conn, self.collection.id, wanted,
                                          sorted(in_envelope))
        if in_envelope:
            # Releasing the objects these definitions free re-checks the others they await:
            # lock those now too, before the ingest clock, so the release waits on nobody
            # that waits on it (a lock set in one go cannot deadlock; a second set can, and
            # PostgreSQL then aborts one transaction, which ingest_envelope retries).
            also = await pending_store.awaited_with(self.conn, self.collection.id,
                                                    sorted(in_envelope))
            await pending_store.lock_markings(self.conn, self.collection.id, also)
        stored = (await object_store.stored_markings(self.conn, self.collection.id, wanted)
                  if wanted else {})
        bad: set[str] = set()
        definitions = [(i, c.obj) for i, c in in_envelope.items()]
        definitions += [(i, orjson.loads(text)) for i, text in stored.items()]
        for stix_id, definition in definitions:
            try:
                level = policy.declared_tlp(definition)
            except policy.Refusal as exc:
                if stix_id in in_envelope:
                    self._refuse(in_envelope[stix_id], exc.message, exc.reason)
                bad.add(stix_id)
                continue
            if level is not None:
                self.levels[stix_id] = level
        kept = []
        for c in items:
            if c.facts.id in bad:
                continue
            missing = [r for r in c.facts.marking_refs if r not in TLP_LEVELS
                       and r not in in_envelope and r not in stored]
            refused = [r for r in c.facts.marking_refs if r in bad]
            if refused:
                self._refuse(c, f"marking definition {refused[0]} was refused", "marking")
            elif missing:
                self.pending.append(c)
                self.awaiting[c.index] = missing
            else:
                kept.append(c)
        return kept

    async def hold_pending(self, status_id: uuid.UUID, now: datetime) -> None:
        """Keep the objects still waiting for a marking-definition, under this status."""
        if self.pending:
            await pending_store.hold(self.conn, status_id, self.collection.id, [
                (c.index, c.facts.id, c.facts.version or "", self.awaiting[c.index],
                 _canonical(c.obj)) for c in self.pending
            ], orjson.dumps(_poster(self.principal)).decode(), now + PENDING_MARKING_WAIT)

    def _refuse_warninglisted(self, staged: list[StagedObject],
                              items: list[_Checked]) -> list[StagedObject]:
        """The group refuses indicators with a warninglisted value: each is a failure, and
        so is a sighting of one in the same envelope (it was bounded by that indicator, not
        by a stored copy: server.ingest.sightings)."""
        if not any(o.facets.warned for o in staged):
            return staged
        by_version = {(c.facts.id, c.version): c for c in items}
        refused = set()
        for o in staged:
            if o.facets.warned:
                values = zip(o.facets.ioc_kinds or (), o.facets.ioc_values or (), strict=True)
                self._refuse(by_version[(o.stix_id, o.version)],
                             warninglists.refusal(values), "warninglisted")
                refused.add(o.stix_id)
        kept = []
        for o in staged:
            c = by_version[(o.stix_id, o.version)]
            if o.facets.warned:
                continue
            if c.facts.type == "sighting" and c.obj.get("sighting_of_ref") in refused:
                self._refuse(c, "refused: the indicator it sights was refused in this"
                                " envelope (a warninglisted value)", "warninglisted")
                continue
            kept.append(o)
        return kept

    def _drop_refused_marking_refs(self, staged: list[StagedObject],
                                   items: list[_Checked]) -> list[StagedObject]:
        """Refuse the objects naming a marking-definition of this envelope that was refused:
        no reference is stored dangling."""
        defined = {c.facts.id for c in items if c.facts.type == "marking-definition"}
        if not defined:
            return staged
        by_id = {c.facts.id: c for c in items}
        while True:
            # Refused, not merely unstaged: a duplicate of a stored definition is no refusal.
            refused = defined & {r["id"] for r in self.refused}
            keep = []
            for o in staged:
                c = by_id.get(o.stix_id)
                gone = [r for r in (c.facts.marking_refs if c else ()) if r in refused]
                if gone and c is not None:
                    self._refuse(c, f"marking definition {gone[0]} was refused", "marking")
                else:
                    keep.append(o)
            if len(keep) == len(staged):
                return staged
            staged = keep

    async def _identities_to_serve(self, staged: list[StagedObject]) -> list[StagedObject]:
        """The identity objects that stored objects point at and Accord holds, stored into the
        collection once so their created_by_ref resolves for its readers: the poster's own
        (objects credited to it) and the trust group's (a withheld marking-definition; other
        withheld objects bring it in their release batch)."""
        wanted: dict[str, tuple[str, uuid.UUID]] = {}
        me = self.principal.identity_id
        if me and any(o.producer_org == self.principal.org_id and not o.withheld
                      and o.facets.created_by_ref == me for o in staged):
            wanted[self.principal.identity_id] = (self.principal.org_name, self.principal.org_id)
        if any(o.withheld for o in staged) and self.collection.group_identity:
            wanted[self.collection.group_identity] = (WITHHELD_IDENTITY_NAME,
                                                      self.principal.org_id)
        if not wanted:
            return []
        have = await object_store.stored_ids(self.conn, self.collection.id, sorted(wanted))
        if self.collection.group_identity in wanted.keys() - have:
            # The trust group's identity is the platform's (withheld posts name it).
            platform = (await platform_org(self.conn)).id
            wanted[self.collection.group_identity] = (wanted[self.collection.group_identity][0],
                                                      platform)
        return [served_identity(stix_id, name, owner,
                                "organization" if owner == self.principal.org_id else "group")
                for stix_id, (name, owner) in wanted.items()
                if stix_id not in have and not any(o.stix_id == stix_id for o in staged)]

    async def _apply_submission_policy(
        self, items: list[_Checked]
    ) -> list[tuple[_Checked, policy.Decision]]:
        """The submission policy's decision on each object; Refusals go to the failures."""
        admitted = []
        for n, c in enumerate(items):
            if n % _SLICE == _SLICE - 1:
                await asyncio.sleep(0)
            if c.facts.id in self.claims.reserved and not self.sub.platform_admin:
                self._refuse(c, "this id is reserved: it is the identity of a member"
                             " organisation, a trust group or the platform, or one of the"
                             " platform's reference objects", "owner")
                continue
            bound = (self.sighted.get(c.obj.get("sighting_of_ref"))
                     if self.sighted and c.facts.type == "sighting" else None)
            try:
                if bound is None:
                    admitted.append((c, policy.decide(self.sub, c.obj, c.terms,
                                                      self.recipients, self.levels,
                                                      self.claims.reserved)))
                else:
                    decision = policy.decide(self.sub, c.obj,
                                             sightings.sighting_terms(c.terms, self.sub),
                                             self.recipients, self.levels,
                                             self.claims.reserved)
                    admitted.append((c, sightings.bounded(decision, bound, self.sub)))
            except policy.Refusal as exc:
                self._refuse(c, exc.message, exc.reason)
        return admitted

    async def _judge_held_ids(self, items: list[_Checked],
                              successes: list[dict]) -> tuple[list[_Checked], list[StagedObject]]:
        """Judge versions of ids another organisation holds in this group, or that the poster
        may have received from another group (duplicates, re-shares, refusals), on what the
        poster can read only.

        Returns the items left for the submission policy, and the re-shares to store.
        """
        # Reserved ids too: an identical copy of a platform reference object is a re-share.
        held = (self.claims.in_group.keys() | self.claims.elsewhere
                | (self.claims.reserved.keys() & {c.facts.id for c in items}))
        if not held:
            return items, []
        copies = await object_store.stored_copies(self.conn, self.principal,
                                                  self.collection.id, sorted(held))
        fresh, staged = [], []
        transfers: dict[str, uuid.UUID] = {}
        for c in items:
            if c.facts.id not in held:
                fresh.append(c)
                continue
            stored = copies.get((c.facts.id, c.version))
            copy = None
            if stored is not None:
                copy = policy.Copy(self._same_as_stored(c, stored.body), stored.here,
                                   Tlp(stored.tlp), stored.producer_org)
            try:
                producer = policy.check_owner(self.sub, self.claims.in_group.get(c.facts.id),
                                              copy)
            except policy.Refusal as exc:
                self._refuse(c, exc.message, exc.reason)
                continue
            if producer is None:  # a TAXII duplicate: a success, and nothing to write
                successes.append(_entry(c))
            elif stored is not None and copy is not None and copy.identical and (
                    producer == stored.producer_org != self.principal.org_id):
                # A re-share, stored as it is stored, under its producer, whose line it is.
                transfers[c.facts.id] = producer
                staged.append(self._stage(c, stored.body, producer, stored.tlp,
                                          stored.sectors, [], stored.withheld,
                                          facets_of(c.obj)))
            else:
                fresh.append(c)
        await object_store.transfer_claims(self.conn, self.collection.group_id, transfers)
        return fresh, staged

    def _same_as_stored(self, c: _Checked, stored_body: str) -> bool:
        """Whether the posted object is the stored one: as posted (what readers were served)
        or as this post would store it (its TLP marking normalised, the default added)."""
        if stored_body == _canonical(c.obj):
            return True
        try:
            decision = policy.decide(self.sub, c.obj, c.terms, self.recipients, self.levels,
                                     self.claims.reserved)
        except policy.Refusal:
            return False  # not storable as posted: judged (and refused) as it stands
        return stored_body == _canonical(decision.body)

    def _stage_admitted(
        self, admitted: list[tuple[_Checked, policy.Decision]]
    ) -> list[StagedObject]:
        """Stage what the submission policy admitted, under its producer."""
        staged = []
        for c, decision in admitted:
            producer = self.claims.in_group.get(c.facts.id) if self.sub.platform_admin else None
            if decision.remarked:
                self.remarked.append(c.facts.id)
            if decision.withheld:
                self.withheld.append(c.facts.id)
            staged.append(self._stage(
                c, _canonical(decision.body), producer or self.principal.org_id,
                decision.tlp.value, sorted(decision.sectors) if decision.sectors else None,
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
        if self.corrected:
            entries.append(audit.entry(self.principal, "object.corrected", org,
                                       ids=self.corrected, **where))
        if self.pending:
            entries.append(audit.entry(self.principal, "object.pending", org,
                                       ids=[c.facts.id for c in self.pending], **where))
        return entries
