"""Warninglists: values that must never be blocked at a member (private and documentation
ranges, public DNS resolvers, large CDN and cloud ranges, the most-used domains).

Shipped as package data (server/ingest/warninglist_data/, trimmed from MISP's
misp-warninglists, CC0 1.0; README.md there names each list's source and version).
`accord admin warninglists update --from DIR` rewrites them from a misp-warninglists
checkout. Matching is pure and in memory: a set lookup per prefix length for addresses,
per label suffix for host names.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import orjson

DATA = "warninglist_data"
# MISP list -> whether to keep only well-known entries (a list too long to ship whole).
SHIPPED: dict[str, bool] = {
    "rfc1918": False, "rfc5735": False, "rfc3849": False, "rfc6598": False,
    "rfc6761": False, "ipv6-linklocal": False, "multicast": False,
    "public-dns-v4": True, "public-dns-v6": False, "cloudflare": False, "fastly": False,
    "amazon-aws": False, "google-gcp": False, "microsoft-azure": False, "tranco10k": False,
}
# The resolvers everyone knows; the full public-dns-v4 list holds 60,000 open resolvers.
_WELL_KNOWN_RESOLVERS = {
    "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "1.1.1.2", "1.0.0.2", "1.1.1.3", "1.0.0.3",
    "9.9.9.9", "149.112.112.112", "9.9.9.10", "149.112.112.10", "9.9.9.11",
    "208.67.222.222", "208.67.220.220", "208.67.222.123", "208.67.220.123",
    "94.140.14.14", "94.140.15.15", "76.76.2.0", "76.76.10.0", "185.228.168.9",
    "185.228.169.9", "64.6.64.6", "64.6.65.6", "4.2.2.1", "4.2.2.2", "4.2.2.3", "4.2.2.4",
    "4.2.2.5", "4.2.2.6", "8.26.56.26", "8.20.247.20", "77.88.8.8", "77.88.8.1",
    "156.154.70.1", "156.154.71.1", "195.46.39.39", "195.46.39.40", "84.200.69.80",
    "84.200.70.40", "45.90.28.0", "45.90.30.0", "194.242.2.2", "193.110.81.0",
}


@dataclass(slots=True)
class _Networks:
    by_prefix: dict[int, dict[int, str]] = field(default_factory=dict)  # len -> net -> list
    # Every listed range merged into sorted disjoint [start, end] intervals: whether a value
    # touches any list is one bisection (the ingest check), names only then.
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    def add(self, net: ipaddress.IPv4Network | ipaddress.IPv6Network, name: str) -> None:
        self.by_prefix.setdefault(net.prefixlen, {}).setdefault(int(net.network_address), name)
        start = int(net.network_address)
        self.starts.append(start)
        self.ends.append(start + net.num_addresses - 1)

    def seal(self) -> None:
        """Merge the ranges added into disjoint intervals, for `touches`."""
        merged: list[list[int]] = []
        for start, end in sorted(zip(self.starts, self.ends, strict=True)):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [a for a, _ in merged]
        self.ends = [b for _, b in merged]

    def touches(self, start: int, end: int) -> bool:
        """Whether [start, end] overlaps a listed range (either may hold the other)."""
        i = bisect.bisect_right(self.starts, end) - 1
        return i >= 0 and self.ends[i] >= start

    def match(self, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> set[str]:
        bits = net.max_prefixlen
        value = int(net.network_address)
        found = set()
        for length, nets in self.by_prefix.items():
            if length <= net.prefixlen:
                name = nets.get(value >> (bits - length) << (bits - length))
                if name:
                    found.add(name)
        return found


@dataclass(slots=True)
class Warninglists:
    """Loaded warninglists, matched by observable kind and normalised value."""

    v4: _Networks = field(default_factory=_Networks)
    v6: _Networks = field(default_factory=_Networks)
    hostnames: dict[str, set[str]] = field(default_factory=dict)  # the name and below it
    strings: dict[str, set[str]] = field(default_factory=dict)  # exactly the name
    versions: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, kind: str, values: list[str]) -> None:
        """Add one list of entries of a MISP type (cidr, hostname, string)."""
        for entry in values:
            entry = entry.strip().lower().rstrip(".")
            if kind == "cidr":
                try:
                    net = ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    continue
                (self.v4 if net.version == 4 else self.v6).add(net, name)
            elif kind == "hostname":
                self.hostnames.setdefault(entry, set()).add(name)
            else:
                self.strings.setdefault(entry, set()).add(name)
        if kind == "cidr":  # `listed` and `match` read the merged intervals
            self.v4.seal()
            self.v6.seal()

    def listed(self, kind: str, value: str) -> bool:
        """Whether a canonical value (schemas.observables) touches a list: an address or
        range inside a listed range or holding one, a domain listed or under a listed name.

        On the ingest path, so the usual dotted quad is read without `ipaddress`.
        """
        if kind == "ipv4":
            if "/" not in value:
                n = int.from_bytes(socket.inet_aton(value), "big")
                return self.v4.touches(n, n)
            net = ipaddress.ip_network(value, strict=False)
            return self.v4.touches(int(net.network_address), int(net.broadcast_address))
        if kind == "ipv6":
            net = ipaddress.ip_network(value, strict=False)
            return self.v6.touches(int(net.network_address), int(net.broadcast_address))
        if kind == "domain":
            if value in self.strings:
                return True
            labels = value.split(".")
            return any(".".join(labels[i:]) in self.hostnames for i in range(len(labels)))
        return False

    def names(self, kind: str, value: str) -> list[str]:
        """The lists a canonical value touches (as `listed`), by name."""
        if kind not in ("ipv4", "ipv6"):
            return self.match(kind, value)
        net = ipaddress.ip_network(value, strict=False)
        lo, hi = int(net.network_address), int(net.broadcast_address)
        found = set(self.match(kind, value))
        for length, nets in (self.v4 if net.version == 4 else self.v6).by_prefix.items():
            size = 1 << (net.max_prefixlen - length)
            found |= {name for start, name in nets.items() if start <= hi and start + size > lo}
        return sorted(found)

    def match(self, kind: str, value: str) -> list[str]:
        """The lists that hold a normalised observable (server.ingest.lookup_values)."""
        if kind in ("ipv4", "ipv6"):
            try:
                # Most values touch no list, which one bisection says (a listed range
                # holding the value touches it), without parsing it into a network.
                if not self.listed(kind, value):
                    return []
                net = ipaddress.ip_network(value, strict=False)
            except (ValueError, OSError):  # no address: ipaddress's and inet_aton's refusals
                return []
            return sorted((self.v4 if net.version == 4 else self.v6).match(net))
        if kind == "domain":
            found = set(self.strings.get(value, ()))
            labels = value.split(".")
            for i in range(len(labels) - 1):
                found |= self.hostnames.get(".".join(labels[i:]), set())
            return sorted(found)
        return []


def convert(misp_lists: Path, name: str) -> dict:
    """One shipped list from a misp-warninglists checkout's lists/NAME/list.json."""
    raw = orjson.loads((misp_lists / name / "list.json").read_bytes())
    entries = raw["list"]
    if SHIPPED.get(name):
        entries = [e for e in entries if e in _WELL_KNOWN_RESOLVERS]
    return {"name": name, "title": raw.get("name", name), "version": str(raw.get("version", "")),
            "type": raw.get("type", "string"), "source": "MISP/misp-warninglists (CC0 1.0)",
            "list": sorted(entries)}


def update(checkout: Path, target: Path) -> list[tuple[str, str, int]]:
    """Rewrite the shipped lists from a misp-warninglists checkout; (name, version, count)."""
    lists = checkout / "lists" if (checkout / "lists").is_dir() else checkout
    written = []
    for name in SHIPPED:
        made = convert(lists, name)
        (target / f"{name}.json").write_bytes(orjson.dumps(made, option=orjson.OPT_INDENT_2))
        written.append((name, made["version"], len(made["list"])))
    return written


def data_dir() -> Path:
    """Where the shipped lists are (inside the installed package)."""
    return Path(str(resources.files("server.ingest").joinpath(DATA)))


def load(directory: Path) -> Warninglists:
    """The lists in a directory of shipped-format JSON files."""
    loaded = Warninglists()
    for path in sorted(directory.glob("*.json")):
        raw = orjson.loads(path.read_bytes())
        loaded.add(raw["name"], raw["type"], raw["list"])
        loaded.versions[raw["name"]] = raw["version"]
    return loaded


@functools.cache
def shipped() -> Warninglists:
    """The lists shipped with the package, loaded once per process (read-only data)."""
    return load(data_dir())


WARNING = ("stored, with a warning: a value of this indicator is on a warninglist ({names});"
           " the lookup flags it and feeds that exclude warninglisted values leave it out")


REFUSAL = ("refused: a value of this indicator is on a warninglist ({names}), and the trust"
           " group refuses such indicators (its warninglist policy); never block it blindly")


def _names(values: Iterable[tuple[str, str]]) -> str:
    lists = shipped()
    return ", ".join(sorted({n for k, v in values for n in lists.names(k, v)}))


def warn(successes: list[dict], warned: dict[str, list[tuple[str, str]]]) -> None:
    """Add the warninglist warning to the status successes of these ids (id -> values)."""
    for entry in successes:
        values = warned.get(entry["id"])
        if values:
            entry["message"] = WARNING.format(names=_names(values))


def refusal(values: Iterable[tuple[str, str]]) -> str:
    """The status message of an indicator refused for these (kind, value) pairs."""
    return REFUSAL.format(names=_names(values))
