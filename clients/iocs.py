"""IOC lists (CSV, plain text) turned into STIX 2.1 indicators.

Ids are uuid5 of (namespace, kind, value) and every timestamp is one fixed `created` time,
so converting the same list with the same namespace and time gives byte-identical objects:
a resumed or repeated push re-posts duplicates (a success) instead of new versions.
Indicators are built as plain dicts (the `stix2` library made ~835 a second, which a
million-line list cannot wait for) and checked by Accord's own validator (schemas/stix.py):
the first of each kind in full, every one's pattern, the only part that differs in shape.
"""

from __future__ import annotations

import csv
import ipaddress
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.stix import StixError, validate_object
from schemas.stix_pattern import pattern_error

ACCORD_EXTENSION = "extension-definition--0b92d48b-501d-4dce-923c-b5de58c317f9"
TLP_MARKINGS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
_NAMESPACE = uuid.UUID("8c0c1f55-0d7e-4be4-9a59-3b2f0c6f5a11")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}\Z")
_HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)
_EMAIL = re.compile(r"^[^@\s'\\]+@[^@\s'\\]+\.[^@\s'\\]+$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)
_VALUE_COLUMNS = ("value", "indicator", "ioc", "observable", "ip", "domain", "url", "hash")
_KIND_COLUMNS = ("kind", "type")
_TEXT_COLUMNS = ("description", "comment", "note")
_PATTERNS = {
    "ipv4": "[ipv4-addr:value = '{}']",
    "ipv6": "[ipv6-addr:value = '{}']",
    "domain": "[domain-name:value = '{}']",
    "url": "[url:value = '{}']",
    "email": "[email-addr:value = '{}']",
    "md5": "[file:hashes.MD5 = '{}']",
    "sha1": "[file:hashes.'SHA-1' = '{}']",
    "sha256": "[file:hashes.'SHA-256' = '{}']",
}
KINDS = tuple(_PATTERNS)


class IocError(ValueError):
    """A value that is none of the IOC kinds Accord knows."""


def refang(value: str) -> str:
    """Undo the usual defanging (hxxp, [.], (.), [@]) that reports use."""
    value = value.strip()
    if "[" not in value and "(" not in value and value[:4].lower() != "hxxp":
        return value  # the common case: nothing defanged (a million-line list is mostly that)
    value = re.sub(r"^hxxp", "http", value, flags=re.IGNORECASE)
    for fanged, plain in (("[.]", "."), ("(.)", "."), ("[:]", ":"), ("[@]", "@"),
                          ("[dot]", ".")):
        value = value.replace(fanged, plain)
    return value


def detect(raw: str) -> tuple[str, str]:
    """(kind, normalised value) of one IOC; IocError if it is none of KINDS."""
    value = refang(raw)
    if not value:
        raise IocError("empty value")
    if _PLAIN_IPV4.match(value):
        return "ipv4", value  # already canonical: no leading zeros, each octet <= 255
    try:
        if "/" in value and not _URL.match(value):
            net = ipaddress.ip_network(value, strict=False)
            return ("ipv4" if net.version == 4 else "ipv6"), str(net)
        ip = ipaddress.ip_address(value)
        return ("ipv4" if ip.version == 4 else "ipv6"), str(ip)
    except ValueError:
        pass
    if _HEX.match(value) and len(value) in _HASH_LENGTHS:
        return _HASH_LENGTHS[len(value)], value.lower()
    if _URL.match(value):
        if "'" in value or "\\" in value:
            # Keep patterns to plain equality of a quote-free value: simple and exportable.
            raise IocError(f"URL with a quote or backslash: {raw!r}")
        return "url", value
    if _EMAIL.match(value):
        return "email", value.lower()
    lowered = value.lower().rstrip(".")
    if _DOMAIN.match(lowered):
        return "domain", lowered
    raise IocError(f"not an IP address, CIDR, domain, URL, hash or e-mail address: {raw!r}")


@dataclass(frozen=True, slots=True)
class Ioc:
    """One value of an IOC list, with its kind and an optional description."""

    kind: str
    value: str
    description: str | None = None


@dataclass(slots=True)
class Parsed:
    """The IOCs of a list and the lines that were not IOCs."""

    iocs: list[Ioc] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    repeated: int = 0  # values seen before in the list (one indicator each)


def _add(found: Parsed, seen: set[tuple[str, str]], line: int, raw: str,
         kind: str | None, description: str | None) -> None:
    try:
        detected, value = detect(raw)
    except IocError as exc:
        found.rejected.append((line, str(exc)))
        return
    if kind and kind.lower() in KINDS and kind.lower() != detected:
        # A hash column labelled sha256 with 32 hex digits is an error, not an MD5.
        found.rejected.append((line, f"{raw!r} is not a {kind}"))
        return
    if (detected, value) in seen:
        found.repeated += 1
        return
    seen.add((detected, value))
    found.iocs.append(Ioc(detected, value, description or None))


def parse_text(text: str) -> Parsed:
    """One value per line; blank lines and `#` comments are skipped."""
    found, seen = Parsed(), set[tuple[str, str]]()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            # A trailing " # comment" is dropped; a bare '#' may be part of a URL.
            _add(found, seen, number, stripped.split(" #", 1)[0].strip(), None, None)
    return found


def parse_csv(text: str) -> Parsed:
    """A CSV with a header naming the value column (value, indicator, ioc, ...), else column 1.

    Optional columns: `kind`/`type` (checked against the detected kind) and
    `description`/`comment`. Each row is one line: a quote left open is reported with its
    line and reading goes on (a reader that let it run on would swallow the next rows).
    """
    found, seen = Parsed(), set[tuple[str, str]]()
    numbered: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            numbered.append((number, next(csv.reader([line], strict=True), [])))
        except csv.Error:
            found.rejected.append((number, "unterminated quote (a quoted field must end on"
                                           f" its line): {line[:80]!r}"))
    rows = [row for _, row in numbered]
    if not rows:
        return found
    header = [h.strip().lower() for h in rows[0]]

    def column(names: tuple[str, ...]) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    value_at = column(_VALUE_COLUMNS)
    start = 1
    if value_at is None:
        # No recognised header: the first row is data when its first cell is an IOC.
        try:
            detect(rows[0][0] if rows[0] else "")
            start = 0
        except IocError:
            pass
        value_at = 0
    kind_at, text_at = column(_KIND_COLUMNS), column(_TEXT_COLUMNS)
    for number, row in numbered[start:]:
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        cell = row[value_at] if value_at < len(row) else ""
        kind = row[kind_at].strip() if kind_at is not None and kind_at < len(row) else None
        text_ = row[text_at].strip() if text_at is not None and text_at < len(row) else None
        _add(found, seen, number, cell, kind, text_)
    return found


@dataclass(frozen=True, slots=True)
class IndicatorOptions:
    """What every indicator of a list carries."""

    tlp: str | None = None
    confidence: int | None = None
    labels: tuple[str, ...] = ()
    withhold_attribution: bool = False
    source: str = "IOC list"

    def fingerprint(self) -> str:
        """A stable text of the options, part of a push's state key."""
        return orjson.dumps([self.tlp, self.confidence, sorted(self.labels),
                             self.withhold_attribution, self.source]).decode()


def namespace(*parts: str) -> uuid.UUID:
    """The uuid5 namespace of one conversion (e.g. key id and list digest)."""
    return uuid.uuid5(_NAMESPACE, "|".join(parts))


def _valid_from(created: str) -> str:
    # As the stix2 library wrote it (trailing zeros of the fraction dropped), so lists
    # converted by earlier clients give byte-identical objects, duplicates on a re-push.
    head, _, fraction = created.rstrip("Z").partition(".")
    fraction = fraction.rstrip("0")
    return f"{head}.{fraction}Z" if fraction else f"{head}Z"


def indicator(ioc: Ioc, ns: uuid.UUID, created: str, options: IndicatorOptions
              ) -> dict[str, Any]:
    """The STIX 2.1 indicator of one IOC (property order as the stix2 library's)."""
    obj: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(ns, f'{ioc.kind}:{ioc.value}')}",
        "created": created, "modified": created,
        "name": f"{ioc.kind} {ioc.value}",
        "description": ioc.description or f"From {options.source}",
        "indicator_types": ["malicious-activity"],
        "pattern": _PATTERNS[ioc.kind].format(ioc.value),
        "pattern_type": "stix", "pattern_version": "2.1",
        "valid_from": _valid_from(created),
    }
    if options.labels:
        obj["labels"] = list(options.labels)
    if options.confidence is not None:
        obj["confidence"] = options.confidence
    if options.tlp:
        obj["object_marking_refs"] = [TLP_MARKINGS[options.tlp]]
    if options.withhold_attribution:
        obj["extensions"] = {ACCORD_EXTENSION: {
            "extension_type": "property-extension", "attribution": "withheld"}}
    return obj


class Builder:
    """Builds the indicators of one list and checks them with Accord's validator."""

    def __init__(self, ns: uuid.UUID, created: str, options: IndicatorOptions) -> None:
        self.ns, self.created, self.options = ns, created, options
        self._checked: set[str] = set()

    def build(self, ioc: Ioc) -> dict[str, Any]:
        """The indicator of one IOC; IocError if Accord's validator refuses it."""
        obj = indicator(ioc, self.ns, self.created, self.options)
        try:
            if ioc.kind not in self._checked:
                # Every indicator of a kind has this shape: one full check covers the rest.
                validate_object(obj)
                self._checked.add(ioc.kind)
            elif (error := pattern_error(obj["pattern"])) is not None:
                raise IocError(f"{ioc.value!r} makes an invalid pattern: {error}")
        except StixError as exc:
            raise IocError(f"{ioc.value!r} makes an invalid indicator: {exc}") from exc
        return obj


def indicators(parsed: Parsed, ns: uuid.UUID, created: str,
               options: IndicatorOptions) -> Iterator[dict[str, Any]]:
    """The indicators of a parsed list, in list order (refused ones left out)."""
    builder = Builder(ns, created, options)
    for ioc in parsed.iocs:
        try:
            yield builder.build(ioc)
        except IocError:
            continue


def apply_terms(objects: list[dict[str, Any]], tlp: str | None, withhold: bool,
                labels: list[str], confidence: int | None) -> list[dict[str, Any]]:
    """Add sharing terms to objects that do not state their own (markings are skipped).

    What `accord push` and the console's Share page do to a posted bundle's objects.
    """
    for obj in objects:
        # Malformed input is left as it came: validation refuses it per object.
        if not isinstance(obj, dict) or obj.get("type") == "marking-definition":
            continue
        if tlp and not obj.get("object_marking_refs"):
            obj["object_marking_refs"] = [TLP_MARKINGS[tlp]]
        if withhold and isinstance(exts := obj.setdefault("extensions", {}), dict):
            ext = exts.setdefault(ACCORD_EXTENSION, {"extension_type": "property-extension"})
            if isinstance(ext, dict):
                ext["attribution"] = "withheld"
        if (labels and obj.get("type") in ("indicator", "report", "malware", "campaign")
                and isinstance(had := obj.get("labels", []), list)
                and all(isinstance(x, str) for x in had)):
            obj["labels"] = sorted({*obj.get("labels", []), *labels})
        if confidence is not None and "confidence" not in obj and obj.get("type") == "indicator":
            obj["confidence"] = confidence
    return objects
