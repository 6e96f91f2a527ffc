"""TAXII 2.1 wire vocabulary: media types, query filters and their parsing (TAXII 2.1 s3.4-3.6)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from schemas import stix

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_CURSOR_TIME = datetime(1, 1, 2, tzinfo=UTC)
_MAX_CURSOR_TIME = datetime(9999, 12, 30, tzinfo=UTC)
_STIX_ID = re.compile(
    r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_STIX_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$")
_SPEC_VERSION = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}")


class QueryError(ValueError):
    """A query parameter a TAXII client sent is malformed; the message names it."""


class CursorReader(Protocol):
    """Opens a `next` token (schemas.cursors.CursorCodec)."""

    def decode(self, token: str) -> Cursor: ...


def parse_timestamp(value: str, name: str) -> datetime:
    """A TAXII/STIX timestamp query parameter; QueryError names the parameter."""
    try:
        return stix.parse_timestamp(value)
    except ValueError as exc:
        raise QueryError(f"{name} must be a real UTC timestamp like 2026-01-31T12:00:00.000Z,"
                         f" not {value[:60]!r}") from exc


def format_timestamp(value: datetime) -> str:
    """A TAXII timestamp with microsecond precision and the 'Z' suffix."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Cursor:
    """Keyset position after which the next page starts: (date_added, sequence); clients
    see it only sealed (schemas.cursors)."""

    date_added: datetime
    seq: int


@dataclass(frozen=True, slots=True)
class VersionMatch:
    """match[version]: any of first, last, all, or exact version timestamps."""

    first: bool = False
    last: bool = False
    all: bool = False
    timestamps: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectQuery:
    """The filters of one TAXII read, typed, as the store takes them."""

    limit: int
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: VersionMatch = field(default_factory=lambda: VersionMatch(last=True))
    spec_versions: tuple[str, ...] = ()
    added_after: datetime | None = None
    cursor: Cursor | None = None


def _split(value: str, name: str) -> tuple[str, ...]:
    items = tuple(part.strip() for part in value.split(","))
    if not all(items):
        raise QueryError(f"{name} has an empty item")
    return items


def parse_version_match(value: str | None, default: str) -> VersionMatch:
    """Parse match[version]; `default` applies when absent."""
    first = last = every = False
    stamps = []
    for item in _split(value or default, "match[version]"):
        if item == "first":
            first = True
        elif item == "last":
            last = True
        elif item == "all":
            every = True
        else:
            stamps.append(parse_timestamp(item, "match[version]"))
    return VersionMatch(first, last, every, tuple(stamps))


def parse_object_query(
    params: dict[str, str],
    *,
    default_limit: int,
    max_limit: int,
    allowed: frozenset[str],
    version_default: str = "last",
    cursors: CursorReader,
) -> ObjectQuery:
    """Parse TAXII query parameters; unknown or malformed ones raise QueryError."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise QueryError(f"unsupported query parameter: {', '.join(unknown)}")
    limit = default_limit
    if "limit" in params:
        raw = params["limit"]
        # ASCII digits only ('²'.isdigit() is true); a long one is clamped without int(),
        # which refuses 4,300 digits and more.
        if not (raw.isascii() and raw.isdigit()) or not raw.strip("0"):
            raise QueryError("limit must be a positive integer")
        limit = max_limit if len(raw) > 18 else min(int(raw), max_limit)
    ids = _split(params["match[id]"], "match[id]") if "match[id]" in params else ()
    for stix_id in ids:
        if not _STIX_ID.fullmatch(stix_id):
            raise QueryError(f"match[id] has a malformed STIX id: {stix_id[:100]}")
    types = _split(params["match[type]"], "match[type]") if "match[type]" in params else ()
    for stix_type in types:
        if not _STIX_TYPE.fullmatch(stix_type):
            raise QueryError(f"match[type] has a malformed STIX type: {stix_type[:100]}")
    specs = ()
    if "match[spec_version]" in params:
        specs = _split(params["match[spec_version]"], "match[spec_version]")
        if not all(_SPEC_VERSION.fullmatch(s) for s in specs):
            raise QueryError("match[spec_version] items must look like 2.1")
    return ObjectQuery(
        limit=limit,
        ids=ids,
        types=types,
        versions=parse_version_match(params.get("match[version]"), version_default),
        spec_versions=specs,
        added_after=(
            parse_timestamp(params["added_after"], "added_after")
            if "added_after" in params
            else None
        ),
        cursor=cursors.decode(params["next"]) if "next" in params else None,
    )


def is_stix_id(value: str) -> bool:
    """Whether value has the form type--UUID."""
    return bool(_STIX_ID.fullmatch(value))
