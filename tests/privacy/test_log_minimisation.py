"""Data minimisation: the logs of a run that posts, reads, filters, fails and reviews objects
carry none of the values it posted (an object's content or an observable's value)."""

from __future__ import annotations

import logging
import uuid

import pytest

from server.store import review as review_store
from tests.helpers import auth, envelope, get_json, indicator, objects_url, post

VALUES = ("+44 20 7946 0958", "jane.victim@example.org", "DE89 3704 0044 0532 0130 00",
          "198.51.100.77", "Operation Nightjar secret description")


async def test_no_log_line_carries_a_posted_value(http, base_url, world, pool,
                                                  caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    async with pool.acquire() as conn:
        await review_store.set_group_policy(conn, world.group_id, "hold")
    flagged = indicator(description=f"{VALUES[4]}: victim {VALUES[1]} at {VALUES[0]},"
                                    f" account {VALUES[2]}")
    observable = {"type": "ipv4-addr", "spec_version": "2.1",
                  "id": f"ipv4-addr--{uuid.uuid4()}", "value": VALUES[3]}
    bad = indicator(pattern=f"[ipv4-addr:value = '{VALUES[3]}'", description=VALUES[4])
    await post(http, base_url, world.collection_id, world.alice.contributor,
               flagged, observable, bad)
    url = objects_url(base_url, world.collection_id)
    await get_json(http, url, world.bob.reader, **{"match[id]": observable["id"]})
    await get_json(http, url, world.bob.reader, **{"match[value]": VALUES[3]})
    await get_json(http, url, world.bob.reader, **{"match[type]": VALUES[1]})
    async with http.post(url, data=b'{"objects": [{"type": "' + VALUES[1].encode() + b'"}',
                         headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 400
    async with http.post(url, data=envelope({"type": "indicator", "name": VALUES[4]}),
                         headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 202
    # Accord's own loggers (`accord serve` runs aiohttp without its access log).
    records = [r for r in caplog.records if r.name.startswith("accord")]
    lines = [r.getMessage() + str(r.__dict__) for r in records]
    assert records, "the run logged nothing: the capture is not working"
    leaked = [v for v in VALUES if any(v in line for line in lines)]
    assert not leaked, leaked
