"""JSON bodies parsed with orjson, refusing member names repeated within one object.

orjson resolves a repeated name silently (last wins).

A duplicate would drop the poster's first value without a failure, so ingest refuses it.
Proving there is none must cost little on every envelope: each member name in the text is
a string token followed by optional whitespace and a colon, so the number of `"`+colon
sequences in the body is at least the number of names (string contents can only add to
it). When that count equals the number of keys in the parsed value, no name was repeated;
only otherwise is the body parsed again, slowly, to find the name.
"""

from __future__ import annotations

import json
import re

import orjson

_LOOSE_NAME_END = re.compile(rb'"[ \t\n\r]+:')
# Far beyond any real STIX object, and below what orjson can serialise again (~250) and
# what Python's own recursion allows.
MAX_DEPTH = 100
_CONTAINERS = (dict, list)


class DuplicateMember(ValueError):
    """A JSON object of the body names one member twice."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the member {name!r} occurs twice in one object;"
                         " send each property once")
        self.name = name


def _keys(value: dict | list, depth: int) -> int:
    """The member names in a parsed value, nested ones included."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    count, items = (len(value), value.values()) if type(value) is dict else (0, value)
    for item in items:
        kind = type(item)
        if kind is dict or kind is list:  # `is` twice: cheaper than a tuple lookup here
            count += _keys(item, depth + 1)
    return count


def _no_repeats(pairs: list[tuple[str, object]]) -> dict:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise DuplicateMember(name)
            seen.add(name)
    return mapping


def loads(body: bytes) -> object:
    """The JSON value of `body`; ValueError (orjson's, or DuplicateMember) if it is not
    JSON, nests deeper than MAX_DEPTH or repeats a member name within one object."""
    parsed = orjson.loads(body)
    if type(parsed) not in _CONTAINERS:
        return parsed
    if body.count(b'":') + len(_LOOSE_NAME_END.findall(body)) != _keys(parsed, 1):
        json.loads(body, object_pairs_hook=_no_repeats)
    return parsed
