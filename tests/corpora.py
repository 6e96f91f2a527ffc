"""Real STIX corpora committed under tests/fixtures/ (sources and licences in its README).

Each loader returns fresh objects (callers may mutate them) and, where the source is a file,
keeps that file's object order.
"""

from __future__ import annotations

import functools
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from stix2validator import ValidationOptions, validate_instance

FIXTURES = Path(__file__).parent / "fixtures"
Obj = dict[str, Any]


@functools.cache
def _raw(name: str) -> bytes:
    return lzma.decompress((FIXTURES / name).read_bytes())


def _load(name: str) -> Any:
    return orjson.loads(_raw(name))


def ics_releases() -> Iterator[tuple[str, list[Obj]]]:
    """Every ATT&CK for ICS release, oldest first: (version, its objects in file order)."""
    current: dict[str, Obj] = {}
    for release in _load("attack/ics-attack-releases.json.xz")["releases"]:
        current.update((obj["id"], obj) for obj in release["changed"])
        yield release["release"], [current[stix_id] for stix_id in release["order"]]


def ics_release(version: str) -> list[Obj]:
    """The objects of one ICS release (e.g. "18.1"), in the order of its bundle file."""
    for name, objects in ics_releases():
        if name == version:
            return objects
    raise KeyError(version)


def mobile_objects() -> list[Obj]:
    """ATT&CK for Mobile (the release named in the fixture), in file order."""
    return _load("attack/mobile-attack-17.1.json.xz")["bundle"]["objects"]


def misp_exports() -> dict[str, list[Obj]]:
    """misp-stix's STIX 2.1 exports, by source (a test event's name or a shipped file)."""
    return {name: bundle["objects"] for name, bundle in
            _load("misp/misp-stix21-exports.json.xz")["bundles"].items()}


def misp_events() -> dict[str, Obj]:
    """misp-stix's MISP test events ({"Event": ...} or event collections), by name."""
    return _load("misp/misp-events.json.xz")["events"]


def oasis_examples() -> dict[str, list[Obj]]:
    """The objects of each example of oasis-open/cti-stix2-json-schemas, by path."""
    found = {}
    for path, value in _load("oasis/stix2-examples.json.xz")["examples"].items():
        found[path] = value["objects"] if value.get("type") == "bundle" else [value]
    return found


_OPTIONS = ValidationOptions(version="2.1")


def validator_accepts(obj: Obj) -> bool:
    """Whether stix2-validator (errors only, default options) accepts the object alone."""
    return validate_instance(obj, _OPTIONS).is_valid
