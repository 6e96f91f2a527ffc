"""The decay score of an indicator: how much to trust it now (0-100). Pure, no I/O.

    score = base x 0.5 ** (age / half_life[kind]) x 0.5 ** false_positive_reports

`base` is the indicator's confidence (50 when it states none); `age` runs from the later of
`valid_from` and the last sighting reported seen, so a sighting refreshes an indicator;
each organisation reporting a false positive halves the score; a revoked indicator, or one
past `valid_until`, scores 0. Half-lives follow how fast each kind goes stale (MISP's
decaying models and OpenCTI's decay rules make the same cut): addresses in days, names and
URLs in months, file hashes in years; a trust group may set its own (`half_lives`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from schemas.lookup import DEFAULT_CONFIDENCE, DEFAULT_HALF_LIFE, HALF_LIFE_DAYS


def decay_score(
    *, kind: str, confidence: int | None, valid_from: datetime | None,
    last_seen: datetime | None, false_positives: int, revoked: bool,
    valid_until: datetime | None, now: datetime, half_lives: Mapping[str, float] | None = None,
) -> int:
    """The score (0-100) of an indicator of this observable kind at `now`; `half_lives`:
    its trust group's own, by kind, where set."""
    if revoked or (valid_until is not None and valid_until <= now):
        return 0
    base = DEFAULT_CONFIDENCE if confidence is None else confidence
    start = max((t for t in (valid_from, last_seen) if t is not None), default=now)
    age_days = max(0.0, (now - start).total_seconds() / 86400)
    half_life = (half_lives or {}).get(kind) or HALF_LIFE_DAYS.get(kind, DEFAULT_HALF_LIFE)
    return round(base * 0.5 ** (age_days / half_life) * 0.5 ** false_positives)
