"""The privacy review: the producer's org-admins, those of the organisations the trust group
names as reviewers, or a platform admin, see the objects the screen held, with the
findings, and release them, release them redacted or reject them. Every decision is audited
with who and why, never with the object's content; it settles the object's entry in its
TAXII status (README "Privacy")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import orjson

from schemas.principal import Principal, Role
from server.db.pool import atomic
from server.errors import BadRequest, Forbidden, NotFound
from server.ingest import envelope
from server.privacy import rules, screening

# The pure rules the admin API and the console show, through the service that applies them.
from server.privacy.rules import effective_policy
from server.privacy.screening import (
    CARD,
    EMAIL,
    EMAIL_BODY,
    IBAN,
    INDIVIDUAL,
    NATIONAL_IDS,
    PHONE,
    POSTAL,
    USER_ACCOUNT,
    VICTIM_EMAIL,
    VICTIM_IP,
    X509_INDIVIDUAL,
    text_spans,
)
from server.store import audit, statuses
from server.store import collections as collection_store
from server.store import groups as group_store
from server.store import review as review_store
from server.store.review import HeldRow

__all__ = ["CARD", "DECISIONS", "EMAIL", "EMAIL_BODY", "IBAN", "INDIVIDUAL", "NATIONAL_IDS",
           "PHONE", "POSTAL", "USER_ACCOUNT", "VICTIM_EMAIL", "VICTIM_IP", "X509_INDIVIDUAL",
           "Decision", "HeldRow", "decide", "effective_policy", "expire_held", "list_held",
           "show_held", "text_spans"]

DECISIONS = ("release", "redact", "reject")
_ACTIONS = {"release": "review.released", "redact": "review.redacted",
            "reject": "review.rejected"}


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a review decision: what was stored (id and version), if anything."""

    held_id: uuid.UUID
    decision: str
    stix_id: str
    stored_version: str | None
    status_id: uuid.UUID
    message: str | None = None


Db = asyncpg.Pool | asyncpg.Connection


def _reviewer_org(principal: Principal) -> uuid.UUID | None:
    """The organisation whose queue the principal reviews: the held objects it produced
    and those of the trust groups naming it a privacy reviewer (None: every one, a
    platform admin)."""
    if principal.is_platform_admin:
        return None
    if not principal.has_role(Role.ORG_ADMIN):
        raise Forbidden("the review queue needs the org-admin role of the producer or"
                        " platform-admin", details={"needed_role": "org-admin"})
    return principal.org_id


async def list_held(pool: Db, principal: Principal, limit: int = 100
                    ) -> list[HeldRow]:
    """The review queue the principal may decide, oldest first (no bodies)."""
    org = _reviewer_org(principal)
    async with atomic(pool) as conn:
        return await review_store.queue(conn, org, limit)


async def show_held(pool: Db, principal: Principal, held_id: uuid.UUID) -> HeldRow:
    """One held object with its body and findings; NotFound for another producer's."""
    org = _reviewer_org(principal)
    async with atomic(pool) as conn:
        row = await review_store.get(conn, held_id, org)
    if row is None:
        raise NotFound("no such object in the review queue")
    return row


def _why(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise BadRequest("a review decision needs a reason (1 to 500 characters)")
    return reason


def _redacted(row: HeldRow, body: dict, ranges: tuple[rules.Network, ...]) -> dict:
    """The redacted version: flagged values replaced, a new `modified` (a new version of
    the producer's, later than the one posted) where the object is versioned."""
    out = screening.redact(body, [screening.Finding(f["property"], f["reason"])
                                  for f in row.findings], ranges)
    if "modified" in out:
        now = datetime.now(UTC)
        out["modified"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return out


async def decide(pool: Db, principal: Principal, held_id: uuid.UUID, decision: str,
                 reason: str) -> Decision:
    """Release, redact or reject one held object, audited with who and why; its status
    entry turns to a success or a failure."""
    if decision not in DECISIONS:
        raise BadRequest(f"a decision is one of {', '.join(DECISIONS)}")
    why = _why(reason)
    org = _reviewer_org(principal)
    async with atomic(pool) as conn:
        row = await review_store.take(conn, held_id, org)
        if row is None:
            raise NotFound("no such object in the review queue")
        posted = {"id": row.stix_id, "version": row.version}
        if decision == "reject":
            failures = [{**posted, "message": f"objects[{row.ord}]: rejected in privacy"
                                              " review"}]
            await statuses.settle_pending(conn, row.status_id, [], failures)
            stored, message = None, failures[0]["message"]
        else:
            stored, message = await _store(conn, row, decision, posted)
        await audit.record(conn, [audit.entry(
            principal, _ACTIONS[decision],
            row.producer_org, subject=row.stix_id, status=str(row.status_id),
            collection=str(row.collection_id), version=row.version, reason=why,
            findings=row.findings, stored_version=stored)])
    return Decision(held_id, decision, row.stix_id, stored, row.status_id, message)


async def _store(conn: asyncpg.Connection, row: HeldRow, decision: str, posted: dict
                 ) -> tuple[str | None, str | None]:
    """Store a released object as its poster, judged as if posted now; settle its status."""
    assert row.body is not None
    body = orjson.loads(row.body)
    poster = envelope.poster_principal(row.poster)
    try:
        # Judged with the poster's rights of now: one that left the group posts nothing.
        collection = await collection_store.get_collection(conn, poster, row.collection_id)
        member = poster.is_platform_admin or await group_store.members(
            conn, collection.group_id, only_org=poster.org_id)
    except NotFound:
        member = False
    if not member:
        successes, failures = [], [{**posted, "message": f"objects[{row.ord}]: your"
                                    " organisation left this collection's trust group before"
                                    " the review ended"}]
    else:
        if decision == "redact":
            ranges = rules.networks(await review_store.victim_ranges(conn, collection.group_id))
            body = _redacted(row, body, ranges)
        successes, failures = await envelope.store_released(
            conn, row.poster, collection, row.status_id, row.ord, body)
    replaced = [posted] if decision == "redact" else []
    await statuses.settle_pending(conn, row.status_id, successes, failures, replaced=replaced)
    if successes:
        return successes[0]["version"], None
    return None, failures[0]["message"] if failures else None


async def expire_held(pool: Db) -> int:
    """Refuse the held objects nobody reviewed within REVIEW_WAIT; how many."""
    async with atomic(pool) as conn:
        rows = await review_store.take_expired(conn)
        for row in rows:
            await statuses.settle_pending(conn, row.status_id, [], [{
                "id": row.stix_id, "version": row.version,
                "message": f"objects[{row.ord}]: not reviewed within"
                           f" {envelope.screen.REVIEW_WAIT.days} days"}])
        if rows:
            await audit.record(conn, [audit.entry(
                None, "review.expired", row.producer_org, subject=row.stix_id,
                status=str(row.status_id), version=row.version) for row in rows])
    return len(rows)
