"""TAXII 2.1 wire vocabulary: media types, query filters and their parsing (TAXII 2.1 s3.4-3.6)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import orjson

from schemas import stix

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"

_STIX_ID = re.compile(
    r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_STIX_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$")
_SPEC_VERSION = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}")


class QueryError(ValueError):
    """A query parameter a TAXII client sent is malformed; the message names it."""


class CursorReader(Protocol):
    """Seals and opens `next` tokens (schemas.cursors.CursorCodec)."""

    def encode(self, cursor: Cursor, carried: str = "") -> str: ...

    def decode_next(self, token: str) -> tuple[Cursor, str]: ...


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
    # The match[...] filters as given (name, value), sorted: a `next` token carries them.
    carried: tuple[tuple[str, str], ...] = ()


# Filters a `next` token carries, so that a client which sends `next` alone keeps its query.
# Elastic's TAXII input (elastic/integrations packages/ti_custom, cel.yml.hbs) builds every
# next request from the collection URL, `next` and `limit` only; OpenCTI's TAXII 2 connector
# drops `added_after` on next requests (connectors external-import/taxii2 client_taxii.py).
# added_after needs no carrying: the keyset position in the token is already past it.
CARRIED_FILTERS = ("match[id]", "match[type]", "match[version]", "match[spec_version]")
MAX_CARRIED = 1500  # longer filters are carried as a digest: the client repeats them


def _digest(carried: tuple[tuple[str, str], ...]) -> str:
    return "#" + hashlib.sha256(orjson.dumps(dict(carried))).hexdigest()[:32]


def next_token(cursors: CursorReader, cursor: Cursor,
               carried: tuple[tuple[str, str], ...] = ()) -> str:
    """The sealed `next` token of a page: its keyset position and the query's filters."""
    text = ""
    if carried:
        text = orjson.dumps(dict(carried)).decode()
        if len(text) > MAX_CARRIED:
            text = _digest(carried)
    return cursors.encode(cursor, text)


def _carried_filters(text: str) -> dict[str, str] | str | None:
    if not text:
        return None
    if text.startswith("#"):
        return text
    try:
        filters = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise QueryError("next is not a token this server issued") from exc
    if not isinstance(filters, dict) or not all(
        k in CARRIED_FILTERS and isinstance(v, str) for k, v in filters.items()
    ):
        raise QueryError("next is not a token this server issued")
    return filters


def _with_carried(params: dict[str, str], cursors: CursorReader
                  ) -> tuple[dict[str, str], Cursor | None, tuple[tuple[str, str], ...]]:
    """The request's parameters with the filters its `next` token carries filled in.

    A filter the client repeats must equal the carried one; a client may not add or change
    filters in the middle of a paged query (it would page a query that never issued the
    token). Tokens that carry no filters accept whatever the request gives.
    """
    given = tuple(sorted((k, params[k]) for k in CARRIED_FILTERS if k in params))
    if "next" not in params:
        return params, None, given
    cursor, text = cursors.decode_next(params["next"])
    carried = _carried_filters(text)
    if carried is None:
        return params, cursor, given
    if isinstance(carried, str):
        if _digest(given) != carried:
            raise QueryError("this next token belongs to a query with long filters: repeat"
                             " them exactly with next")
        return params, cursor, given
    for name, value in given:
        if carried.get(name) != value:
            raise QueryError(f"{name} differs from the query that issued this next token;"
                             " send next alone or with the original filters")
    return {**params, **carried}, cursor, tuple(sorted(carried.items()))


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
    params, cursor, carried = _with_carried(params, cursors)
    if set(params) - allowed:
        raise QueryError("next is not a token of this endpoint")
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
        cursor=cursor,
        carried=carried,
    )


def is_stix_id(value: str) -> bool:
    """Whether value has the form type--UUID."""
    return bool(_STIX_ID.fullmatch(value))


# The message of a status's pending entry held for a person's privacy review (issue 14):
# days, not the seconds a missing marking-definition takes, so clients stop polling it.
HELD_FOR_REVIEW = "held for privacy review"
