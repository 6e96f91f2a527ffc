"""Canonical values of the observable kinds a blocklist carries, re-parsed before export.

A blocklist line ends up in firewall and proxy configurations and in spreadsheets, so a value
is exported only as what it is: a parsed IPv4/IPv6 address or network, an IDNA-valid domain
name, an http(s)/ftp URL without white space or control characters, an e-mail address, or
hex of the right length for a hash. `canonical` returns the form to write, or None for a
value that is not one of its kind (`203.0.113.6; allow all`, `evil.example\\n0.0.0.0/0`).
Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64}
_HEX = re.compile(r"[0-9A-Fa-f]+")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
# RFC 5322 dot-atom local part (no quoted strings, no white space).
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_URL_SCHEMES = frozenset({"http", "https", "ftp"})
_MAX_URL = 2048


def _network(value: str, version: int) -> str | None:
    if not value.isascii() or "%" in value:  # no IPv6 scope ids
        return None
    try:
        if "/" in value:
            net = ipaddress.ip_network(value, strict=False)
            return str(net) if net.version == version else None
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return str(address) if address.version == version else None


def domain(value: str) -> str | None:
    """The lower-case ASCII (A-label) form of a domain name, or None if it is not one."""
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return None
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return ascii_name


def _host(value: str) -> str | None:
    if _DOTTED_QUAD.fullmatch(value):
        return value
    lower = value.lower()
    if len(lower) <= 253 and _ASCII_NAME.fullmatch(lower) and "xn--" not in lower:
        return lower
    if value.startswith("[") and value.endswith("]"):
        inner = _network(value[1:-1], 6)
        return f"[{inner}]" if inner and "/" not in inner else None
    if _network(value, 4) is not None and "/" not in value:
        return value
    return domain(value)


def _url(value: str) -> str | None:
    if len(value) > _MAX_URL or not _PRINTABLE.fullmatch(value):
        return None
    fast = _SIMPLE_URL.fullmatch(value)
    if fast and (not fast.group(2) or int(fast.group(2)) <= 65535) and (
            _DOTTED_QUAD.fullmatch(fast.group(1)) or "xn--" not in fast.group(1)):
        return value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    netloc_host = parts.netloc.rpartition("@")[2]
    if port is not None:
        netloc_host = netloc_host.rsplit(":", 1)[0]
    if parts.scheme.lower() not in _URL_SCHEMES or not netloc_host or not _host(netloc_host):
        return None
    return value


def _email(value: str) -> str | None:
    local, at, host = value.rpartition("@")
    if not at or len(local) > 64 or not _LOCAL.fullmatch(local):
        return None
    name = domain(host)
    return f"{local}@{name}" if name else None


# Fast paths for the common forms (about 1 us instead of 3-10): a dotted quad without
# leading zeros, and a lower-case ASCII host name; anything else takes the full parse.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_SIMPLE_URL = re.compile(
    r"(?:https?|ftp)://((?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)*(?!-)[a-z0-9_-]{1,63}(?<!-))"
    r"(?::([0-9]{1,5}))?(?:[/?#][!-~]*)?")
_PRINTABLE = re.compile(r"[!-~]+")  # ASCII without white space or control characters
_ASCII_NAME = re.compile(r"(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)*(?!-)[a-z0-9_-]{1,63}(?<!-)")


def canonical(kind: str, value: str) -> str | None:
    """`value` written as a canonical value of `kind`, or None if it is not one."""
    if not isinstance(value, str):
        return None
    if kind == "ipv4":
        if _DOTTED_QUAD.fullmatch(value):
            return value
        return _network(value, 4)
    if kind == "ipv6":
        return _network(value, 6)
    if kind == "domain":
        if len(value) <= 253 and _ASCII_NAME.fullmatch(value) and "xn--" not in value:
            return value
        return domain(value)
    if kind == "url":
        return _url(value)
    if kind == "email":
        return _email(value)
    length = _HEX_LENGTH.get(kind)
    if length is not None:
        return value.lower() if len(value) == length and _HEX.fullmatch(value) else None
    return None


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP: prefix with a quote)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
