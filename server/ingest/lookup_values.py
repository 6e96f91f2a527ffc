"""Values for the analyst lookup that the blocklist facets leave out (server.ingest.facets).

The blocklist facets (`ioc_kinds`/`ioc_values`) already hold every value of a pattern that
stands for its whole indicator, and the lookup reads them as they are. This module adds
only what they cannot carry: the equality comparisons of compound (AND, FOLLOWEDBY,
qualified) patterns and the values and hashes of SCOs. The usual indicator gets nothing
here, so ingest writes each value once. Pure, no I/O.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from schemas.observables import canonical

PATHS = {
    "ipv4-addr:value": "ipv4",
    "ipv6-addr:value": "ipv6",
    "domain-name:value": "domain",
    "url:value": "url",
    "email-addr:value": "email",
}
HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA1": "sha1", "SHA-256": "sha256",
           "SHA256": "sha256"}
_SCO_TYPES = {"ipv4-addr": "ipv4", "ipv6-addr": "ipv6", "domain-name": "domain",
              "url": "url", "email-addr": "email"}
# A string literal (skipped whole, so nothing inside one reads as a comparison) or an
# equality comparison `type:path = 'value'`; `!=`, `<=`, `>=` never match `\s*=`.
_TOKEN = re.compile(
    r"'(?:[^'\\]|\\.)*'"
    r"|([a-z0-9-]+:[A-Za-z0-9_.\[\]*'-]+?)\s*=\s*'((?:[^'\\]|\\.)*)'"
)
# A pattern author may write hundreds of comparisons; the lookup needs no more than this.
_MAX_VALUES = 256


def _address_kind(value: str) -> str | None:
    """ipv4 or ipv6 for a value reached through a reference (`dst_ref.value`), else None."""
    try:
        return "ipv4" if ipaddress.ip_network(value, strict=False).version == 4 else "ipv6"
    except ValueError:
        return None


def _path_kind(path: str, value: str) -> str | None:
    kind = PATHS.get(path)
    if kind is not None:
        return kind
    _, _, prop = path.partition(":")
    if prop.startswith("hashes."):
        return HASHES.get(prop.removeprefix("hashes.").strip("'").upper())
    if prop.endswith("_ref.value") or prop.endswith("].value"):
        return _address_kind(value)
    return None


def _pairs(found: dict[tuple[str, str], None]) -> tuple[list[str], list[str]] | None:
    if not found:
        return None
    return [k for k, _ in found], [v for _, v in found]


def _add(found: dict[tuple[str, str], None], kind: str | None, value: object) -> None:
    if kind is None or not isinstance(value, str) or len(found) >= _MAX_VALUES:
        return
    clean = canonical(kind, value)  # only what it is: the same guard as the exports
    if clean is not None:
        found[(kind, clean)] = None


def extra_values(body: dict, exported: bool) -> tuple[list[str], list[str]] | None:
    """(kinds, values) the lookup needs beyond the blocklist facets, or None.

    `exported`: the facets already hold the pattern's values (then nothing is added).
    """
    stix_type = body.get("type")
    found: dict[tuple[str, str], None] = {}
    if stix_type == "indicator":
        pattern = body.get("pattern")
        if exported or body.get("pattern_type") != "stix" or not isinstance(pattern, str):
            return None
        for match in _TOKEN.finditer(pattern):
            path = match.group(1)
            if path is None:
                continue
            value = match.group(2)
            if "\\" in value:
                value = re.sub(r"\\(.)", r"\1", value)
            _add(found, _path_kind(path, value), value)
        return _pairs(found)
    kind = _SCO_TYPES.get(stix_type)  # type: ignore[arg-type]
    if kind is not None:
        _add(found, kind, body.get("value"))
        return _pairs(found)
    if stix_type in ("file", "artifact"):
        hashes = body.get("hashes")
        if isinstance(hashes, dict):
            for name, value in hashes.items():
                if isinstance(name, str):
                    _add(found, HASHES.get(name.upper()), value)
        return _pairs(found)
    return None


_HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX = re.compile(r"[0-9a-fA-F]+")
# The usual address, read without ipaddress (ASCII digits, no leading zero, as it reads).
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")
# How an address or a network can be spelt (an IPv6 one with a zone after `%`): anything
# else (a domain, a URL, a hash) skips the parse, whose two failures cost more than the
# rest of classifying it.
_ADDRESS = re.compile(r"[0-9a-fA-F.:/]*[.:][0-9a-fA-F.:/]*(?:%.*)?")
_MAX_LOOKED_UP = 2048
_PARENTS = 8  # a name of a thousand labels must not cost a thousand probes


def _supernets(first: int, width: int, prefixlen: int,
               lengths: frozenset[int] | None = None) -> list[str]:
    """Each network holding the network `first`/`prefixlen` of a `width`-bit family (of
    these prefix lengths, else all), narrowest first, spelt as str(ip_network(...)) spells
    it.

    Integer masks rather than `supernet()`, which took 8 of the 10 s of classifying a
    10,000-value bulk lookup (32 network objects per IPv4 address).
    """
    full = (1 << width) - 1
    out = []
    for bits in range(prefixlen - 1, -1, -1):
        if lengths is not None and bits not in lengths:
            continue
        base = first & (full ^ (full >> bits))
        if width == 32:
            text = f"{base >> 24}.{base >> 16 & 255}.{base >> 8 & 255}.{base & 255}"
        else:
            text = str(ipaddress.IPv6Address(base))
        out.append(f"{text}/{bits}")
    return out


def classify(value: str, lengths: dict[str, frozenset[int]] | None = None,
             ) -> tuple[str | None, list[tuple[str, str, str]]]:
    """The kind of a looked-up value and its search keys (kind, canonical value, match).

    match: `exact` (the value itself), `range` (a stored CIDR range holding the address:
    each of its prefixes is a key) or `parent` (a parent domain, as context). Spelt as
    ingest spells values (schemas.observables.canonical), so both sides agree.
    `lengths`: the prefix lengths of the ranges stored, by kind (server.store.lookup); a
    key in CIDR form of another length can equal no stored value and is left out
    (None: every length).
    """
    text = value.strip()
    if not text or len(text) > _MAX_LOOKED_UP or "\x00" in text:
        return None, []
    if _DOTTED_QUAD.fullmatch(text):  # the usual address, spelt as ipaddress spells it
        stored = None if lengths is None else lengths.get("ipv4", frozenset())
        keys = [("ipv4", text, "exact")]
        if stored is None or 32 in stored:
            keys.append(("ipv4", f"{text}/32", "exact"))
        first = int.from_bytes(socket.inet_aton(text), "big")
        return "ipv4", keys + [("ipv4", prefix, "range")
                               for prefix in _supernets(first, 32, 32, stored)]
    try:
        net = ipaddress.ip_network(text, strict=False) if _ADDRESS.fullmatch(text) else None
    except ValueError:
        net = None
    if net is not None:
        kind = "ipv4" if net.version == 4 else "ipv6"
        stored = None if lengths is None else lengths.get(kind, frozenset())
        keys = []
        if net.prefixlen == net.max_prefixlen:
            keys.append((kind, str(net.network_address), "exact"))
        if stored is None or net.prefixlen in stored or net.prefixlen < net.max_prefixlen:
            keys.append((kind, str(net), "exact"))
        keys += [(kind, prefix, "range") for prefix in
                 _supernets(int(net.network_address), net.max_prefixlen, net.prefixlen, stored)]
        return kind, keys
    if len(text) in _HASH_LENGTHS and _HEX.fullmatch(text):
        kind = _HASH_LENGTHS[len(text)]
        return kind, [(kind, text.lower(), "exact")]
    for kind, marker in (("url", "://"), ("email", "@")):
        if marker in text:
            clean = canonical(kind, text)
            return (kind, [(kind, clean, "exact")]) if clean else (None, [])
    name = canonical("domain", text)
    if name is None or "." not in name:
        return None, []
    labels = name.split(".")
    keys = [("domain", name, "exact")]
    keys += [("domain", ".".join(labels[i:]), "parent")
             for i in range(1, min(len(labels) - 1, 1 + _PARENTS))]
    return "domain", keys
