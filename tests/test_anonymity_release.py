"""Withheld attribution holds against an observer in the group (DESIGN.md, issue 10).

Several producers post envelopes that mix credited and withheld objects, in rounds, with a
release tick after each round. A member of the group then reads what any reader reads (the
manifest's date_added and producer, the order of pages, the objects) and tries to pair
each withheld object with its producer, or two withheld objects with each other, by every
relation a reader can see. Each strategy must score within a binomial bound of chance.
"""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

import orjson

from schemas.accord_extension import ACCORD_EXTENSION_ID
from server.store.groups import set_group
from tests.helpers import get_json, indicator, objects_url, post, release_withheld

_PRODUCERS, _ROUNDS, _CREDITED, _WITHHELD = 4, 8, 2, 2
_Z = 4.0  # one-sided: a correct server fails a strategy with probability ~3e-5


def _withheld(value: str) -> dict:
    return indicator(value, extensions={ACCORD_EXTENSION_ID: {
        "extension_type": "property-extension", "attribution": "withheld"}})


def _bound(trials: int, p: float) -> float:
    """The most hits a guesser right with probability `p` plausibly scores."""
    return trials * p + _Z * math.sqrt(trials * p * (1 - p)) + 1


async def _read_as_observer(http, base_url, collection_id, key) -> list[dict]:
    """The manifest in reading order, in small pages (following `next`), as a reader sees it."""
    url = f"{base_url}/taxii2/root/collections/{collection_id}/manifest/"
    params = {"limit": "7"}
    records: list[dict] = []
    for _ in range(200):
        status, page, _ = await get_json(http, url, key, **params)
        assert status == 200, page
        records += page.get("objects", [])
        if not page.get("more"):
            return records
        params = {"limit": "7", "next": page["next"]}
    raise AssertionError("still `more` after 200 pages")


async def test_an_observer_pairs_withheld_objects_no_better_than_chance(
        http, base_url, factory, pool):
    rng = random.Random(20261201)
    producers = [await factory.member(f"p{n}") for n in range(_PRODUCERS)]
    observer = await factory.member("observer")
    group = await factory.group(*producers, observer)
    async with pool.acquire() as conn:
        await set_group(conn, group, {"allow_anonymous": True})
    collection = await factory.collection(group)

    truth: dict[str, str] = {}  # withheld id -> producer name
    for r in range(_ROUNDS):
        this_round: set[str] = set()
        for n in rng.sample(range(_PRODUCERS), _PRODUCERS):
            credited = [indicator(f"10.{n}.{r}.{i}") for i in range(_CREDITED)]
            withheld = [_withheld(f"10.{n}.{r}.{100 + i}") for i in range(_WITHHELD)]
            envelope = credited + withheld
            rng.shuffle(envelope)
            status = await post(http, base_url, collection, producers[n].contributor,
                                *envelope)
            assert status["success_count"] == len(envelope), status
            truth.update({o["id"]: producers[n].name for o in withheld})
            this_round |= {o["id"] for o in withheld}
        # Acknowledged, not served: nothing of the round's withheld objects shows before
        # its release.
        seen = {m["id"] for m in await _read_as_observer(http, base_url, collection,
                                                         observer.reader)}
        assert not seen & this_round
        assert await release_withheld(pool, min_producers=2) >= _PRODUCERS * _WITHHELD

    records = await _read_as_observer(http, base_url, collection, observer.reader)
    records = [m for m in records if m["id"].startswith("indicator--")]
    hidden = [m for m in records if m["x_accord_producer"] == "withheld"]
    assert {m["id"] for m in hidden} == set(truth)
    names = {p.name for p in producers}
    _, body, _ = await get_json(http, objects_url(base_url, collection), observer.reader,
                                limit="1000")
    served = {o["id"]: o for o in body["objects"]}
    for stix_id in truth:
        text = orjson.dumps(served[stix_id]).decode()
        assert not any(name in text for name in names)
        assert not any(p.identity_id in text for p in producers)

    position = {m["id"]: n for n, m in enumerate(records)}
    credited = [m for m in records if m["x_accord_producer"] != "withheld"]

    def nearest_date(w: dict) -> str:
        return min(credited, key=lambda c: abs(_micros(c) - _micros(w)))["x_accord_producer"]

    def previous_in_order(w: dict) -> str:
        before = [c for c in credited if position[c["id"]] < position[w["id"]]]
        return (before[-1] if before else credited[0])["x_accord_producer"]

    def next_in_order(w: dict) -> str:
        after = [c for c in credited if position[c["id"]] > position[w["id"]]]
        return (after[0] if after else credited[-1])["x_accord_producer"]

    def same_rank(w: dict) -> str:
        # Were a batch in posting order, its k-th pair of withheld objects would belong to
        # the producer of the k-th envelope of the credited objects before the batch.
        start = position[w["id"]]
        while start and records[start - 1]["x_accord_producer"] == "withheld":
            start -= 1
        end = start
        while end and records[end - 1]["x_accord_producer"] != "withheld":
            end -= 1
        order = list(dict.fromkeys(m["x_accord_producer"] for m in records[end:start]))
        rank = (position[w["id"]] - start) // _WITHHELD
        if not order:
            return credited[0]["x_accord_producer"]
        return order[min(rank, len(order) - 1)]

    for strategy in (nearest_date, previous_in_order, next_in_order, same_rank):
        hits = sum(strategy(w) == truth[w["id"]] for w in hidden)
        assert hits <= _bound(len(hidden), 1 / _PRODUCERS), (strategy.__name__, hits,
                                                             len(hidden))

    # Two withheld objects next to each other (in order or date_added) are one producer's
    # no more often than two drawn from their batch at random.
    pairs = [(a, b) for a, b in itertools.pairwise(records)
             if a["x_accord_producer"] == b["x_accord_producer"] == "withheld"]
    same = sum(truth[a["id"]] == truth[b["id"]] for a, b in pairs)
    per_batch = _PRODUCERS * _WITHHELD
    chance = (_WITHHELD - 1) / (per_batch - 1)
    assert same <= _bound(len(pairs), chance), (same, len(pairs))

    # A release batch holds withheld objects only: no credited object lies between the
    # first and last date_added of a run of withheld ones.
    runs: list[list[dict]] = []
    for m in records:
        if m["x_accord_producer"] == "withheld":
            if runs and position[runs[-1][-1]["id"]] == position[m["id"]] - 1:
                runs[-1].append(m)
            else:
                runs.append([m])
    assert len(runs) == _ROUNDS
    for run in runs:
        low, high = _micros(run[0]), _micros(run[-1])
        assert not [c for c in credited if low <= _micros(c) <= high]


def _micros(record: dict) -> int:
    """A manifest record's date_added in microseconds since the epoch."""
    when = datetime.fromisoformat(record["date_added"].replace("Z", "+00:00"))
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
