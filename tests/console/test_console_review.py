"""The console's privacy review page over real HTTP: the queue with its findings, the held
object with its personal data marked, decisions with a reason (CSRF like every form), the
authorisation of /api/v1/review (another organisation's admin: 404, a reader: 403)."""

from __future__ import annotations

import html as html_lib

import orjson

from server.console.review import rows
from server.store import audit
from server.store import review as review_store
from tests.helpers import get_json, indicator, objects_url, post

PHONE = "+44 20 7946 0958"


async def _held(world, pool, http, base_url, n: int = 81) -> dict:
    async with pool.acquire() as conn:
        await review_store.set_group_policy(conn, world.group_id, "hold")
    flagged = indicator(f"198.51.100.{n}", description=f"The victim's phone is {PHONE}.")
    status = await post(http, base_url, world.collection_id, world.alice.contributor, flagged)
    assert status["pending_count"] == 1, status
    return flagged


def test_rows_mark_the_spans_of_free_text_and_whole_identifying_values():
    from schemas.admin import ReviewFinding
    obj = {"type": "indicator", "name": "x", "description": f"Call {PHONE} now"}
    [first, *_] = rows(obj, [ReviewFinding(property="description", reason="phone-number")])
    assert first.name == "description"
    assert first.segments == [("Call ", None), (PHONE, "phone-number"), (" now", None)]
    account = {"type": "user-account", "user_id": "jdoe"}
    [row] = [r for r in rows(account, [ReviewFinding(property="user_id",
                                                     reason="user-account")])
             if r.name == "user_id"]
    assert row.segments == [("jdoe", "user-account")]


async def test_review_page_lists_marks_and_decides(world, people, pool, http, base_url):
    flagged = await _held(world, pool, http, base_url)
    ada = await people(world.alice.org_id)
    code, page, _ = await ada.get("/console/review")
    assert code == 200 and flagged["id"] in page and "phone number" in page
    assert PHONE not in page  # the queue shows where and what, not the value
    held_id = page.split('href="/console/review/')[1].split('"')[0]
    code, page, _ = await ada.get(f"/console/review/{held_id}")
    assert code == 200
    assert f'<mark class="finding" title="phone number">{html_lib.escape(PHONE)}</mark>' in page
    # No CSRF token, a forged one: refused, nothing decided.
    assert (await ada.post(f"/console/review/{held_id}",
                           {"decision": "release", "reason": "ok"}, csrf=False))[0] == 403
    assert (await ada.post(f"/console/review/{held_id}", {"decision": "release",
                           "reason": "ok", "csrf": "forged"}, csrf=False))[0] == 403
    assert (await ada.post(f"/console/review/{held_id}", {"decision": "release"},
                           from_page=f"/console/review/{held_id}"))[0] == 400
    # Another organisation's admin: not found, as for an unknown id; a reader: forbidden.
    bo = await people(world.bob.org_id)
    other = await bo.get(f"/console/review/{held_id}")
    unknown = await bo.get("/console/review/00000000-0000-4000-8000-000000000000")
    assert other[0] == unknown[0] == 404
    code, page, _ = await bo.get("/console/review")
    assert code == 200 and flagged["id"] not in page
    assert (await bo.post(f"/console/review/{held_id}", {"decision": "reject",
                          "reason": "x"}, from_page="/console/review"))[0] == 404
    reader = await people(world.alice.org_id, "reader")
    assert (await reader.get("/console/review"))[0] == 403
    code, _, resp = await ada.post(f"/console/review/{held_id}",
                                   {"decision": "redact", "reason": "the victim's number"},
                                   from_page=f"/console/review/{held_id}")
    assert code == 303 and resp.headers["Location"] == "/console/review?done=redact"
    _, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    assert body["objects"] and PHONE not in orjson.dumps(body).decode()
    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.alice.org_id, action="review.redacted")
    [entry] = [e for e in entries if e.subject == flagged["id"]]
    assert entry.details["reason"] == "the victim's number"
    assert (await ada.get(f"/console/review/{held_id}"))[0] == 404  # decided once
