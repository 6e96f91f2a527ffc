"""Facts extracted from an object at ingest, for feed filters and blocklist exports."""

from __future__ import annotations

import ipaddress
import logging
import re
from datetime import datetime

from schemas.observables import canonical
from schemas.stix import parse_timestamp
from server.ingest import warninglists
from server.ingest.lookup_values import HASHES, PATHS, extra_values
from server.store.objects import Facets

log = logging.getLogger("accord.ingest")

_VALUE = r"'((?:[^'\\]|\\.)*)'"
_COMPARISON = re.compile(
    r"\s*([a-z0-9-]+:(?:value|hashes\.(?:'[A-Za-z0-9-]+'|[A-Za-z0-9-]+)))\s*=\s*" + _VALUE + r"\s*"
)
# The common case, one comparison with no escapes, in one match.
_SINGLE = re.compile(
    r"^\[([a-z0-9-]+:(?:value|hashes\.(?:'[A-Za-z0-9-]+'|[A-Za-z0-9-]+))) = '([^'\\]*)'\]$"
)
# Comparisons joined by OR with no escapes (hash pairs, say): the whole shape in one
# match, then its terms in order.
_TERM = r"([a-z0-9-]+:(?:value|hashes\.(?:'[A-Za-z0-9-]+'|[A-Za-z0-9-]+))) = '([^'\\]*)'"
_OR_CHAIN = re.compile(r"\[" + _TERM + r"(?: OR " + _TERM + r")*\]")
_TERMS = re.compile(_TERM)
_JOIN = re.compile(r"\s*(OR)\s*|\s*\]\s*OR\s*\[\s*", re.IGNORECASE)
# An address as the source or destination of network traffic, the form MISP's ip-src and
# ip-dst attributes take in misp-stix: the value alone, or with the address type beside it
# (either order). The traffic's other end is unconstrained, so the address alone stands for
# the whole indicator.
_NT = r"network-traffic:(src|dst)_ref\."
_NT_VALUE = re.compile(r"\[" + _NT + r"value = '([^'\\]*)'\]")
_NT_TYPED = re.compile(
    r"\[" + _NT + r"type = '(ipv4-addr|ipv6-addr)' AND " + _NT + r"value = '([^'\\]*)'\]")
_NT_TYPED_AFTER = re.compile(
    r"\[" + _NT + r"value = '([^'\\]*)' AND " + _NT + r"type = '(ipv4-addr|ipv6-addr)'\]")


def _kind(path: str) -> str | None:
    if path in PATHS:
        return PATHS[path]
    if path.startswith("file:hashes."):
        return HASHES.get(path.removeprefix("file:hashes.").strip("'").upper())
    return None


def _traffic_address(pattern: str) -> list[tuple[str, str]]:
    """(kind, value) of a network-traffic pattern naming one end's address, else []."""
    typed = _NT_TYPED.fullmatch(pattern)
    if typed:
        same_end, address_type, value = typed.group(1) == typed.group(3), typed.group(2), \
            typed.group(4)
    elif typed := _NT_TYPED_AFTER.fullmatch(pattern):
        same_end, value, address_type = typed.group(1) == typed.group(3), typed.group(2), \
            typed.group(4)
    elif plain := _NT_VALUE.fullmatch(pattern):  # the ref may be a domain-name too
        same_end, value, address_type = True, plain.group(2), None
    else:
        return []
    try:
        version = ipaddress.ip_network(value, strict=False).version
    except ValueError:
        return []
    kind = "ipv4" if version == 4 else "ipv6"
    if not same_end or address_type not in (None, f"{kind}-addr"):
        return []
    return [(kind, value)]


def iocs(pattern: str) -> list[tuple[str, str]]:
    """(kind, value) of a pattern made only of equality comparisons joined by OR.

    Anything else (AND, other operators, qualifiers) yields nothing: a blocklist entry
    must stand for the whole indicator.
    """
    single = _SINGLE.match(pattern)
    if single:
        kind = _kind(single.group(1))
        return [(kind, single.group(2))] if kind else []
    if pattern.startswith("[network-traffic:"):
        return _traffic_address(pattern)
    if _OR_CHAIN.fullmatch(pattern):
        found = []
        for path, value in _TERMS.findall(pattern):
            kind = _kind(path)
            if kind is None:
                return []
            found.append((kind, value))
        return found
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
    # Validated objects hold lists of strings here; a custom type may use the names freely.
    if type(value) is list and all([type(v) is str for v in value]):
        return value
    return None


def _timestamp(value: object) -> datetime | None:
    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None


def facets_of(body: dict) -> Facets:
    """The filterable facts of one (valid) stored object."""
    get = body.get
    confidence = get("confidence")
    facets = Facets(
        confidence=confidence if type(confidence) is int else None,
        labels=_strings(get("labels")),
        indicator_types=_strings(get("indicator_types")),
        valid_until=_timestamp(get("valid_until")),
        revoked=get("revoked") is True,
        created_by_ref=get("created_by_ref"),
    )
    if get("pattern_type") == "stix" and get("type") == "indicator":
        pairs = iocs(get("pattern", ""))
        if pairs:
            # Only canonical values of their kind become blocklist values (SECURITY.md:
            # `203.0.113.6; allow all` must never reach a firewall's configuration). The
            # indicator itself is valid STIX and is stored and served as posted.
            clean = [(k, c) for k, v in pairs if (c := canonical(k, v)) is not None]
            if len(clean) < len(pairs):
                # Counted, never quoted: posted values stay out of logs.
                log.info("pattern values not exported", extra={
                    "object": get("id"), "omitted": len(pairs) - len(clean)})
            if clean:
                facets.ioc_kinds = [k for k, _ in clean]
                facets.ioc_values = [v for _, v in clean]
                # A value members must never block blindly (issue 12): kept, flagged, left
                # out of the feeds and exports that exclude warninglisted values.
                listed = warninglists.shipped().listed
                if any([listed(k, v) for k, v in clean]):
                    facets.warned = True
    if facets.ioc_values is None:
        # The lookup's values beyond the blocklist's (compound patterns, SCOs); the usual
        # indicator has all of its values above and skips this.
        extra = extra_values(body, False)
        if extra is not None:
            facets.obs_kinds, facets.obs_values = extra
    return facets
