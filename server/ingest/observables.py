"""Observable values of STIX objects (at ingest) and of lookup queries, normalised alike.

Pure functions, no I/O: what is indexed and what is looked up must agree on spelling.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# Kinds: ipv4, ipv6, domain, url, email, md5, sha1, sha256, sha512.
_PATHS = {
    "ipv4-addr:value": "ipv4",
    "ipv6-addr:value": "ipv6",
    "domain-name:value": "domain",
    "url:value": "url",
    "email-addr:value": "email",
}
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA1": "sha1", "SHA-256": "sha256",
           "SHA256": "sha256", "SHA-512": "sha512", "SHA512": "sha512"}
_HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_SCO_TYPES = {"ipv4-addr": "ipv4", "ipv6-addr": "ipv6", "domain-name": "domain",
              "url": "url", "email-addr": "email"}
# A string literal (skipped whole, so nothing inside one is read as a comparison) or an
# equality comparison `type:path = 'value'`; `!=`, `<=`, `>=` never match `\s*=`.
_TOKEN = re.compile(
    r"'(?:[^'\\]|\\.)*'"
    r"|([a-z0-9-]+:[A-Za-z0-9_.\[\]*'-]+?)\s*=\s*'((?:[^'\\]|\\.)*)'"
)
_HEX = re.compile(r"[0-9a-fA-F]+")
# The common pattern, one comparison with no escapes, in one match.
_SINGLE = re.compile(r"\[([a-z0-9-]+:[A-Za-z0-9_.\[\]*'-]+?) = '([^'\\]*)'\]")
# A dotted IPv4 address already in canonical form (no leading zeros): no parsing needed.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_V4 = re.compile(_OCTET + r"(?:\." + _OCTET + r"){3}")
_MAX_PER_OBJECT = 1000
_MAX_VALUE = 2048
_PARENTS = 8


def _by_shape(value: str) -> str | None:
    """The kind of a value reached through a reference (`dst_ref.value`): by its form."""
    try:
        return "ipv4" if ipaddress.ip_network(value, strict=False).version == 4 else "ipv6"
    except ValueError:
        pass
    if "@" in value:
        return "email"
    if "://" in value:
        return "url"
    if "." in value and " " not in value:
        return "domain"
    return None


def _path_kind(path: str, value: str) -> str | None:
    if path in _PATHS:
        return _PATHS[path]
    _, _, prop = path.partition(":")
    if prop.startswith("hashes."):
        return _HASHES.get(prop.removeprefix("hashes.").strip("'").upper())
    if prop.endswith("_ref.value") or prop.endswith("].value"):
        return _by_shape(value)
    return None


def normalise(kind: str, value: str) -> tuple[str, str | None] | None:
    """(stored value, inet text or None) of a value of a kind; None if it is not one."""
    value = value.strip()
    if not value or len(value) > _MAX_VALUE or "\x00" in value:
        return None
    if kind == "ipv4" and _PLAIN_V4.fullmatch(value):
        return value, value
    if kind in ("ipv4", "ipv6"):
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return None
        if (net.version == 4) != (kind == "ipv4"):
            return None
        text = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
        return text, text
    if kind == "domain":
        return value.lower().rstrip("."), None
    if kind in ("email", "md5", "sha1", "sha256", "sha512"):
        return value.lower(), None
    return value, None


def _add(found: dict, kind: str | None, value: str) -> None:
    if kind is None or len(found) >= _MAX_PER_OBJECT:
        return
    made = normalise(kind, value)
    if made is not None:
        found.setdefault((kind, made[0]), made[1])


def observables_of(body: dict) -> list[tuple[str, str, str | None]]:
    """(kind, value, inet) of every observable an object names: each equality comparison of
    a STIX pattern (in any AND/OR/FOLLOWEDBY shape) and the value or hashes of an SCO."""
    found: dict[tuple[str, str], str | None] = {}
    kind = body.get("type")
    if kind == "indicator":
        pattern = body.get("pattern")
        if body.get("pattern_type") == "stix" and isinstance(pattern, str) and "=" in pattern:
            single = _SINGLE.fullmatch(pattern)
            if single:
                _add(found, _path_kind(single.group(1), single.group(2)), single.group(2))
                return [(k, v, net) for (k, v), net in found.items()]
            for match in _TOKEN.finditer(pattern):
                path = match.group(1)
                if path is None:
                    continue
                value = match.group(2)
                if "\\" in value:
                    value = re.sub(r"\\(.)", r"\1", value)
                _add(found, _path_kind(path, value), value)
    elif kind in _SCO_TYPES:
        value = body.get("value")
        if isinstance(value, str):
            _add(found, _SCO_TYPES[kind], value)
    elif kind in ("file", "artifact"):
        hashes = body.get("hashes")
        if isinstance(hashes, dict):
            for name, value in hashes.items():
                if isinstance(name, str) and isinstance(value, str):
                    _add(found, _HASHES.get(name.upper()), value)
    return [(k, v, net) for (k, v), net in found.items()]


@dataclass(frozen=True, slots=True)
class LookupKeys:
    """What one looked-up value is searched as: exact keys, parent domains, an address."""

    kind: str | None
    exact: tuple[str, str] | None = None  # (kind, value)
    parents: tuple[str, ...] = ()  # parent domains, nearest first
    address: str | None = None  # inet text, matched against every stored range holding it


def lookup_keys(value: str) -> LookupKeys:
    """Classify a looked-up value (address, hash, URL, e-mail, domain) into its search keys."""
    text = value.strip()
    if not text or len(text) > _MAX_VALUE or "\x00" in text:
        return LookupKeys(None)
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        net = None
    if net is not None:
        kind = "ipv4" if net.version == 4 else "ipv6"
        made = normalise(kind, text)
        assert made is not None
        return LookupKeys(kind, address=made[1])
    if len(text) in _HASH_LENGTHS and _HEX.fullmatch(text):
        kind = _HASH_LENGTHS[len(text)]
        return LookupKeys(kind, exact=(kind, text.lower()))
    if "://" in text:
        return LookupKeys("url", exact=("url", text))
    if "@" in text:
        return LookupKeys("email", exact=("email", text.lower()))
    if " " in text or "." not in text.strip("."):
        return LookupKeys(None)
    domain = text.lower().rstrip(".")
    labels = domain.split(".")
    # Nearest first, and a few only: a name of a thousand labels must not cost a thousand
    # probes (times 10,000 values in a bulk lookup).
    parents = tuple(".".join(labels[i:]) for i in range(1, min(len(labels) - 1, 1 + _PARENTS)))
    return LookupKeys("domain", exact=("domain", domain), parents=parents)
