"""Facts extracted from an object at ingest, for feed filters and blocklist exports."""

from __future__ import annotations

import re
from datetime import datetime

from schemas.stix import parse_timestamp
from server.store.objects import Facets

_VALUE = r"'((?:[^'\\]|\\.)*)'"
_PATHS = {
    "ipv4-addr:value": "ipv4",
    "ipv6-addr:value": "ipv6",
    "domain-name:value": "domain",
    "url:value": "url",
    "email-addr:value": "email",
}
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA1": "sha1", "SHA-256": "sha256",
           "SHA256": "sha256"}
_COMPARISON = re.compile(
    r"\s*([a-z0-9-]+:(?:value|hashes\.(?:'[A-Za-z0-9-]+'|[A-Za-z0-9-]+)))\s*=\s*" + _VALUE + r"\s*"
)
# The common case, one comparison with no escapes, in one match.
_SINGLE = re.compile(
    r"^\[([a-z0-9-]+:(?:value|hashes\.(?:'[A-Za-z0-9-]+'|[A-Za-z0-9-]+))) = '([^'\\]*)'\]$"
)
_JOIN = re.compile(r"\s*(OR)\s*|\s*\]\s*OR\s*\[\s*", re.IGNORECASE)


def _kind(path: str) -> str | None:
    if path in _PATHS:
        return _PATHS[path]
    if path.startswith("file:hashes."):
        return _HASHES.get(path.removeprefix("file:hashes.").strip("'").upper())
    return None


def iocs(pattern: str) -> list[tuple[str, str]]:
    """(kind, value) of a pattern made only of equality comparisons joined by OR.

    Anything else (AND, other operators, qualifiers) yields nothing: a blocklist entry
    must stand for the whole indicator.
    """
    single = _SINGLE.match(pattern)
    if single:
        kind = _kind(single.group(1))
        return [(kind, single.group(2))] if kind else []
    text = pattern.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return []
    text = text[1:-1]
    found, pos = [], 0
    while True:
        match = _COMPARISON.match(text, pos)
        if not match:
            return []
        kind = _kind(match.group(1))
        if kind is None:
            return []
        found.append((kind, re.sub(r"\\(.)", r"\1", match.group(2))))
        pos = match.end()
        if pos == len(text):
            return found
        joined = _JOIN.match(text, pos)
        if not joined:
            return []
        pos = joined.end()


def _strings(value: object) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _timestamp(value: object) -> datetime | None:
    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None


def facets_of(body: dict) -> Facets:
    """The filterable facts of one (valid) stored object."""
    pairs = []
    if body.get("type") == "indicator" and body.get("pattern_type") == "stix":
        pairs = iocs(body.get("pattern", ""))
    confidence = body.get("confidence")
    return Facets(
        confidence=confidence if isinstance(confidence, int) else None,
        labels=_strings(body.get("labels")),
        indicator_types=_strings(body.get("indicator_types")),
        valid_until=_timestamp(body.get("valid_until")),
        revoked=body.get("revoked") is True,
        created_by_ref=body.get("created_by_ref"),
        ioc_kinds=[k for k, _ in pairs] or None,
        ioc_values=[v for _, v in pairs] or None,
    )
