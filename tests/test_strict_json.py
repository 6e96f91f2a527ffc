"""Request bodies naming one member twice in an object are refused, however it is spelled."""

from __future__ import annotations

import orjson
import pytest

from schemas.strict_json import DuplicateMember, loads


@pytest.mark.parametrize(("body", "name"), [
    (b'{"a": 1, "a": 2}', "a"),
    (b'{"a":1,"a":2}', "a"),
    (b'{"a" : 1, "a"\n:\t2}', "a"),
    (b'{"a": 1, "\\u0061": 2}', "a"),
    (b'{"objects": [{"x": {"k": 1, "k": 1}}]}', "k"),
    (b'{"objects": [[{"b": [], "b": []}]]}', "b"),
    (b'{"q\\"": 1, "q\\"": 2}', 'q"'),
    (b'{"s\\\\": 1, "s\\\\": 2}', "s\\"),
    # A string full of quote-colon sequences must not hide the repeat from the count.
    (b'{"d": "\\":\\":\\":", "e": 1, "e": 2}', "e"),
])
def test_a_repeated_member_is_named(body, name):
    with pytest.raises(DuplicateMember) as raised:
        loads(body)
    assert raised.value.name == name and repr(name) in str(raised.value)


@pytest.mark.parametrize("body", [
    b'{"a": 1, "b": {"a": 2}}',
    b'[{"a": 1}, {"a": 2}]',
    b'{"description": "he said \\"stop\\": then \\" : left", "name": "x"}',
    b'{"a\\"": 1, "a": 2}',
    b'{"k": "\\" :", "K": 1}',
    b'"just a string"',
    b"42",
])
def test_distinct_members_parse_as_orjson_does(body):
    assert loads(body) == orjson.loads(body)


def test_invalid_json_is_orjsons_error():
    with pytest.raises(orjson.JSONDecodeError):
        loads(b'{"a": ')


def test_nesting_is_bounded_before_python_recursion_is():
    deep = b'{"a":' * 900 + b"1" + b"}" * 900
    with pytest.raises(ValueError, match="nested deeper than 100 levels"):
        loads(deep)
    assert loads(b"[" * 100 + b"]" * 100) is not None
