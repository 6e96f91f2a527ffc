"""Slow indicator-pattern checks run in worker processes, each organisation in its turn."""

from __future__ import annotations

import asyncio
import uuid

from schemas.stix_pattern import pattern_error
from server.ingest.patterns import CHUNK, PatternChecker, sort_patterns
from tests.helpers import auth, indicator, objects_url, post


def _slow(n: int, org: str) -> str:
    """A valid pattern the fast recogniser misses (two levels of parentheses... and more)."""
    return (f"((([ipv4-addr:value = '10.{n % 250}.{n // 250 % 250}.1'] OR"
            f" [domain-name:value = '{org}{n}.example']) AND"
            f" [url:value = 'http://{org}{n}.example/'])) WITHIN 60 SECONDS")


def test_the_workers_answer_as_the_parser_does():
    patterns = [_slow(1, "a"), "[ipv4-addr:value = '1.2.3.4'", "([x:y = 1]) AND ((("]
    slow, fast = sort_patterns([indicator(pattern=p) for p in patterns]
                               + [indicator(pattern="[ipv4-addr:value = '1.2.3.4']")])
    assert slow == patterns and fast == {"[ipv4-addr:value = '1.2.3.4']": None}
    checker = PatternChecker(1)
    try:
        answers = asyncio.run(checker.answers(uuid.uuid4(), slow))
    finally:
        checker.close()
    assert answers == {p: pattern_error(p) for p in patterns}
    assert answers[patterns[0]] is None and answers[patterns[1]] is not None


async def test_a_flooding_organisation_waits_behind_itself():
    checker = PatternChecker(1)
    flooder, other = uuid.uuid4(), uuid.uuid4()
    done: list[str] = []

    async def flood(k: int) -> None:
        for part in range(3):
            base = (k * 3 + part) * CHUNK
            await checker.answers(flooder, [_slow(base + i, "f") for i in range(CHUNK)])
            done.append("flood")

    try:
        await checker.answers(other, [_slow(0, "warm")])  # the worker is up
        floods = [asyncio.create_task(flood(k)) for k in range(4)]
        await asyncio.sleep(0)
        await checker.answers(other, [_slow(i, "o") for i in range(4)])
        done.append("other")
        await asyncio.gather(*floods)
    finally:
        checker.close()
    # Four envelopes of the flooder were in flight, twelve chunks in all: the other
    # organisation's chunk waited for at most the flooder's one chunk in the pool (and the
    # one it had queued), not behind all four envelopes' chunks.
    assert done.index("other") <= 2, done


async def test_posted_slow_patterns_are_judged_as_before(http, base_url, world):
    good = indicator(pattern=_slow(7, "p"))
    bad = indicator(pattern="(([ipv4-addr:value = '1.2.3.4']) AND")
    status = await post(http, base_url, world.collection_id, world.alice.contributor, good, bad)
    assert [s["id"] for s in status["successes"]] == [good["id"]]
    assert [f["id"] for f in status["failures"]] == [bad["id"]]
    assert "not a valid STIX pattern" in status["failures"][0]["message"]
    async with http.get(objects_url(base_url, world.collection_id, f"{good['id']}/"),
                        headers=auth(world.bob.reader)) as resp:
        assert resp.status == 200
