"""A trust group's privacy rules, decided without I/O: its effective privacy policy and its
victim-side address ranges (README "Privacy")."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

POLICIES = ("pass", "hold", "refuse")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def effective_policy(explicit: str | None, member_sectors: Iterable[str]) -> str:
    """The group's privacy policy: the one set for it, else `hold` when its members are of
    more than one sector (personal data crossing sectors waits for a reviewer), else
    `pass` (one sector shares under one legal regime)."""
    if explicit is not None:
        return explicit
    return "hold" if len(set(member_sectors)) > 1 else "pass"


def networks(ranges: Iterable[object]) -> tuple[Network, ...]:
    """The victim-side ranges as networks (asyncpg hands cidr values in as networks)."""
    return tuple(r if isinstance(r, ipaddress.IPv4Network | ipaddress.IPv6Network)
                 else ipaddress.ip_network(str(r), strict=False) for r in ranges)


def in_ranges(value: str, ranges: tuple[Network, ...]) -> bool:
    """Whether this address (or CIDR, by its network address) lies in one of the ranges."""
    try:
        address = ipaddress.ip_interface(value.strip()).ip
    except ValueError:
        return False
    return any(address.version == r.version and address in r for r in ranges)
