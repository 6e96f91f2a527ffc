"""validate_object against the OASIS stix2-validator on a corpus of valid and broken objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_instance

from schemas.stix import (
    SCO_TYPES,
    SDO_TYPES,
    SRO_TYPES,
    StixError,
    StixFacts,
    parse_timestamp,
    validate_object,
)
from tests.schemas.corpus import BROKEN, IDENTITY, MARKING, STATEMENT, VALID, mutate, uid

# Only errors count: warnings ("SHOULD" checks) are not failures; there are no online checks.
_OPTIONS = ValidationOptions(version="2.1", silent=True)

# Broken objects we refuse although stix2-validator accepts them, and why.
STRICTER = {
    "spec-version-2.0": "a 2.1 server stores only spec_version 2.1 (the validator's 2.1 schema "
                        "also allows 2.0)",
    "sco-spec-version-2.0": "same for SCOs, where spec_version is optional but must be 2.1",
    "created-by-ref-not-identity": "s3.2 says created_by_ref refers to an identity; the "
                                   "validator only checks the identifier form",
    "malware-sample-ref-type": "s4.11 says sample_refs are file or artifact ids; the validator "
                               "takes any string",
}
# Valid objects stix2-validator wrongly refuses, and why.
VALIDATOR_MISTAKES = {
    "nanoseconds": "it compares timestamps with more than 6 fraction digits as strings, so "
                   ".1234567891Z looks earlier than .123456789Z",
}


def _validator_accepts(obj: Any) -> bool:
    try:
        return bool(validate_instance(obj, _OPTIONS).is_valid)
    except Exception:  # it raises on non-objects and objects without id/type
        return False


def test_corpus_size_and_coverage() -> None:
    assert len(VALID) >= 60
    assert len(BROKEN) >= 100
    types = {obj["type"] for obj in VALID.values()}
    expected = SDO_TYPES | SRO_TYPES | SCO_TYPES | {
        "language-content", "marking-definition", "extension-definition"}
    assert expected <= types
    assert set(STRICTER) <= set(BROKEN)
    assert set(VALIDATOR_MISTAKES) <= set(VALID)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_object_accepted(name: str) -> None:
    obj = VALID[name]
    facts = validate_object(obj)
    assert facts.id == obj["id"]
    assert facts.type == obj["type"]
    assert facts.spec_version == "2.1"
    assert _validator_accepts(obj) is (name not in VALIDATOR_MISTAKES)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_object_rejected(name: str) -> None:
    obj, prop, reason = BROKEN[name]
    with pytest.raises(StixError) as caught:
        validate_object(obj)
    assert (caught.value.property, caught.value.reason) == (prop, reason), caught.value.message
    # Every rejection by the validator is ours too; the converse holds except where listed.
    assert _validator_accepts(obj) is (name in STRICTER)


def test_error_carries_message_property_and_reason() -> None:
    with pytest.raises(StixError) as caught:
        validate_object(mutate(VALID["indicator"], confidence=101))
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.property == "confidence"
    assert error.reason == "range"
    assert "confidence" in error.message
    assert str(error) == error.message

    with pytest.raises(StixError) as caught:
        validate_object(mutate(VALID["indicator"], pattern="[file:name = 'a'"))
    assert (caught.value.property, caught.value.reason) == ("pattern", "pattern")
    assert "pattern" in caught.value.message

    with pytest.raises(StixError) as caught:
        validate_object(mutate(VALID["indicator"], valid_from="2024-03-01T10:00:00"))
    assert (caught.value.property, caught.value.reason) == ("valid_from", "timestamp")


def test_allow_custom_false_refuses_custom_content() -> None:
    strict = {"allow_custom": False}
    for name in ("custom-object", "custom-sco"):
        with pytest.raises(StixError) as caught:
            validate_object(VALID[name], **strict)
        assert (caught.value.property, caught.value.reason) == ("type", "custom")
        validate_object(VALID[name])

    unknown = mutate(VALID["custom-object"], type="acme-widget", id=uid("acme-widget", 1))
    with pytest.raises(StixError) as caught:
        validate_object(unknown, **strict)
    assert caught.value.reason == "unknown_type"
    validate_object(unknown)

    for prop in ("x_acme_score", "acme_score"):
        obj = mutate(VALID["tool"], **{prop: 7})
        with pytest.raises(StixError) as caught:
            validate_object(obj, **strict)
        assert (caught.value.property, caught.value.reason) == (prop, "custom")
        validate_object(obj)

    for name in ("indicator-hash", "granular-markings", "marking-tlp-green", "file-hashes"):
        validate_object(VALID[name], **strict)


def test_facts_version_and_markings() -> None:
    facts = validate_object(VALID["revoked-modified"])
    assert facts.version == "2024-03-02T11:30:00.123Z"

    facts = validate_object(VALID["marking-statement"])
    assert facts.version == VALID["marking-statement"]["created"]

    facts = validate_object(VALID["ipv4-addr"])
    assert facts.version is None
    assert facts.created_by_ref is None
    assert facts.marking_refs == ()

    facts = validate_object(VALID["indicator-hash"])
    assert facts.created_by_ref == IDENTITY
    assert facts.marking_refs == (MARKING,)

    facts = validate_object(VALID["granular-markings"])
    assert facts.marking_refs == (MARKING, STATEMENT)
    assert facts == StixFacts(VALID["granular-markings"]["id"], "identity", "2.1",
                              "2024-03-01T10:00:00.000Z", None, (MARKING, STATEMENT))

    only_granular = mutate(VALID["granular-markings"], object_marking_refs=[MARKING, MARKING])
    assert validate_object(only_granular).marking_refs == (MARKING, STATEMENT)


def test_parse_timestamp() -> None:
    assert parse_timestamp("2024-02-29T23:59:59Z") == datetime(2024, 2, 29, 23, 59, 59,
                                                               tzinfo=UTC)
    assert parse_timestamp("2024-01-01T00:00:00.1234567Z").microsecond == 123456
    assert parse_timestamp("2024-01-01T00:00:00.5Z").microsecond == 500000
    for bad in ("2021-02-30T00:00:00Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00+00:00",
                "2024-01-01", "2024-01-01T00:00:60Z", "\uff12\uff10\uff12\uff14-01-01T00:00:00Z"):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_what_validation_remembers_never_admits_what_it_would_refuse() -> None:
    """Custom property names and identifiers that passed once skip their format checks
    later; every other rule (the collection's custom setting, the value, the referenced
    type) still applies to each object."""
    base = VALID["malware"]
    validate_object({**base, "x_acme_sample_bin": "aGVsbG8="}, allow_custom=True)
    with pytest.raises(StixError) as exc:
        validate_object({**base, "x_acme_sample_bin": "aGVsbG8="}, allow_custom=False)
    assert exc.value.reason == "custom"
    for bad in ("not base64!", None, []):
        with pytest.raises(StixError):
            validate_object({**base, "x_acme_sample_bin": bad}, allow_custom=True)
    for _ in range(2):  # the second time from memory
        validate_object({**base, "created_by_ref": IDENTITY})
    with pytest.raises(StixError) as exc:  # an identity is no marking definition
        validate_object({**base, "object_marking_refs": [IDENTITY]})
    assert exc.value.reason == "reference"
    with pytest.raises(StixError):
        validate_object({**base, "created_by_ref": [IDENTITY]})  # unhashable: no memory
