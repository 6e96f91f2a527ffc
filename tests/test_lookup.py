"""The observable lookup: extraction at ingest, matches under the visibility predicate."""

from __future__ import annotations

import ipaddress
import uuid

import orjson
import pytest

from schemas.accord_extension import ACCORD_EXTENSION_ID
from server.ingest.facets import facets_of
from server.ingest.lookup_values import classify, extra_values
from tests.feed_helpers import json_auth
from tests.helpers import TLP_GREEN, TLP_RED, indicator, post, release_withheld


def _unique_ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _unique_domain() -> str:
    return f"c2.{uuid.uuid4().hex[:12]}.example"


async def _lookup_raw(http, base_url, key, *values: str) -> tuple[int, bytes]:
    if len(values) == 1:
        async with http.get(f"{base_url}/api/v1/lookup", params={"value": values[0]},
                            headers=json_auth(key)) as resp:
            return resp.status, await resp.read()
    async with http.post(f"{base_url}/api/v1/lookup", data=orjson.dumps({"values": values}),
                         headers=json_auth(key)) as resp:
        return resp.status, await resp.read()


async def _lookup(http, base_url, key, *values: str) -> list[dict]:
    status, raw = await _lookup_raw(http, base_url, key, *values)
    assert status == 200, raw
    return orjson.loads(raw)["results"]


def _pattern_indicator(pattern: str, **extra: object) -> dict:
    return {**indicator(), "pattern": pattern, **extra}


def test_every_equality_comparison_of_a_compound_pattern_is_extracted():
    pattern = ("[ipv4-addr:value = '10.0.0.0/8' AND domain-name:value = 'Evil.COM.']"
               " OR [file:hashes.'SHA-256' = '" + "AB" * 32 + "' AND file:name != 'x.exe']"
               " FOLLOWEDBY [network-traffic:dst_ref.value = '2001:db8::1']"
               # A comparison spelt inside a string literal is not a comparison; a value
               # that is not one of its kind is not a lookup value.
               " AND [file:name = 'a ipv4-addr:value = \\'1.2.3.4\\''"
               " AND domain-name:value = 'x; rm -rf']")
    facets = facets_of({"type": "indicator", "pattern_type": "stix", "pattern": pattern})
    assert facets.ioc_values is None  # not a blocklist entry: it stands for no one value
    assert (facets.obs_kinds, facets.obs_values) == (
        ["ipv4", "domain", "sha256", "ipv6"],
        ["10.0.0.0/8", "evil.com", "ab" * 32, "2001:db8::1"])


def test_a_simple_pattern_is_written_once_as_a_blocklist_facet():
    facets = facets_of({"type": "indicator", "pattern_type": "stix",
                        "pattern": "[ipv4-addr:value = '198.51.100.7']"})
    assert facets.ioc_values == ["198.51.100.7"] and facets.obs_values is None


def test_sco_values_and_hashes_are_extracted():
    assert extra_values({"type": "ipv4-addr", "value": "198.51.100.7"}, False) == (
        ["ipv4"], ["198.51.100.7"])
    assert extra_values({"type": "file", "hashes": {"MD5": "D41D8CD98F00B204E9800998ECF8427E",
                                                    "x-custom": "1"}}, False) == (
        ["md5"], ["d41d8cd98f00b204e9800998ecf8427e"])
    sigma = {"type": "indicator", "pattern_type": "sigma", "pattern": "a = 'b'"}
    assert extra_values(sigma, False) is None


@pytest.mark.parametrize(("value", "kind"), [
    ("198.51.100.7", "ipv4"), ("2001:DB8::1", "ipv6"), ("10.0.0.0/8", "ipv4"),
    ("d41d8cd98f00b204e9800998ecf8427e", "md5"), ("a" * 40, "sha1"), ("a" * 64, "sha256"),
    ("https://x.example/a", "url"), ("Bob@X.example", "email"), ("www.x.example", "domain"),
    ("not a value", None), ("localhost", None),
])
def test_lookup_values_are_classified(value, kind):
    assert classify(value)[0] == kind


async def test_an_address_matches_itself_and_the_ranges_holding_it(http, base_url, world):
    ip = _unique_ip()
    net = ".".join(ip.split(".")[:3]) + ".0/24"
    exact = indicator(ip, confidence=80, labels=["c2"], object_marking_refs=[TLP_GREEN])
    wide = _pattern_indicator(f"[ipv4-addr:value = '{net}']")
    await post(http, base_url, world.collection_id, world.alice.contributor, exact, wide)
    [result] = await _lookup(http, base_url, world.bob.reader, ip)
    assert result["kind"] == "ipv4" and result["producers"] == 1
    by_id = {m["id"]: m for m in result["matches"]}
    assert by_id[exact["id"]]["match"] == "exact" and by_id[wide["id"]]["match"] == "range"
    m = by_id[exact["id"]]
    assert (m["producer"], m["tlp"], m["confidence"], m["labels"], m["revoked"]) == (
        world.alice.name, "green", 80, ["c2"], False)
    assert m["valid_from"] == exact["valid_from"]
    assert [c["id"] for c in m["collections"]] == [str(world.collection_id)]
    # An address outside the range matches nothing.
    [other] = await _lookup(http, base_url, world.bob.reader, "192.0.2.250")
    assert [x for x in other["matches"] if x["id"] in by_id] == []


async def test_a_domain_matches_its_parents_as_context(http, base_url, world):
    parent = _unique_domain()
    obj = _pattern_indicator(f"[domain-name:value = '{parent}' AND url:value = 'http://x/']")
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    [result] = await _lookup(http, base_url, world.bob.reader, f"login.{parent.upper()}")
    assert [(m["id"], m["match"], m["matched_value"]) for m in result["matches"]] == [
        (obj["id"], "parent", parent)]
    assert result["producers"] == 0  # context, not a report of the value itself
    [url] = await _lookup(http, base_url, world.bob.reader, "http://x/")
    assert obj["id"] in [m["id"] for m in url["matches"]]


async def test_scos_and_hashes_are_found(http, base_url, world):
    digest = uuid.uuid4().hex  # 32 hex digits: an MD5
    sco = {"type": "ipv4-addr", "spec_version": "2.1", "id": f"ipv4-addr--{uuid.uuid4()}",
           "value": "203.0.113.77"}
    obj = _pattern_indicator(f"[file:hashes.MD5 = '{digest}']")
    await post(http, base_url, world.collection_id, world.alice.contributor, sco, obj)
    [h, s] = await _lookup(http, base_url, world.bob.reader, digest.upper(), "203.0.113.77")
    assert [m["id"] for m in h["matches"]] == [obj["id"]] and h["kind"] == "md5"
    assert sco["id"] in [m["id"] for m in s["matches"]]


async def test_a_value_known_only_elsewhere_answers_like_an_unknown_value(
        http, base_url, world, factory):
    ip = _unique_ip()
    before = await _lookup_raw(http, base_url, world.alice.reader, ip)
    bulk_before = await _lookup_raw(http, base_url, world.alice.reader, ip, "x.example")
    # Mallory's own group; and a RED object in alice's group naming only bob.
    group = await factory.group(world.mallory)
    elsewhere = await factory.collection(group)
    await post(http, base_url, elsewhere, world.mallory.contributor, indicator(ip))
    await post(http, base_url, world.collection_id, world.bob.contributor,
               indicator(ip, object_marking_refs=[TLP_RED]))
    assert await _lookup_raw(http, base_url, world.alice.reader, ip) == before
    assert await _lookup_raw(http, base_url, world.alice.reader, ip, "x.example") == bulk_before
    # The producer itself sees its own.
    [mine] = await _lookup(http, base_url, world.mallory.reader, ip)
    assert len(mine["matches"]) == 1


async def test_only_the_current_version_matches(http, base_url, world):
    old_ip, new_ip = _unique_ip(), _unique_ip()
    v1 = indicator(old_ip)
    v2 = {**v1, "pattern": f"[ipv4-addr:value = '{new_ip}']",
          "modified": "2026-02-01T00:00:00.000Z"}
    await post(http, base_url, world.collection_id, world.alice.contributor, v1)
    [seen] = await _lookup(http, base_url, world.bob.reader, old_ip)
    assert [m["id"] for m in seen["matches"]] == [v1["id"]]
    await post(http, base_url, world.collection_id, world.alice.contributor, v2)
    old, new = await _lookup(http, base_url, world.bob.reader, old_ip, new_ip)
    assert old["matches"] == [] and [m["id"] for m in new["matches"]] == [v1["id"]]


async def test_withheld_producers_are_counted_not_named(http, base_url, world, pool):
    ip = _unique_ip()
    withheld = indicator(ip, extensions={ACCORD_EXTENSION_ID: {
        "extension_type": "property-extension", "attribution": "withheld"}})
    await post(http, base_url, world.collection_id, world.alice.contributor, withheld)
    await post(http, base_url, world.collection_id, world.bob.contributor, indicator(ip))
    await release_withheld(pool)
    [result] = await _lookup(http, base_url, world.carol.reader, ip)
    assert result["producers"] == 2
    assert sorted(m["producer"] for m in result["matches"]) == sorted(
        ["withheld", world.bob.name])
    assert world.alice.name.encode() not in orjson.dumps(result)


async def test_bulk_lookup_bounds_and_order(http, base_url, world):
    ip = _unique_ip()
    await post(http, base_url, world.collection_id, world.alice.contributor, indicator(ip))
    values = [f"198.18.{i // 250}.{i % 250}" for i in range(9_999)] + [ip]
    results = await _lookup(http, base_url, world.bob.reader, *values)
    assert [r["value"] for r in results] == values and len(results[-1]["matches"]) == 1
    status, _ = await _lookup_raw(http, base_url, world.bob.reader, *values, "x.example")
    assert status == 400
    async with http.post(f"{base_url}/api/v1/lookup", data=b'{"values": "x"}',
                         headers=json_auth(world.bob.reader)) as resp:
        assert resp.status == 400


async def test_lookup_needs_a_key(http, base_url):
    async with http.get(f"{base_url}/api/v1/lookup", params={"value": "x.example"}) as resp:
        assert resp.status == 401


@pytest.mark.parametrize(("value", "listed"), [
    ("10.1.2.3", "rfc1918"), ("192.168.0.0/24", "rfc1918"), ("8.8.8.8", "public-dns-v4"),
    ("www.google.com", "tranco10k"), ("2001:db8::5", "rfc3849"), ("fe80::1", "ipv6-linklocal"),
])
async def test_the_lookup_flags_warninglisted_values(http, base_url, world, value, listed):
    [result] = await _lookup(http, base_url, world.bob.reader, value)
    assert listed in result["warninglists"]


async def test_an_ordinary_value_is_not_flagged(http, base_url, world):
    [result] = await _lookup(http, base_url, world.bob.reader, "198.51.99.7")
    assert result["warninglists"] == []


def test_parent_domains_are_bounded():
    _, keys = classify(".".join(["a"] * 100) + ".example")
    parents = [k for _, k, match in keys if match == "parent"]
    assert len(parents) == 8 and parents[0].count(".") == 99


def _net_args(net) -> tuple[int, int, int]:
    return int(net.network_address), net.max_prefixlen, net.prefixlen


def test_supernets_by_integer_masks_are_those_of_ipaddress():
    import ipaddress

    from server.ingest.lookup_values import _supernets

    for text in ("10.1.2.3/32", "0.0.0.0/32", "255.255.255.255/32", "172.16.5.0/24",
                 "2001:db8:abcd::1/128", "ffff::/16", "::1/128"):
        net = ipaddress.ip_network(text)
        assert _supernets(*_net_args(net)) == [str(net.supernet(new_prefix=b))
                                               for b in range(net.prefixlen - 1, -1, -1)]
    assert _supernets(*_net_args(ipaddress.ip_network("10.1.2.3/32")), frozenset({8, 24})) == [
        "10.1.2.0/24", "10.0.0.0/8"]


def test_a_dotted_quad_read_without_ipaddress_gets_the_keys_ipaddress_would_give():
    import ipaddress
    import random

    from server.ingest.lookup_values import _supernets

    rng = random.Random(7)
    addresses = ["0.0.0.0", "255.255.255.255", "10.0.0.1", "192.168.1.1", "9.99.199.249"]
    addresses += [".".join(str(rng.randrange(256)) for _ in range(4)) for _ in range(500)]
    for lengths in (None, {"ipv4": frozenset({24})}, {"ipv4": frozenset({8, 16, 32})}):
        stored = None if lengths is None else lengths["ipv4"]
        for text in addresses:
            net = ipaddress.ip_network(text)
            expected = [("ipv4", text, "exact")]
            if stored is None or 32 in stored:
                expected.append(("ipv4", f"{text}/32", "exact"))
            expected += [("ipv4", p, "range") for p in _supernets(*_net_args(net), stored)]
            assert classify(text, lengths) == ("ipv4", expected), text
    # What ipaddress refuses is no address on the quick path either: leading zeros (octal
    # or decimal?), an octet past 255, digits of other scripts, three or five parts.
    for text in ("01.2.3.4", "1.2.3.004", "256.1.1.1", "\u0661.2.3.4", "1.2.3", "1.2.3.4.5"):
        assert classify(text)[0] != "ipv4", text


def test_an_address_is_probed_only_at_the_stored_prefix_lengths():
    _, keys = classify("10.1.2.3", {"ipv4": frozenset({16})})
    assert keys == [("ipv4", "10.1.2.3", "exact"), ("ipv4", "10.1.0.0/16", "range")]
    # Nothing stored in CIDR form: the address alone (its /32 spelling could equal nothing).
    assert classify("10.1.2.3", {})[1] == [("ipv4", "10.1.2.3", "exact")]
    # A looked-up range is always probed as itself.
    assert ("ipv4", "10.1.0.0/16", "exact") in classify("10.1.0.0/16", {})[1]


async def test_a_bulk_lookup_matches_ranges_of_every_stored_length(http, base_url, world,
                                                                  pool):
    n = uuid.uuid4().int
    a, b = 10 + n % 200, n >> 8 & 255
    wide = _pattern_indicator(f"[ipv4-addr:value = '{a}.{b}.0.0/16']",
                              object_marking_refs=[TLP_GREEN])
    narrow = _pattern_indicator(f"[ipv4-addr:value = '{a}.{b}.7.0/24']",
                                object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, wide, narrow)
    stored = {r["bits"] for r in await pool.fetch(
        "SELECT bits FROM lookup_prefix_lengths WHERE kind = 'ipv4'")}
    assert {16, 24} <= stored  # kept at ingest (migration 0025's trigger)
    values = [f"{a}.{b}.{i // 250}.{i % 250 + 1}" for i in range(2000)]  # 0.1 .. 7.250
    results = await _lookup(http, base_url, world.bob.reader, *values, "unknown.example")
    assert [r["value"] for r in results] == [*values, "unknown.example"]
    for value, r in zip(values, results, strict=False):
        ids = {m["id"] for m in r["matches"] if m["match"] == "range"} & {wide["id"],
                                                                          narrow["id"]}
        third = int(value.split(".")[2])
        assert ids == ({wide["id"], narrow["id"]} if third == 7 else {wide["id"]}), value
    assert results[-1]["matches"] == []


async def test_a_range_of_a_length_never_stored_before_is_found_at_once(http, base_url, world,
                                                                       pool):
    # The server keeps the stored prefix lengths in memory (server.intel.prefixes); a
    # range of a new length, stored after that copy was made, must be probed by the very
    # next lookup.
    stored = {r["bits"] for r in await pool.fetch(
        "SELECT bits FROM lookup_prefix_lengths WHERE kind = 'ipv6'")}
    bits = next(b for b in range(121, 20, -1) if b not in stored)
    host = ipaddress.IPv6Address(f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}")
    net = ipaddress.IPv6Network(f"{host}/{bits}", strict=False)
    [before] = await _lookup(http, base_url, world.bob.reader, str(host))  # the copy is made
    range_ = _pattern_indicator(f"[ipv6-addr:value = '{net}']", object_marking_refs=[TLP_GREEN])
    await post(http, base_url, world.collection_id, world.alice.contributor, range_)
    assert range_["id"] not in {m["id"] for m in before["matches"]}
    [after] = await _lookup(http, base_url, world.bob.reader, str(host))
    assert [m["match"] for m in after["matches"] if m["id"] == range_["id"]] == ["range"]
