"""The decay score: confidence, age by kind, sightings and false positives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.intel.score import decay_score

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _score(**kw: object) -> int:
    spec = {"kind": "ipv4", "confidence": 80, "valid_from": NOW, "last_seen": None,
            "false_positives": 0, "revoked": False, "valid_until": None, "now": NOW, **kw}
    return decay_score(**spec)  # type: ignore[arg-type]


def test_a_fresh_indicator_scores_its_confidence():
    assert _score() == 80 and _score(confidence=None) == 50


def test_addresses_decay_in_days_hashes_in_years():
    month = NOW - timedelta(days=28)
    assert _score(valid_from=month) == 20  # two half-lives of 14 days
    assert _score(kind="sha256", valid_from=month) == 78


def test_a_sighting_refreshes_and_a_false_positive_halves():
    old = NOW - timedelta(days=28)
    assert _score(valid_from=old, last_seen=NOW) == 80
    assert _score(false_positives=1) == 40 and _score(false_positives=2) == 20


def test_revoked_and_expired_score_zero():
    assert _score(revoked=True) == 0
    assert _score(valid_until=NOW - timedelta(seconds=1)) == 0
    assert _score(valid_until=NOW + timedelta(days=1)) == 80
