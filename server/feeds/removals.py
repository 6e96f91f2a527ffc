"""Removal events: a revoked, expired or erased object tells a firewall to un-block
(issues 12 and 14).

A revocation is a new version of the indicator (STIX 2.1 section 3.2), so it already
arrives in commit order as an event of its own; the stream marks it `event: removed` and a
webhook batch lists its id under `removed`, so a consumer need not parse each object to
learn what to drop. Bodies are the stored canonical JSON (orjson, compact), so the test is
a byte search, not a parse.

Expiry and erasure write no version: they are rows of their own (server.store.removals)
that the feed reads beside the objects, in the same commit order, and that reach the
consumer as `removal()` documents: the id, type, reason and time, never content.
"""

from __future__ import annotations

import orjson

from server.store.removals import RemovalRow

_REVOKED = '"revoked":true'


def is_removal(body: str) -> bool:
    """Whether a stored object body is a revoked indicator (an instruction to un-block)."""
    return _REVOKED in body and body.startswith('{"') and _revoked_indicator(body)


def _revoked_indicator(body: str) -> bool:
    obj = orjson.loads(body)  # only for the rare body that names revoked at all
    return obj.get("type") == "indicator" and obj.get("revoked") is True


def removed_ids(bodies: list[str]) -> list[str]:
    """The ids of the revoked indicators among these bodies, in order."""
    return [orjson.loads(b)["id"] for b in bodies if is_removal(b)]


def removal(row: RemovalRow) -> bytes:
    """The JSON a consumer receives for an expiry or erasure: nothing of the content."""
    return orjson.dumps({"id": row.stix_id, "type": row.stix_type, "reason": row.reason,
                         "time": row.date_added.isoformat().replace("+00:00", "Z")})
