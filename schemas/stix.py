"""Validation of one STIX 2.1 object on the ingest path (STIX 2.1 OASIS Standard).

Each STIX type is one `_Spec` entry in `_SPECS`: its spec section, required properties,
property checkers and object-level rules. Checkers are small functions rather than pydantic
models because most of the work is "is this a str / a timestamp / an id of these types", which
plain Python does in well under a microsecond per property, and errors must name the property.

The rules follow the spec and, where the spec leaves room, stix2-validator's *errors* (its
JSON schemas and MUST checks): every object stix2-validator refuses is refused here too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from schemas.stix_pattern import pattern_error

__all__ = ["StixError", "StixFacts", "parse_timestamp", "validate_object"]


class StixError(ValueError):
    """A STIX object failed validation; carries machine-readable fields."""

    def __init__(self, message: str, *, property: str | None = None, reason: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.property = property
        self.reason = reason


@dataclass(slots=True)  # not frozen: built once per object on the ingest hot path
class StixFacts:
    """What the store needs to know about a valid object."""

    id: str
    type: str
    spec_version: str
    version: str | None
    created_by_ref: str | None
    marking_refs: tuple[str, ...]


# --- Lexical rules (STIX 2.1 s2.5 identifier, s2.9 timestamp, s3.1 type, s11 custom names) ---

_TYPE_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# RFC 4122 UUID (versions 1-5, variant 10xx), the form stix2-validator's schema requires.
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
_UUID_RE = re.compile(_UUID)
# Accord refuses UUIDs with upper-case hex in ids and references (stix2 writes lower case):
# an id is then one string however a poster spells it, and every check keyed on it holds.
_LOWER_UUID_RE = re.compile(_UUID.replace("a-fA-F", "a-f").replace("abAB", "ab"))
_UPPER_CASE = "; Accord accepts UUIDs in lower case only (an id is one id however it is spelt)"
_TIMESTAMP = re.compile(
    r"([0-9]{4})-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)(?:\.([0-9]+))?Z"
)
# The same language minus leap seconds, without groups: the hot-path test.
_TIMESTAMP_FAST = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[012])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?Z"
)
_PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]{2,249}")
_EXTENSION_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-ext")
_EXTENSION_DEFINITION_ID = re.compile(r"extension-definition--" + _UUID)
_BINARY = re.compile(
    r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)"
)
_HEX = re.compile(r"(?:[a-fA-F0-9]{2})+")
_SELECTOR = re.compile(r"[a-z0-9_-]{3,249}(?:\.(?:\[\d+\]|[a-z0-9_-]{1,250}))*|id")
# RFC 5646 language tag, syntax only (language, script, region, variants, extensions).
_LANG_TAG = re.compile(
    r"[a-zA-Z]{2,3}(?:-[a-zA-Z]{3}){0,3}(?:-[a-zA-Z]{4})?(?:-(?:[a-zA-Z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-zA-Z0-9]{5,8}|[0-9][a-zA-Z0-9]{3}))*(?:-[0-9a-wyzA-WYZ](?:-[a-zA-Z0-9]{2,8})+)*"
    r"(?:-x(?:-[a-zA-Z0-9]{1,8})+)?|x(?:-[a-zA-Z0-9]{1,8})+"
)
_HASH_FORMATS = {
    "MD5": re.compile(r"[a-fA-F0-9]{32}"),
    "SHA-1": re.compile(r"[a-fA-F0-9]{40}"),
    "SHA-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SHA3-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA3-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SSDEEP": re.compile(r"[a-zA-Z0-9/+:.]{1,128}"),
    "TLSH": re.compile(r"[a-zA-Z0-9]{70}"),
}
_URL = r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+"
# A host name of dot-separated labels (letters in any script, digits, inner hyphens).
_HOSTNAME = r"(?=.{1,253}$)(?:[^\W_](?:[^\W_]|-){0,61}(?<!-)\.)*[^\W_](?:[^\W_]|-){0,61}(?<!-)\.?"
_HASH_NAME = re.compile(r"[a-zA-Z0-9_-]{3,250}")
_DICT_KEY = re.compile(r"[a-zA-Z0-9_-]{0,250}")

# Properties reserved by the spec (s3.1: "MUST NOT be used") — stix2-validator refuses them.
_RESERVED = frozenset({"severity", "action", "username", "phone_numbers"})

SDO_TYPES = frozenset({
    "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
    "indicator", "infrastructure", "intrusion-set", "location", "malware", "malware-analysis",
    "note", "observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability",
})
SRO_TYPES = frozenset({"relationship", "sighting"})
SCO_TYPES = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
})
META_TYPES = frozenset({"language-content", "marking-definition", "extension-definition"})
_NOT_SDO = SRO_TYPES | SCO_TYPES | META_TYPES | {"bundle"}

Check = Callable[[str, object], None]
Rule = Callable[[Mapping[str, object]], None]


def _fail(prop: str | None, message: str, reason: str = "invalid") -> StixError:
    return StixError(message, property=prop, reason=reason)


# --- Timestamps (s3.2) ----------------------------------------------------------------------


def parse_timestamp(value: str) -> datetime:
    """Parse a STIX timestamp (RFC 3339, UTC 'Z', optional fraction) to an aware datetime.

    Digits beyond microseconds are dropped; raises ValueError for any other form or a date
    that does not exist (e.g. 2021-02-30, or a leap second, which datetime cannot hold).
    """
    if not isinstance(value, str) or _TIMESTAMP.fullmatch(value) is None:
        raise ValueError(f"{value!r} is not a STIX timestamp like 2026-01-31T12:00:00.000Z")
    # The regex admits only the STIX form, which fromisoformat (C, ~15x faster than
    # building the datetime here) reads as UTC, truncating digits beyond microseconds.
    return datetime.fromisoformat(value)


def _check_timestamp(prop: str, value: object) -> None:
    if type(value) is not str or _TIMESTAMP_FAST.fullmatch(value) is None:
        if type(value) is str and _TIMESTAMP.fullmatch(value):
            raise _fail(prop, f"'{prop}' is not a real date and time (leap second): {value}",
                        "timestamp")
        raise _fail(prop, f"'{prop}' must be a UTC timestamp like 2026-01-31T12:00:00Z",
                    "timestamp")
    # Months, hours etc. are bounded by the regex; only year 0 (datetime starts at year 1)
    # and days 29-31 can name a day that does not exist (2021-02-30).
    if value.startswith("0000"):
        raise _fail(prop, f"'{prop}' is not a real date (there is no year 0): {value}",
                    "timestamp")
    if value[8:10] > "28" and not _day_exists(int(value[:4]), value[5:7], value[8:10]):
        raise _fail(prop, f"'{prop}' is not a real date: {value}", "timestamp")


def _day_exists(year: int, month: str, day: str) -> bool:
    if month == "02":
        return day == "29" and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day != "31" or month not in ("04", "06", "09", "11")


def _check_timestamp_millis(prop: str, value: object) -> None:
    """created/modified: s3.2 requires at least millisecond precision."""
    _check_timestamp(prop, value)
    assert isinstance(value, str)
    if len(value) < 24 or value[19] != ".":
        raise _fail(prop, f"'{prop}' must have millisecond precision, "
                    "like 2026-01-31T12:00:00.000Z", "timestamp")


def _ts_order(a: str, b: str) -> int:
    """Compare two valid STIX timestamps exactly (fractions of any length): -1, 0 or 1."""
    if len(a) == len(b):  # same fraction width: the text orders as the time does
        return (a > b) - (a < b)
    head_a, _, frac_a = a[:-1].partition(".")
    head_b, _, frac_b = b[:-1].partition(".")
    width = max(len(frac_a), len(frac_b))
    key_a, key_b = (head_a, frac_a.ljust(width, "0")), (head_b, frac_b.ljust(width, "0"))
    return (key_a > key_b) - (key_a < key_b)


def _later(later: str, earlier: str, *, strict: bool) -> Rule:
    """Object rule: `later` >= `earlier` (or > if strict), when both are present."""
    relation = "later than" if strict else "later than or equal to"

    def rule(obj: Mapping[str, object]) -> None:
        a, b = obj.get(later), obj.get(earlier)
        if isinstance(a, str) and isinstance(b, str):
            order = _ts_order(a, b)
            if order < 0 or (strict and order == 0):
                raise _fail(later, f"'{later}' ({a}) must be {relation} '{earlier}' ({b})",
                            "timestamp")

    return rule


# --- Property checkers ----------------------------------------------------------------------


def _string(prop: str, value: object) -> None:
    if type(value) is not str:
        raise _fail(prop, f"'{prop}' must be a string", "type")


def _boolean(prop: str, value: object) -> None:
    if type(value) is not bool:
        raise _fail(prop, f"'{prop}' must be true or false", "type")


def _integer(low: int | None = None, high: int | None = None) -> Check:
    def check(prop: str, value: object) -> None:
        if type(value) is not int:
            raise _fail(prop, f"'{prop}' must be an integer", "type")
        if (low is not None and value < low) or (high is not None and value > high):
            raise _fail(prop, f"'{prop}' must be between {low} and {high}, not {value}",
                        "range")
    return check


def _number(low: float, high: float) -> Check:
    def check(prop: str, value: object) -> None:
        if type(value) not in (int, float):
            raise _fail(prop, f"'{prop}' must be a number", "type")
        assert isinstance(value, int | float)
        if not low <= value <= high:
            raise _fail(prop, f"'{prop}' must be between {low} and {high}, not {value}",
                        "range")
    return check


def _enum(*allowed: str) -> Check:
    values = frozenset(allowed)

    def check(prop: str, value: object) -> None:
        if value not in values or type(value) is not str:
            raise _fail(prop, f"'{prop}' must be one of {', '.join(sorted(values))}", "enum")
    return check


def _regex(pattern: str, what: str, search: bool = False) -> Check:
    compiled = re.compile(pattern)
    matcher = compiled.search if search else compiled.fullmatch

    def check(prop: str, value: object) -> None:
        if type(value) is not str:
            raise _fail(prop, f"'{prop}' must be a string", "type")
        if matcher(value) is None:
            raise _fail(prop, f"'{prop}' must be {what}", "format")
    return check


def _list(item: Check, what: str = "strings") -> Check:
    """A non-empty list (s3.1: lists MUST NOT be empty) whose items all pass `item`."""
    def check(prop: str, value: object) -> None:
        if type(value) is not list or not value:
            raise _fail(prop, f"'{prop}' must be a non-empty list of {what}", "type")
        for entry in value:
            item(prop, entry)
    return check


_strings = _list(_string)


def _dictionary(prop: str, value: object) -> None:
    """s2.6 dictionary: non-empty object with keys of at most 250 [a-zA-Z0-9_-]."""
    if type(value) is not dict or not value:
        raise _fail(prop, f"'{prop}' must be a non-empty JSON object", "type")
    for key, entry in value.items():
        if _DICT_KEY.fullmatch(key) is None:
            raise _fail(prop, f"'{prop}' has a key {key!r} that is not 1-250 of a-z A-Z 0-9 _ -",
                        "format")
        if entry is None or entry == []:
            raise _fail(prop, f"'{prop}' entry {key!r} must not be null or empty", "type")


def _object(prop: str, value: object) -> None:
    if type(value) is not dict:
        raise _fail(prop, f"'{prop}' must be a JSON object", "type")


_PASSED_MAX = 1024


def _ref(*types: str, exclude: frozenset[str] = frozenset()) -> Check:
    """An identifier (s2.5) of one of `types` (any type if none), never of `exclude`."""
    allowed = frozenset(types)
    wanted = " or ".join(sorted(allowed)) if allowed else "an object"
    # Identifiers this check has passed: exports repeat a few on every object (the author's
    # identity, a marking). Bounded, as posters choose them.
    passed: set[str] = set()

    def check(prop: str, value: object) -> None:
        if type(value) is str and value in passed:
            return
        # Type names never contain "--", so the first one ends the type part.
        if type(value) is not str or (cut := value.find("--")) < 0 or (
                _LOWER_UUID_RE.fullmatch(value, cut + 2) is None):
            upper = type(value) is str and cut >= 0 and _UUID_RE.fullmatch(value, cut + 2)
            raise _fail(prop, f"'{prop}' must be an identifier like {types[0] if types else 'type'}"
                        "--<RFC 4122 UUID>" + (_UPPER_CASE if upper else ""), "reference")
        ref_type = value[:cut]
        # A type from `allowed` is well-formed by construction; others need the format check.
        if allowed:
            if ref_type not in allowed:
                raise _fail(prop, f"'{prop}' must refer to {wanted}, not {ref_type}", "reference")
        elif not 3 <= cut <= 250 or _TYPE_NAME.fullmatch(ref_type) is None:
            raise _fail(prop, f"'{prop}' has an invalid object type {ref_type!r}", "reference")
        elif ref_type in exclude:
            raise _fail(prop, f"'{prop}' must refer to {wanted}, not {ref_type}", "reference")
        if len(passed) >= _PASSED_MAX:
            passed.clear()
        passed.add(value)
    return check


def _refs(*types: str, exclude: frozenset[str] = frozenset()) -> Check:
    return _list(_ref(*types, exclude=exclude), "identifiers")


def _binary(prop: str, value: object) -> None:
    if type(value) is not str or _BINARY.fullmatch(value) is None:
        raise _fail(prop, f"'{prop}' must be base64 (RFC 4648) binary", "format")


def _hex(prop: str, value: object) -> None:
    if type(value) is not str or _HEX.fullmatch(value) is None:
        raise _fail(prop, f"'{prop}' must be an even number of hex digits", "format")


def _hashes(prop: str, value: object) -> None:
    """s2.7 hashes: algorithm name -> hash string, in the algorithm's format if known."""
    if type(value) is not dict or not value:
        raise _fail(prop, f"'{prop}' must be a non-empty object of hash values", "type")
    for name, digest in value.items():
        if _HASH_NAME.fullmatch(name) is None:
            raise _fail(prop, f"'{prop}' algorithm name {name!r} must be 3-250 of a-z A-Z 0-9 _ -",
                        "format")
        if type(digest) is not str:
            raise _fail(prop, f"'{prop}' value of {name} must be a string", "type")
        known = _HASH_FORMATS.get(name)
        if known is not None and known.fullmatch(digest) is None:
            raise _fail(prop, f"'{prop}' value of {name} is not a valid {name} hash", "format")


def _kill_chain_phase(prop: str, value: object) -> None:
    """s2.8 kill-chain-phase."""
    if type(value) is not dict:
        raise _fail(prop, f"'{prop}' entries must be objects", "type")
    for key in ("kill_chain_name", "phase_name"):
        if type(value.get(key)) is not str:
            raise _fail(prop, f"'{prop}' entries need a string '{key}'", "missing")


_CVE = re.compile(r"CVE-\d{4}-(0\d{3}|[1-9]\d{3,})")
_CAPEC = re.compile(r"CAPEC-\d+")


def _external_reference(prop: str, value: object) -> None:
    """s2.5 external-reference: source_name plus one of external_id, description, url."""
    if type(value) is not dict:
        raise _fail(prop, f"'{prop}' entries must be objects", "type")
    source = value.get("source_name")
    if type(source) is not str:
        raise _fail(prop, f"'{prop}' entries need a string 'source_name'", "missing")
    for key in ("description", "url", "external_id"):
        if key in value and type(value[key]) is not str:
            raise _fail(prop, f"'{prop}' entry '{key}' must be a string", "type")
    if "hashes" in value:
        _hashes(prop, value["hashes"])
    external_id = value.get("external_id")
    # s2.5: cve and capec sources carry ids of a fixed form (stix2-validator enforces it).
    if source == "cve" or source == "capec":
        form = _CVE if source == "cve" else _CAPEC
        if not isinstance(external_id, str) or form.fullmatch(external_id) is None:
            raise _fail(prop, f"'{prop}' {source} entries need an external_id like "
                        f"{'CVE-2021-44228' if source == 'cve' else 'CAPEC-66'}", "format")
    elif isinstance(external_id, str) and (_CVE.match(external_id) or _CAPEC.match(external_id)):
        raise _fail(prop, f"'{prop}' entry with id {external_id} must use source_name "
                    f"'{'cve' if external_id.startswith('CVE') else 'capec'}'", "format")
    elif not ("external_id" in value or "description" in value or "url" in value):
        raise _fail(prop, f"'{prop}' entries need external_id, description or url", "missing")


def _granular_marking(prop: str, value: object) -> None:
    """s7.2.3 granular-marking (stix2-validator requires marking_ref)."""
    if type(value) is not dict:
        raise _fail(prop, f"'{prop}' entries must be objects", "type")
    selectors = value.get("selectors")
    if type(selectors) is not list or not selectors:
        raise _fail(prop, f"'{prop}' entries need a non-empty list 'selectors'", "missing")
    for selector in selectors:
        if type(selector) is not str or _SELECTOR.fullmatch(selector) is None:
            raise _fail(prop, f"'{prop}' selector {selector!r} is not a property path", "format")
    if "marking_ref" not in value:
        raise _fail(prop, f"'{prop}' entries need a 'marking_ref'", "missing")
    _ref("marking-definition")(prop, value["marking_ref"])
    if "lang" in value:
        _lang(prop, value["lang"])


def _lang(prop: str, value: object) -> None:
    if type(value) is not str or _LANG_TAG.fullmatch(value) is None:
        raise _fail(prop, f"'{prop}' must be an RFC 5646 language tag like en or fr-CA", "format")


def _extensions(prop: str, value: object) -> None:
    """s7.3 extensions: predefined `*-ext` names or extension-definition ids."""
    if type(value) is not dict or not value:
        raise _fail(prop, f"'{prop}' must be a non-empty object", "type")
    for name, body in value.items():
        if type(body) is not dict or not body:
            raise _fail(prop, f"'{prop}' entry {name!r} must be a non-empty object", "type")
        if _EXTENSION_DEFINITION_ID.fullmatch(name):
            _enum("new-sdo", "new-sco", "new-sro", "property-extension",
                  "toplevel-property-extension")(f"{prop}.{name}.extension_type",
                                                 body.get("extension_type"))
        elif _EXTENSION_NAME.fullmatch(name) is None:
            raise _fail(prop, f"'{prop}' key {name!r} must be an extension-definition id or a "
                        "predefined name ending in -ext", "format")
        for key in _PREDEFINED_EXTENSION_REQUIRED.get(name, ()):
            if key not in body:
                raise _fail(prop, f"'{prop}' {name} needs '{key}'", "missing")


# s10 predefined SCO extensions: the properties each one requires.
_PREDEFINED_EXTENSION_REQUIRED: dict[str, tuple[str, ...]] = {
    "archive-ext": ("contains_refs",),
    "http-request-ext": ("request_method", "request_value"),
    "icmp-ext": ("icmp_type_hex", "icmp_code_hex"),
    "socket-ext": ("address_family",),
    "windows-pebinary-ext": ("pe_type",),
}


# --- Type table -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spec:
    section: str
    kind: str  # "sdo", "sro", "sco" or "meta"
    required: tuple[str, ...]
    props: dict[str, Check]
    rules: tuple[Rule, ...] = ()
    all_props: dict[str, Check] = field(default_factory=dict)


_COMMON: dict[str, Check] = {
    "type": _string, "spec_version": _string, "id": _string,
    "created_by_ref": _ref("identity"),
    "created": _check_timestamp_millis, "modified": _check_timestamp_millis,
    "revoked": _boolean, "labels": _strings, "confidence": _integer(0, 100),
    "lang": _lang, "external_references": _list(_external_reference, "external references"),
    "object_marking_refs": _refs("marking-definition"),
    "granular_markings": _list(_granular_marking, "granular markings"),
    "extensions": _extensions,
}
_SCO_COMMON: dict[str, Check] = {
    "type": _string, "spec_version": _string, "id": _string,
    "object_marking_refs": _refs("marking-definition"),
    "granular_markings": _list(_granular_marking, "granular markings"),
    "defanged": _boolean, "extensions": _extensions,
}
_SDO_REQUIRED = ("type", "spec_version", "id", "created", "modified")
_SCO_REQUIRED = ("type", "id")
_KCP = _list(_kill_chain_phase, "kill chain phases")
_DESCRIBED = {"name": _string, "description": _string}


def _sdo(section: str, required: tuple[str, ...], props: dict[str, Check],
         *rules: Rule, kind: str = "sdo", described: bool = True) -> _Spec:
    merged = {**_COMMON, **(_DESCRIBED if described else {}), **props}
    return _Spec(section, kind, _SDO_REQUIRED + required, props, rules, merged)


def _sco(section: str, required: tuple[str, ...], props: dict[str, Check], *rules: Rule) -> _Spec:
    return _Spec(section, "sco", _SCO_REQUIRED + required, props, rules,
                 {**_SCO_COMMON, **props})


def _any_of(*props: str) -> Rule:
    def rule(obj: Mapping[str, object]) -> None:
        if not any(p in obj for p in props):
            raise _fail(props[0], f"at least one of {', '.join(props)} is required", "missing")
    return rule


def _not_both(a: str, b: str) -> Rule:
    def rule(obj: Mapping[str, object]) -> None:
        if a in obj and b in obj:
            raise _fail(b, f"'{b}' must not be present together with '{a}'", "conflict")
    return rule


def _indicator_pattern(obj: Mapping[str, object]) -> None:
    """s4.7 indicator: a `stix` pattern must parse (Part 9 patterning grammar)."""
    if obj.get("pattern_type") == "stix":
        error = pattern_error(obj["pattern"])  # type: ignore[arg-type]
        if error is not None:
            raise _fail("pattern", f"'pattern' is not a valid STIX pattern: {error}", "pattern")


def _location_rule(obj: Mapping[str, object]) -> None:
    """s4.11 location: region, country or latitude+longitude; precision needs both."""
    has_lat, has_lon = "latitude" in obj, "longitude" in obj
    if has_lat != has_lon:
        raise _fail("longitude" if has_lat else "latitude",
                    "'latitude' and 'longitude' must be given together", "missing")
    if not (has_lat or "region" in obj or "country" in obj):
        raise _fail("region", "a location needs 'region', 'country' or "
                    "'latitude' and 'longitude'", "missing")
    if "precision" in obj and not has_lat:
        raise _fail("precision", "'precision' needs 'latitude' and 'longitude'", "missing")


def _malware_rule(obj: Mapping[str, object]) -> None:
    """s4.12 malware: a malware family must have a name."""
    if obj.get("is_family") is True and "name" not in obj:
        raise _fail("name", "'name' is required when 'is_family' is true", "missing")


def _observed_data_rule(obj: Mapping[str, object]) -> None:
    """s4.14 observed-data: exactly one of objects (deprecated) and object_refs."""
    if ("objects" in obj) == ("object_refs" in obj):
        raise _fail("object_refs", "observed-data needs exactly one of 'object_refs' and "
                    "'objects'", "missing")


def _observed_objects(prop: str, value: object) -> None:
    if type(value) is not dict or not value:
        raise _fail(prop, f"'{prop}' must be a non-empty object of observables", "type")
    for entry in value.values():
        if type(entry) is not dict or type(entry.get("type")) is not str:
            raise _fail(prop, f"each entry of '{prop}' must be an object with a 'type'", "type")


def _uuid4_unless(*contributing: str) -> Rule:
    """s6: an SCO without ID-contributing properties must use a UUIDv4 id."""
    def rule(obj: Mapping[str, object]) -> None:
        if not any(p in obj for p in contributing) and str(obj["id"])[-22] != "4":
            raise _fail("id", "this object's id must use a version 4 UUID", "format")
    return rule


def _artifact_rule(obj: Mapping[str, object]) -> None:
    """s6.1 artifact: payload_bin, or url with hashes; decryption_key needs an algorithm."""
    if ("payload_bin" in obj) == ("url" in obj):
        raise _fail("payload_bin", "an artifact needs exactly one of 'payload_bin' and 'url'",
                    "missing")
    if "url" in obj and "hashes" not in obj:
        raise _fail("hashes", "'hashes' is required with 'url'", "missing")
    if "decryption_key" in obj and "encryption_algorithm" not in obj:
        raise _fail("encryption_algorithm", "'decryption_key' needs 'encryption_algorithm'",
                    "missing")


def _email_message_rule(obj: Mapping[str, object]) -> None:
    """s6.6 email-message: body for single-part, body_multipart only for multipart."""
    if obj.get("is_multipart") is True and "body" in obj:
        raise _fail("body", "'body' must not be used when 'is_multipart' is true", "conflict")
    if obj.get("is_multipart") is False and "body_multipart" in obj:
        raise _fail("body_multipart", "'body_multipart' needs 'is_multipart' true", "conflict")


def _mime_part(prop: str, value: object) -> None:
    if type(value) is not dict or not ("body" in value or "body_raw_ref" in value):
        raise _fail(prop, f"'{prop}' entries need 'body' or 'body_raw_ref'", "missing")
    if "body_raw_ref" in value:
        _ref("artifact", "file")(prop, value["body_raw_ref"])


def _network_traffic_rule(obj: Mapping[str, object]) -> None:
    """s6.12 network-traffic: a source or destination; an active flow has no end."""
    if "src_ref" not in obj and "dst_ref" not in obj:
        raise _fail("src_ref", "network-traffic needs 'src_ref' or 'dst_ref'", "missing")
    if obj.get("is_active") is True and "end" in obj:
        raise _fail("end", "'end' must not be present when 'is_active' is true", "conflict")


def _ip(version: int) -> Check:
    kind = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    regex = re.compile(r"[0-9.]+(?:/[0-9]{1,2})?") if version == 4 else None

    def check(prop: str, value: object) -> None:
        try:
            if type(value) is not str or (regex is not None and not regex.fullmatch(value)):
                raise ValueError(value)
            kind(value, strict=False)
        except ValueError:
            raise _fail(prop, f"'{prop}' must be an IPv{version} address or CIDR block",
                        "format") from None
    return check


def _process_rule(obj: Mapping[str, object]) -> None:
    """s6.13 process: its id must be UUIDv4, and it must say something."""
    if str(obj["id"])[-22] != "4":
        raise _fail("id", "a process id must use a version 4 UUID", "format")
    if not (obj.keys() - _SCO_COMMON.keys()):
        raise _fail("pid", "a process needs at least one property besides the common ones",
                    "missing")


def _not_matching(pattern: str, what: str) -> Check:
    compiled = re.compile(pattern)

    def check(prop: str, value: object) -> None:
        if type(value) is not str:
            raise _fail(prop, f"'{prop}' must be a string", "type")
        if compiled.search(value):
            raise _fail(prop, f"'{prop}' must be {what}", "format")
    return check


def _some_specific(section: str) -> Rule:
    def rule(obj: Mapping[str, object]) -> None:
        if not (obj.keys() - _SCO_COMMON.keys()):
            raise _fail(None, f"{obj['type']} needs at least one of its own properties ({section})",
                        "missing")
    return rule


def _marking_definition_rule(obj: Mapping[str, object]) -> None:
    """s7.2.1 marking-definition: a definition, unless given by an extension; TLP is fixed."""
    kind = obj.get("definition_type")
    if "extensions" not in obj or "definition" in obj or kind is not None:
        for prop in ("definition_type", "definition"):
            if prop not in obj:
                raise _fail(prop, f"'{prop}' is required", "missing")
    definition = obj.get("definition")
    if kind == "statement" and (type(definition) is not dict
                                or type(definition.get("statement")) is not str):
        raise _fail("definition", "a statement marking needs definition.statement", "missing")
    if kind == "tlp":
        expected = _TLP.get(str(obj.get("id")))
        if (expected is None or obj.get("name") != expected[0]
                or definition != {"tlp": expected[1]}
                or obj.get("created") != "2017-01-20T00:00:00.000Z"
                or not obj.keys() <= _TLP_PROPS):
            raise _fail("definition", "a tlp marking must be one of the four predefined TLP "
                        "marking definitions (s7.2.1.4)", "invalid")


_TLP = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": ("TLP:WHITE", "white"),
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": ("TLP:GREEN", "green"),
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": ("TLP:AMBER", "amber"),
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": ("TLP:RED", "red"),
}
_TLP_PROPS = frozenset({"type", "spec_version", "id", "created", "definition_type",
                        "definition", "name"})


def _extension_definition_rule(obj: Mapping[str, object]) -> None:
    types = obj.get("extension_types")
    if "extension_properties" in obj and (
            not isinstance(types, list) or "toplevel-property-extension" not in types):
        raise _fail("extension_properties", "'extension_properties' is only for "
                    "toplevel-property-extension", "conflict")


def _language_contents(prop: str, value: object) -> None:
    """s7.1 language-content contents: language tag -> {property name -> translation}."""
    if type(value) is not dict or not value:
        raise _fail(prop, f"'{prop}' must be a non-empty object", "type")
    for tag, translations in value.items():
        _lang(prop, tag)
        if type(translations) is not dict or not translations:
            raise _fail(prop, f"'{prop}' entry {tag!r} must be a non-empty object", "type")
        for name in translations:
            if _PROPERTY_NAME.fullmatch(name) is None:
                raise _fail(prop, f"'{prop}' entry {tag!r} has an invalid property name "
                            f"{name!r}", "format")


_NOT_SDO_OR_SCO = SRO_TYPES | META_TYPES | {"bundle"}
_ANY_SCO = _ref(exclude=SDO_TYPES | _NOT_SDO_OR_SCO)
_ANY_SCO_LIST = _refs(exclude=SDO_TYPES | _NOT_SDO_OR_SCO)
_FIRST_LAST_SEEN = _later("last_seen", "first_seen", strict=False)
_SEEN = {"first_seen": _check_timestamp, "last_seen": _check_timestamp}
_ALIASES = {"aliases": _strings}

_SPECS: dict[str, _Spec] = {
    # s4 STIX Domain Objects
    "attack-pattern": _sdo("4.1", ("name",), {**_ALIASES, "kill_chain_phases": _KCP}),
    "campaign": _sdo("4.2", ("name",), {**_ALIASES, **_SEEN, "objective": _string},
                     _FIRST_LAST_SEEN),
    "course-of-action": _sdo("4.3", ("name",), {}),
    "grouping": _sdo("4.4", ("context", "object_refs"),
                     {"context": _string, "object_refs": _refs()}),
    "identity": _sdo("4.5", ("name",), {
        "roles": _strings, "identity_class": _string, "sectors": _strings,
        "contact_information": _string}),
    "incident": _sdo("4.6", ("name",), {"kill_chain_phases": _KCP}),
    "indicator": _sdo("4.7", ("pattern", "pattern_type", "valid_from"), {
        "indicator_types": _strings, "pattern": _string, "pattern_type": _string,
        "pattern_version": _string, "valid_from": _check_timestamp,
        "valid_until": _check_timestamp, "kill_chain_phases": _KCP},
        _later("valid_until", "valid_from", strict=True), _indicator_pattern),
    "infrastructure": _sdo("4.8", ("name",), {
        "infrastructure_types": _strings, **_ALIASES, "kill_chain_phases": _KCP, **_SEEN},
        _FIRST_LAST_SEEN),
    "intrusion-set": _sdo("4.9", ("name",), {
        **_ALIASES, **_SEEN, "goals": _strings, "resource_level": _string,
        "primary_motivation": _string, "secondary_motivations": _strings},
        _FIRST_LAST_SEEN),
    "location": _sdo("4.10", (), {
        "latitude": _number(-90, 90), "longitude": _number(-180, 180),
        "precision": _number(0, float("inf")), "region": _string, "country": _string,
        "administrative_area": _string, "city": _string, "street_address": _string,
        "postal_code": _string}, _location_rule),
    "malware": _sdo("4.11", ("is_family",), {
        "malware_types": _strings, "is_family": _boolean, **_ALIASES,
        "kill_chain_phases": _KCP, **_SEEN, "operating_system_refs": _refs("software"),
        "architecture_execution_envs": _strings, "implementation_languages": _strings,
        "capabilities": _strings, "sample_refs": _refs("file", "artifact")},
        _malware_rule, _FIRST_LAST_SEEN),
    "malware-analysis": _sdo("4.12", ("product",), {
        "product": _string, "version": _string, "host_vm_ref": _ref("software"),
        "operating_system_ref": _ref("software"), "installed_software_refs": _refs("software"),
        "configuration_version": _string, "modules": _strings,
        "analysis_engine_version": _string, "analysis_definition_version": _string,
        "submitted": _check_timestamp, "analysis_started": _check_timestamp,
        "analysis_ended": _check_timestamp, "result_name": _string, "result": _string,
        "analysis_sco_refs": _ANY_SCO_LIST,
        "sample_ref": _ref("file", "network-traffic", "artifact")},
        _any_of("result", "analysis_sco_refs"), described=False),
    "note": _sdo("4.13", ("content", "object_refs"), {
        "abstract": _string, "content": _string, "authors": _strings,
        "object_refs": _refs()}, described=False),
    "observed-data": _sdo("4.14", ("first_observed", "last_observed", "number_observed"), {
        "first_observed": _check_timestamp, "last_observed": _check_timestamp,
        "number_observed": _integer(1, 999_999_999), "objects": _observed_objects,
        "object_refs": _refs(exclude=SDO_TYPES | META_TYPES | {"bundle"})},
        _observed_data_rule, _later("last_observed", "first_observed", strict=False),
        described=False),
    "opinion": _sdo("4.15", ("opinion", "object_refs"), {
        "explanation": _string, "authors": _strings, "object_refs": _refs(),
        "opinion": _enum("strongly-disagree", "disagree", "neutral", "agree",
                         "strongly-agree")}, described=False),
    "report": _sdo("4.16", ("name", "published", "object_refs"), {
        "report_types": _strings, "published": _check_timestamp, "object_refs": _refs()}),
    "threat-actor": _sdo("4.17", ("name",), {
        "threat_actor_types": _strings, **_ALIASES, **_SEEN, "roles": _strings,
        "goals": _strings, "sophistication": _string, "resource_level": _string,
        "primary_motivation": _string, "secondary_motivations": _strings,
        "personal_motivations": _strings}, _FIRST_LAST_SEEN),
    "tool": _sdo("4.18", ("name",), {
        "tool_types": _strings, **_ALIASES, "kill_chain_phases": _KCP,
        "tool_version": _string}),
    "vulnerability": _sdo("4.19", ("name",), {}),
    # s5 STIX Relationship Objects
    "relationship": _sdo("5.1", ("relationship_type", "source_ref", "target_ref"), {
        "relationship_type": _regex(r"[a-z0-9-]+", "lowercase letters, digits and hyphens"),
        "source_ref": _ref(exclude=_NOT_SDO_OR_SCO), "target_ref": _ref(exclude=_NOT_SDO_OR_SCO),
        "start_time": _check_timestamp, "stop_time": _check_timestamp},
        _later("stop_time", "start_time", strict=True), kind="sro"),
    "sighting": _sdo("5.2", ("sighting_of_ref",), {
        **_SEEN, "count": _integer(0, 999_999_999), "sighting_of_ref": _ref(exclude=_NOT_SDO),
        "observed_data_refs": _refs("observed-data"),
        "where_sighted_refs": _refs("identity", "location"), "summary": _boolean},
        _FIRST_LAST_SEEN, kind="sro"),
    # s6 STIX Cyber-observable Objects
    "artifact": _sco("6.1", (), {
        "mime_type": _regex(r"(application|audio|font|image|message|model|multipart|text|video)"
                            r"/[a-zA-Z0-9.+_-]+", "an IANA media type", search=True),
        "payload_bin": _binary, "url": _regex(_URL, "an absolute URL"), "hashes": _hashes,
        "encryption_algorithm": _enum("AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"),
        "decryption_key": _string},
        _artifact_rule, _uuid4_unless("hashes", "payload_bin")),
    "autonomous-system": _sco("6.2", ("number",), {
        "number": _integer(), "name": _string, "rir": _string}),
    "directory": _sco("6.3", ("path",), {
        "path": _string, "path_enc": _regex(r"[a-zA-Z0-9/.+_:-]{2,250}", "a character set name"),
        "ctime": _check_timestamp, "mtime": _check_timestamp, "atime": _check_timestamp,
        "contains_refs": _refs("file", "directory")}),
    "domain-name": _sco("6.4", ("value",), {
        "value": _regex(_HOSTNAME, "a domain name"),
        "resolves_to_refs": _refs("ipv4-addr", "ipv6-addr", "domain-name")}),
    "email-addr": _sco("6.5", ("value",), {
        "value": _regex(r"[^@\s]+@[^@\s]+", "an email address"), "display_name": _string,
        "belongs_to_ref": _ref("user-account")}),
    "email-message": _sco("6.6", ("is_multipart",), {
        "is_multipart": _boolean, "date": _check_timestamp, "content_type": _string,
        "from_ref": _ref("email-addr"), "sender_ref": _ref("email-addr"),
        "to_refs": _refs("email-addr"), "cc_refs": _refs("email-addr"),
        "bcc_refs": _refs("email-addr"), "message_id": _string, "subject": _string,
        "received_lines": _strings, "additional_header_fields": _dictionary, "body": _string,
        "body_multipart": _list(_mime_part, "MIME parts"), "raw_email_ref": _ref("artifact")},
        _email_message_rule, _uuid4_unless("from_ref", "subject", "body")),
    "file": _sco("6.7", (), {
        "hashes": _hashes, "size": _integer(0), "name": _string,
        "name_enc": _regex(r"[a-zA-Z0-9/.+_:-]{2,250}", "a character set name"),
        "magic_number_hex": _hex, "mime_type": _string, "ctime": _check_timestamp,
        "mtime": _check_timestamp, "atime": _check_timestamp,
        "parent_directory_ref": _ref("directory"), "contains_refs": _ANY_SCO_LIST,
        "content_ref": _ref("artifact")}, _any_of("hashes", "name")),
    "ipv4-addr": _sco("6.8", ("value",), {
        "value": _ip(4), "resolves_to_refs": _refs("mac-addr"),
        "belongs_to_refs": _refs("autonomous-system")}),
    "ipv6-addr": _sco("6.9", ("value",), {
        "value": _ip(6), "resolves_to_refs": _refs("mac-addr"),
        "belongs_to_refs": _refs("autonomous-system")}),
    "mac-addr": _sco("6.10", ("value",), {
        "value": _regex(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}", "a lowercase colon-separated MAC")}),
    "mutex": _sco("6.11", ("name",), {"name": _string}),
    "network-traffic": _sco("6.12", ("protocols",), {
        "start": _check_timestamp, "end": _check_timestamp, "is_active": _boolean,
        "src_ref": _ref("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"),
        "dst_ref": _ref("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"),
        "src_port": _integer(0, 65535), "dst_port": _integer(0, 65535), "protocols": _strings,
        "src_byte_count": _integer(0), "dst_byte_count": _integer(0),
        "src_packets": _integer(0), "dst_packets": _integer(0), "ipfix": _dictionary,
        "src_payload_ref": _ref("artifact"), "dst_payload_ref": _ref("artifact"),
        "encapsulates_refs": _refs("network-traffic"),
        "encapsulated_by_ref": _ref("network-traffic")},
        _network_traffic_rule, _later("end", "start", strict=False)),
    "process": _sco("6.13", (), {
        "is_hidden": _boolean, "pid": _integer(), "created_time": _check_timestamp,
        "cwd": _string, "command_line": _string, "environment_variables": _dictionary,
        "opened_connection_refs": _refs("network-traffic"),
        "creator_user_ref": _ref("user-account"), "image_ref": _ref("file"),
        "parent_ref": _ref("process"), "child_refs": _refs("process")}, _process_rule),
    "software": _sco("6.14", ("name",), {
        "name": _string, "cpe": _regex(r"cpe:2\.3:[aho*\-](?::[^:]*){10}", "a CPE 2.3 name"),
        "swid": _string, "languages": _list(_lang, "language codes"), "vendor": _string,
        "version": _string}),
    "url": _sco("6.15", ("value",), {"value": _regex(_URL, "an absolute URL")}),
    "user-account": _sco("6.16", (), {
        "user_id": _string, "credential": _string, "account_login": _string,
        "account_type": _string, "display_name": _string, "is_service_account": _boolean,
        "is_privileged": _boolean, "can_escalate_privs": _boolean, "is_disabled": _boolean,
        "account_created": _check_timestamp, "account_expires": _check_timestamp,
        "credential_last_changed": _check_timestamp, "account_first_login": _check_timestamp,
        "account_last_login": _check_timestamp},
        _some_specific("6.16"), _uuid4_unless("account_type", "user_id", "account_login")),
    "windows-registry-key": _sco("6.17", (), {
        # s6.17: the full hive name (HKEY_LOCAL_MACHINE), never an abbreviation; the regex is
        # stix2-validator's, which also refuses the abbreviations anywhere in the key.
        "key": _not_matching(r"^HKLM|HKCC|HKCR|HKCU|HKU|hklm|hkcc|hkcr|hkcu|hku",
                             "a full registry key name starting with e.g. HKEY_LOCAL_MACHINE"),
        "values": _list(_object, "registry values"), "modified_time": _check_timestamp,
        "creator_user_ref": _ref("user-account"), "number_of_subkeys": _integer(0)},
        _some_specific("6.17"), _uuid4_unless("key", "values")),
    "x509-certificate": _sco("6.18", (), {
        "is_self_signed": _boolean, "hashes": _hashes, "version": _string,
        "serial_number": _string, "signature_algorithm": _string, "issuer": _string,
        "validity_not_before": _check_timestamp, "validity_not_after": _check_timestamp,
        "subject": _string, "subject_public_key_algorithm": _string,
        "subject_public_key_modulus": _string, "subject_public_key_exponent": _integer(),
        "x509_v3_extensions": _object},
        _some_specific("6.18"), _uuid4_unless("hashes", "serial_number")),
    # s7 STIX Meta Objects
    "language-content": _sdo("7.1", ("object_ref", "contents"), {
        "object_ref": _ref(exclude=frozenset({"bundle", "language-content"})),
        "object_modified": _check_timestamp, "contents": _language_contents},
        kind="meta", described=False),
    "marking-definition": _Spec("7.2", "meta", ("type", "spec_version", "id", "created"), {}, (
        _marking_definition_rule,), {
        "type": _string, "spec_version": _string, "id": _string,
        "created_by_ref": _ref("identity"), "created": _check_timestamp,
        "external_references": _list(_external_reference, "external references"),
        "object_marking_refs": _refs("marking-definition"),
        "granular_markings": _list(_granular_marking, "granular markings"),
        "extensions": _extensions, "name": _string, "definition_type": _string,
        "definition": _object}),
    "extension-definition": _sdo("7.3", ("name", "schema", "version", "extension_types"), {
        "schema": _string, "version": _string,
        "extension_types": _list(_enum("new-sdo", "new-sco", "new-sro", "property-extension",
                                       "toplevel-property-extension"), "extension types"),
        "extension_properties": _strings}, _extension_definition_rule, kind="meta"),
}

# s11.2 custom objects: SDO-like when they carry created/modified, else SCO-like.
_CUSTOM_SDO = _Spec("11.2", "sdo", _SDO_REQUIRED, {}, (), dict(_COMMON))
_CUSTOM_SCO = _Spec("11.2", "sco", _SCO_REQUIRED, {}, (), dict(_SCO_COMMON))
_MODIFIED_AFTER_CREATED = _later("modified", "created", strict=False)


# Custom property names already found well-formed (with custom properties allowed), and
# which value rule their suffix adds: real exports repeat a handful of names (x_mitre_*) on
# every object. Bounded, as posters choose the names.
_CUSTOM_NAMES: dict[str, Check | None] = {}
_CUSTOM_NAMES_MAX = 4096


def _check_custom_property(name: str, value: object, allow_custom: bool) -> None:
    """s11.1 custom properties: allowed only with allow_custom, and then well-formed."""
    if allow_custom and name in _CUSTOM_NAMES:
        suffix_rule = _CUSTOM_NAMES[name]
    else:
        if name in _RESERVED:
            raise _fail(name, f"'{name}' is a reserved property name and must not be used",
                        "reserved")
        if not allow_custom:
            raise _fail(name, f"'{name}' is not a STIX 2.1 property of this type and custom "
                        "properties are not accepted here", "custom")
        if _PROPERTY_NAME.fullmatch(name) is None:
            raise _fail(name, f"custom property name {name!r} must be 3-250 characters of a-z, "
                        "0-9 and _, starting with a letter", "format")
        suffix_rule = _binary if name.endswith("_bin") else _hex if name.endswith("_hex") \
            else None
        if len(_CUSTOM_NAMES) >= _CUSTOM_NAMES_MAX:
            _CUSTOM_NAMES.clear()
        _CUSTOM_NAMES[name] = suffix_rule
    if value is None or value == []:
        raise _fail(name, f"'{name}' must not be null or an empty list", "type")
    if suffix_rule is not None:
        suffix_rule(name, value)


def validate_object(obj: object, *, allow_custom: bool = True) -> StixFacts:
    """Validate one STIX 2.1 object (a parsed JSON value) and return the facts the store needs.

    Raises StixError naming the first offending property.
    """
    if type(obj) is not dict:
        raise StixError("a STIX object must be a JSON object", reason="type")
    obj_type = obj.get("type")
    if type(obj_type) is not str:
        raise _fail("type", "'type' is required and must be a string",
                    "missing" if obj_type is None else "type")
    if not 3 <= len(obj_type) <= 250 or _TYPE_NAME.fullmatch(obj_type) is None:
        raise _fail("type", f"'type' {obj_type[:60]!r} must be 3-250 characters of a-z, 0-9 and "
                    "single hyphens", "format")
    spec = _SPECS.get(obj_type)
    if spec is None:
        if not allow_custom:
            raise _fail("type", f"'{obj_type}' is not a STIX 2.1 type and custom objects are "
                        "not accepted here", "custom" if obj_type.startswith("x-") else
                        "unknown_type")
        spec = _CUSTOM_SDO if ("created" in obj or "modified" in obj) else _CUSTOM_SCO
    for name in spec.required:
        if name not in obj:
            raise _fail(name, f"'{name}' is required for {obj_type} (STIX 2.1 s{spec.section})",
                        "missing")

    obj_id = obj["id"]
    prefix = len(obj_type) + 2
    if (type(obj_id) is not str or not obj_id.startswith(obj_type)
            or obj_id[prefix - 2:prefix] != "--"
            or _LOWER_UUID_RE.fullmatch(obj_id, prefix) is None):
        upper = type(obj_id) is str and _UUID_RE.fullmatch(obj_id, prefix) is not None
        raise _fail("id", f"'id' must be '{obj_type}--' followed by an RFC 4122 UUID"
                    + (_UPPER_CASE if upper else ""), "format")
    spec_version = obj.get("spec_version", "2.1")
    if spec_version != "2.1":
        raise _fail("spec_version", "'spec_version' must be \"2.1\"", "spec_version")

    checks = spec.all_props
    for name, value in obj.items():
        check = checks.get(name)
        if check is None:
            _check_custom_property(name, value, allow_custom)
        else:
            check(name, value)
    if "modified" in obj:
        _MODIFIED_AFTER_CREATED(obj)
    for rule in spec.rules:
        rule(obj)

    marking_refs: tuple[str, ...] = ()
    object_markings = obj.get("object_marking_refs")
    granular = obj.get("granular_markings")
    if object_markings or granular:
        refs = list(object_markings or ())
        refs.extend(marking["marking_ref"] for marking in granular or ())
        marking_refs = tuple(dict.fromkeys(refs))
    version = obj.get("modified") or obj.get("created")
    return StixFacts(obj_id, obj_type, "2.1", version, obj.get("created_by_ref"), marking_refs)
