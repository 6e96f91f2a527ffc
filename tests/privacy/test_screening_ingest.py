"""Screening at ingest: the findings of a POSTed envelope are audited by property and reason,
and the audit never repeats the personal data it flags."""

from __future__ import annotations

import orjson

from server.store import audit
from server.store import review as review_store
from tests.helpers import indicator, post


async def test_findings_are_audited_without_the_values(http, base_url, world, pool):
    phone, iban = "+44 20 7946 0958", "DE89 3704 0044 0532 0130 00"
    flagged = indicator(description=f"Victim called from {phone}; paid from {iban}.")
    clean = indicator()
    async with pool.acquire() as conn:  # (unset, a group of mixed sectors holds)
        await review_store.set_group_policy(conn, world.group_id, "pass")
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        flagged, clean)
    assert status["success_count"] == 2, status
    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.alice.org_id, action="object.screened")
    [found] = [f for e in entries for f in e.details["findings"] if f["id"] == flagged["id"]]
    assert found["findings"] == [{"property": "description", "reason": "iban"},
                                 {"property": "description", "reason": "phone-number"}]
    assert not any(f["id"] == clean["id"] for e in entries for f in e.details["findings"])
    text = orjson.dumps([e.details for e in entries]).decode()
    assert phone not in text and iban not in text and "Victim" not in text
