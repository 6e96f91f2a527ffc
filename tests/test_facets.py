"""Blocklist values are taken only from patterns that are plain equality comparisons."""

from __future__ import annotations

import pytest

from server.ingest.facets import facets_of, iocs
from tests.helpers import indicator, post


@pytest.mark.parametrize(("pattern", "expected"), [
    ("[ipv4-addr:value = '198.51.100.7']", [("ipv4", "198.51.100.7")]),
    ("[ipv4-addr:value = '203.0.113.0/24']", [("ipv4", "203.0.113.0/24")]),
    ("[ipv6-addr:value = '2001:db8::1']", [("ipv6", "2001:db8::1")]),
    ("[domain-name:value = 'evil.example']", [("domain", "evil.example")]),
    ("[url:value = 'http://evil.example/a?b=c']", [("url", "http://evil.example/a?b=c")]),
    ("[email-addr:value = 'x@evil.example']", [("email", "x@evil.example")]),
    ("[file:hashes.'SHA-256' = 'ab12']", [("sha256", "ab12")]),
    ("[file:hashes.MD5 = 'cd34']", [("md5", "cd34")]),
    ("[file:hashes.'SHA-1' = 'ef56']", [("sha1", "ef56")]),
    ("[domain-name:value = 'a.example' OR domain-name:value = 'b.example']",
     [("domain", "a.example"), ("domain", "b.example")]),
    ("[domain-name:value = 'a.example'] OR [ipv4-addr:value = '192.0.2.1']",
     [("domain", "a.example"), ("ipv4", "192.0.2.1")]),
    ("[url:value = 'http://x.example/it\\'s']", [("url", "http://x.example/it's")]),
    ("[file:hashes.MD5 = 'cd34' OR file:hashes.'SHA-256' = 'ab12' OR url:value = 'http://a/']",
     [("md5", "cd34"), ("sha256", "ab12"), ("url", "http://a/")]),
    ("[url:value = 'it\\'s' OR domain-name:value = 'b.example']",
     [("url", "it's"), ("domain", "b.example")]),
    # MISP ip-src / ip-dst as misp-stix writes them, and the value-only form.
    ("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value ="
     " '203.0.113.45']", [("ipv4", "203.0.113.45")]),
    ("[network-traffic:src_ref.type = 'ipv6-addr' AND network-traffic:src_ref.value ="
     " '2001:db8::7']", [("ipv6", "2001:db8::7")]),
    ("[network-traffic:src_ref.value = '198.51.100.0/24' AND network-traffic:src_ref.type ="
     " 'ipv4-addr']", [("ipv4", "198.51.100.0/24")]),
    ("[network-traffic:dst_ref.value = '192.0.2.9']", [("ipv4", "192.0.2.9")]),
])
def test_equality_patterns_give_their_values(pattern, expected):
    assert iocs(pattern) == expected


@pytest.mark.parametrize("pattern", [
    "[domain-name:value = 'a.example' AND domain-name:value = 'b.example']",
    "[ipv4-addr:value != '192.0.2.1']",
    "[domain-name:value LIKE '%.example']",
    "[ipv4-addr:value = '192.0.2.1'] WITHIN 10 SECONDS",
    "[file:name = 'x.exe']",
    "[process:pid = 4]",
    "[ipv4-addr:value = '192.0.2.1'] AND [ipv4-addr:value = '192.0.2.2']",
    "[file:hashes.'SSDEEP' = 'x']",
    # Traffic patterns that do not name one address alone.
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value ="
    " '192.0.2.1' AND network-traffic:dst_port = 443]",
    "[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value ="
    " '192.0.2.1']",
    "[network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value ="
    " '192.0.2.1']",
    "[network-traffic:dst_ref.value = 'evil.example']",
    "[network-traffic:dst_ref.value != '192.0.2.1']",
    "",
])
def test_anything_else_gives_nothing(pattern):
    assert iocs(pattern) == []


def test_facets_of_an_indicator():
    facets = facets_of({
        "type": "indicator", "pattern_type": "stix", "pattern": "[ipv4-addr:value = '1.2.3.4']",
        "confidence": 80, "labels": ["c2"], "indicator_types": ["malicious-activity"],
        "valid_until": "2030-01-01T00:00:00Z", "revoked": True,
        "created_by_ref": "identity--x",
    })
    assert facets.confidence == 80 and facets.labels == ["c2"]
    assert facets.indicator_types == ["malicious-activity"] and facets.revoked
    assert facets.valid_until.year == 2030 and facets.created_by_ref == "identity--x"
    assert facets.ioc_kinds == ["ipv4"] and facets.ioc_values == ["1.2.3.4"]
    yara = {"type": "indicator", "pattern_type": "yara", "pattern": "rule"}
    assert facets_of(yara).ioc_kinds is None


@pytest.mark.parametrize("awkward", [
    # Nothing JSON escapes: the literal is built from orjson's output as it is.
    ["x,y {z}", "NULL", "  padded ", "é ☃", "{}", "a'b"],
    # Quotes, backslashes and control characters: the escaping path.
    ['a"b', "back\\slash", "x,y {z}", "NULL", "  padded ", "é ☃", "line\nbreak", "{}"],
], ids=["plain", "escaped"])
async def test_facets_are_stored_exactly_whatever_their_characters(
    http, base_url, pool, world, awkward
):
    """Arrays travel to PostgreSQL as literals; quoting must survive every character.

    The stored arrays are the thing under test, so this reads them back by SQL: the API
    shows them only through filters (a mangled element is then merely a missed match for
    that one value) and never shows recipients or an absent sector list at all.
    """
    obj = indicator(
        "192.0.2.77", labels=awkward, indicator_types=["malicious-activity", 'q"uote'],
        pattern="[file:hashes.MD5 = 'e8262b46d0fe259bf4d6a51b4524f733'"
                " OR domain-name:value = 'odd\\\\name.example']",
    )
    status = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    assert status["success_count"] == 1, status
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT labels, indicator_types, ioc_kinds, ioc_values, recipients, sectors"
            " FROM objects WHERE stix_id = $1", obj["id"])
    assert row["labels"] == awkward
    assert row["indicator_types"] == ["malicious-activity", 'q"uote']
    # A domain with a backslash is no domain: it never becomes a blocklist value (SECURITY.md),
    # while the indicator itself is stored as posted.
    assert row["ioc_kinds"] == ["md5"]
    assert row["ioc_values"] == ["e8262b46d0fe259bf4d6a51b4524f733"]
    assert row["recipients"] == [] and row["sectors"] is None


def test_only_short_facet_lists_are_cached():
    """Posters choose labels: a cache of their literals must not grow with what they send."""
    from server.store import objects

    arrays = objects._CommonArrays()
    common = arrays.literal
    for n in range(50):
        assert common([f"{n}" * 300]) == '{"' + f"{n}" * 300 + '"}'
        assert common([str(i) for i in range(n, n + 9)]).count(",") == 8
    assert arrays._literals == {}
    assert common(["c2", "apt"]) == '{"c2","apt"}'
    assert list(arrays._literals) == [("c2", "apt")]
