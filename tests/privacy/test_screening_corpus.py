"""The screen measured on the labelled corpus (tests/privacy/corpus.json) and on MITRE ATT&CK
(tests/fixtures/attack): recall and precision per finding type are printed; recall must be at
least 0.95 for every type and ATT&CK must yield no finding at all."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from server.privacy import screening
from tests import corpora

HERE = Path(__file__).parent


def _corpus() -> list[dict]:
    return json.loads((HERE / "corpus.json").read_text())


def test_corpus_recall_and_precision_per_finding_type(capsys: pytest.CaptureFixture) -> None:
    hit, missed, wrong = Counter(), Counter(), Counter()
    for case in _corpus():
        found = {(i, f.property, f.reason)
                 for i, fs in screening.screen_envelope(case["objects"]).items() for f in fs}
        expected = {tuple(e) for e in case["expected"]}
        for _, _, reason in found & expected:
            hit[reason] += 1
        for _, _, reason in expected - found:
            missed[reason] += 1
        for _, _, reason in found - expected:
            wrong[reason] += 1
    reasons = sorted(hit.keys() | missed.keys() | wrong.keys())
    with capsys.disabled():
        print("\nfinding type                 recall  precision  (tp/fn/fp)")
        for r in reasons:
            recall = hit[r] / ((hit[r] + missed[r]) or 1)
            precision = hit[r] / ((hit[r] + wrong[r]) or 1)
            print(f"{r:28} {recall:6.3f}  {precision:9.3f}  ({hit[r]}/{missed[r]}/{wrong[r]})")
    assert len(reasons) >= 14  # every typed and free-text finding type is exercised
    low = {r: hit[r] / (hit[r] + missed[r]) for r in reasons
           if hit[r] / ((hit[r] + missed[r]) or 1) < 0.95}
    assert not low, f"recall under 0.95: {low}"
    assert sum(wrong.values()) <= 0.05 * sum(hit.values()), dict(wrong)


def _attack() -> list[dict]:
    """ATT&CK for Mobile 17.1 and every object of every ATT&CK for ICS release."""
    return corpora.mobile_objects() + [o for _, objects in corpora.ics_releases()
                                       for o in objects]


def test_no_findings_on_attack() -> None:
    objects = _attack()
    assert len(objects) > 10_000
    found = screening.screen_envelope(objects)
    assert found == {}, {k: [f.as_dict() for f in v] for k, v in list(found.items())[:10]}


@pytest.mark.parametrize(("text", "reason"), [
    ("card 4111 1111 1111 1111 used", screening.CARD),
    ("IBAN DE89 3704 0044 0532 0130 00", screening.IBAN),
    ("call +44 20 7946 0958", screening.PHONE),
    ("SSN 123-45-6789", "national-id:us-ssn"),
    ("NINO AB 12 34 56 C", "national-id:uk-nino"),
    ("mail jane.doe@example.org", screening.EMAIL),
    ("lives at 221 Baker Street, London", screening.POSTAL),
])
def test_each_free_text_reason(text: str, reason: str) -> None:
    assert reason in screening.screen_text(text)


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112 (fails Luhn)", "IBAN DE89 3704 0044 0532 0130 01 (bad check)",
    "SSN 666-45-6789 is never issued", "NINO GB 12 34 56 C is not a valid prefix",
    "version 10.0.19041.1 on port 8443", "hash 5d41402abc4b2a76b9719d911017c592",
])
def test_invalid_look_alikes_are_not_findings(text: str) -> None:
    assert screening.screen_text(text) == []


def test_a_sender_named_by_an_indicator_is_no_finding() -> None:
    sender = {"type": "email-addr", "spec_version": "2.1",
              "id": "email-addr--5f7ad7ae-e23a-5e2b-8e8d-4d0b9a0e1f11", "value": "evil@bad.example"}
    indicator = {"type": "indicator", "id": "indicator--1", "pattern_type": "stix",
                 "pattern": "[email-addr:value = 'evil@bad.example']"}
    assert screening.screen_envelope([sender, indicator]) == {}
    assert screening.screen_envelope([sender])[sender["id"]] == [
        screening.Finding("value", screening.EMAIL)]


def test_clean_indicators_are_not_screened_in_full() -> None:
    # Ingest pays for every object the quick scan stops at: a name ending in a number and a
    # description opening with a capital word (the bench's indicators) must not read as a
    # house number before a street name across the two texts.
    objects = [{
        "type": "indicator", "id": f"indicator--{n:08d}-0000-4000-8000-000000000000",
        "name": f"emotet domain indicator #{n}",
        "description": f"Observed domain mail-cloud{n}.top in emotet infrastructure; seen in"
                       " sandbox detonations and reported by partner sensors.",
        "pattern": f"[domain-name:value = 'mail-cloud{n}.top']",
    } for n in range(200)]
    assert [o["id"] for o in objects if screening.suspect_text(o)] == []


def test_every_free_text_finding_of_the_corpus_passes_the_quick_scan() -> None:
    # The quick scan decides what is screened in full: what it lets through is never found.
    free_text = {screening.EMAIL, screening.PHONE, screening.IBAN, screening.CARD,
                 screening.POSTAL, *screening.NATIONAL_IDS}
    missed = []
    for case in _corpus():
        flagged = {e[0] for e in case["expected"] if e[2] in free_text}
        missed += [o["id"] for o in case["objects"]
                   if o.get("id") in flagged and not screening.suspect_text(o)]
    assert missed == []


def test_an_indicator_naming_the_sender_address_it_detects_is_no_finding() -> None:
    # Importers name an indicator by its value: the phishing sender's address is the
    # indicator's subject. Another address in the same text is still found.
    own = {"type": "indicator", "id": "indicator--0b3c8a58-8a4b-4f55-9d3e-7e2a1f0c6d11",
           "name": "user4@phish.example.org", "description": "sender",
           "pattern": "[email-addr:value = 'user4@phish.example.org']"}
    assert screening.screen_envelope([own]) == {}
    assert screening.screen_object(own) == []
    other = {**own, "description": "sent to jane.doe@victim.example"}
    assert [f.property for f in screening.screen_envelope([other])[other["id"]]] == [
        "description"]
