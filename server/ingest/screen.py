"""The privacy screen's hook in ingest: screen the validated objects of a post, then apply
the trust group's privacy policy to the flagged ones (pass: stored and the findings audited;
hold: queued for review, shared with nobody, pending in the status; refuse). README
"Privacy"."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
import orjson

from schemas.principal import Principal
from server.privacy import rules, screening
from server.store import audit
from server.store import review as review_store
from server.store.records import CollectionView

# How long a held object waits for a reviewer; then it is refused (README "Privacy").
REVIEW_WAIT = timedelta(days=30)
_OBSERVING = frozenset({"observed-data", "sighting"})


class Item(Protocol):
    """What the hook needs of a validated object (ingest's own record of one)."""

    index: int
    obj: dict
    facts: Any


@dataclass(slots=True)
class Screening:
    """The outcome of the screen on one post: what goes on to the store, what is held."""

    admitted: list
    held: list = field(default_factory=list)
    findings: dict[str, list[screening.Finding]] = field(default_factory=dict)
    policy: str = "pass"

    def audit_entries(self, principal: Principal, collection: CollectionView
                      ) -> list[audit.AuditEntry]:
        """The findings as one audit entry: property and reason, never the value."""
        if not self.findings:
            return []
        return [audit.entry(principal, "object.screened", principal.org_id,
                            collection=str(collection.id), policy=self.policy,
                            findings=[{"id": i, "findings": [f.as_dict() for f in fs]}
                                      for i, fs in sorted(self.findings.items())])]

    async def keep(self, conn: asyncpg.Connection, status_id: uuid.UUID, principal: Principal,
                   collection: CollectionView, poster: dict, now: datetime) -> None:
        """Queue the held objects for review under their status."""
        if not self.held:
            return
        await review_store.hold(conn, status_id, collection.id, principal.org_id, [
            (c.index, c.facts.id, c.facts.version or "",
             orjson.dumps(c.obj, option=orjson.OPT_SORT_KEYS).decode(),
             [f.as_dict() for f in self.findings[c.facts.id]]) for c in self.held
        ], orjson.dumps(poster).decode(), now + REVIEW_WAIT)


async def screen(conn: asyncpg.Connection, collection: CollectionView, items: Sequence[Item],
                 refuse: Callable[[Any, str, str], None]) -> Screening:
    """Screen these objects and apply the group's policy; `refuse(item, message, reason)`
    records a refusal in the post's failures."""
    objects = [c.obj for c in items]
    group = None
    ranges: tuple = ()
    if any(c.facts.type in _OBSERVING for c in items):
        # Only a post that observes something needs the group's victim ranges first.
        group = await review_store.group_privacy(conn, collection.group_id)
        ranges = rules.networks(group.victim_ranges)
    findings = screening.screen_envelope(objects, ranges)
    if not findings:  # the common case: no database work at all
        return Screening(list(items))
    if group is None:
        group = await review_store.group_privacy(conn, collection.group_id)
    policy = rules.effective_policy(group.policy, group.member_sectors)
    if policy == "pass":
        return Screening(list(items), [], findings, policy)
    admitted, flagged = [], []
    for c in items:
        (flagged if c.facts.id in findings else admitted).append(c)
    if policy == "refuse":
        for c in flagged:
            first = findings[c.facts.id][0]
            refuse(c, f"personal data ({first.reason} in {first.property}); this trust group"
                      " refuses it", "privacy")
        return Screening(admitted, [], findings, policy)
    return Screening(admitted, flagged, findings, policy)
