"""Exports a firewall and a spreadsheet can trust: every value re-parsed as its kind."""

from __future__ import annotations

import csv
import io
import logging

import pytest

from schemas.observables import canonical, spreadsheet_safe
from tests.feed_helpers import create_feed
from tests.helpers import auth, indicator, post


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("ipv4", "203.0.113.6", "203.0.113.6"),
    ("ipv4", "203.0.113.0/24", "203.0.113.0/24"),
    ("ipv4", "203.0.113.6; allow all", None),
    ("ipv4", "203.0.113.6\n0.0.0.0/0", None),
    ("ipv4", " 203.0.113.6", None),
    ("ipv4", "0203.0.113.6", None),
    ("ipv4", "2001:db8::1", None),
    ("ipv6", "2001:DB8::1", "2001:db8::1"),
    ("ipv6", "fe80::1%eth0", None),
    ("ipv6", "2001:db8::/32", "2001:db8::/32"),
    ("domain", "Bad.Example", "bad.example"),
    ("domain", "bücher.example", "xn--bcher-kva.example"),
    ("domain", "evil.example\n0.0.0.0/0", None),
    ("domain", "evil.example; allow all", None),
    ("domain", "a..example", None),
    ("domain", "-a.example", None),
    ("domain", "a" * 64 + ".example", None),
    ("url", "https://evil.example/path?q=1", "https://evil.example/path?q=1"),
    ("url", "https://evil.example/\n0.0.0.0/0", None),
    ("url", "https://evil.example/ x", None),
    ("url", "javascript:alert(1)", None),
    ("url", "=HYPERLINK(\"http://x\")", None),
    ("url", "http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
    ("email", "Alice@Evil.Example", "Alice@evil.example"),
    ("email", "a b@evil.example", None),
    ("email", "alice@evil.example\n0.0.0.0/0", None),
    ("md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427", None),
    ("sha256", "z" * 64, None),
    ("sha1", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
     "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("unknown", "x", None),
])
def test_canonical_values(kind, value, expected):
    assert canonical(kind, value) == expected


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_spreadsheet_formulas_are_quoted(cell):
    assert spreadsheet_safe(cell) == "'" + cell


async def test_injected_values_are_left_out_of_exports_and_counted(http, base_url, world,
                                                                   caplog):
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    good = indicator("203.0.113.7")
    bad = [
        indicator(pattern="[ipv4-addr:value = '203.0.113.6; allow all']"),
        indicator(pattern="[domain-name:value = 'evil.example\n0.0.0.0/0']"),
        indicator(pattern="[url:value = 'https://x.example/ a']"),
    ]
    formula = indicator(pattern="[email-addr:value = '=HYPERLINK@evil.example']")
    with caplog.at_level(logging.INFO, logger="accord.ingest"):
        await post(http, base_url, world.collection_id, world.alice.contributor, good, formula,
                   *bad)
    # Ingest keeps only canonical values as blocklist values, and counts what it left out
    # without quoting it (posted values stay out of logs).
    omitted = [r for r in caplog.records if r.getMessage() == "pattern values not exported"]
    assert sorted(r.object for r in omitted) == sorted(b["id"] for b in bad)
    assert all(r.omitted == 1 for r in omitted)
    assert not any("allow all" in r.getMessage() for r in caplog.records)
    base = f"{base_url}/api/v1/feeds/{feed['id']}"
    async with http.get(f"{base}/export.txt", headers=auth(world.bob.reader)) as resp:
        assert resp.status == 200
        assert sorted((await resp.text()).splitlines()) == ["203.0.113.7",
                                                            "=HYPERLINK@evil.example"]
    async with http.get(f"{base}/export.txt", headers=auth(world.bob.reader),
                        params={"kind": "ipv4"}) as resp:
        assert (await resp.text()).splitlines() == ["203.0.113.7"]
    async with http.get(f"{base}/export.csv", headers=auth(world.bob.reader)) as resp:
        rows = list(csv.reader(io.StringIO(await resp.text())))
    values = sorted(row[1] for row in rows[1:])
    assert values == ["'=HYPERLINK@evil.example", "203.0.113.7"]
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


async def test_a_stored_unsafe_value_never_leaves_in_an_export(http, base_url, world, pool):
    # Ingest never stores such a value; were one stored (an old row, a bug), the database
    # keeps it out of every blocklist line.
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    posted = indicator("203.0.113.8")
    await post(http, base_url, world.collection_id, world.alice.contributor, posted,
               indicator("203.0.113.9"))
    async with pool.acquire() as conn:
        await conn.execute("UPDATE objects SET ioc_values = '{\"203.0.113.8; allow all\"}'"
                           " WHERE stix_id = $1", posted["id"])
    base = f"{base_url}/api/v1/feeds/{feed['id']}"
    for fmt in ("txt", "csv"):
        async with http.get(f"{base}/export.{fmt}", headers=auth(world.bob.reader)) as resp:
            text = await resp.text()
        assert "allow all" not in text and "203.0.113.9" in text
