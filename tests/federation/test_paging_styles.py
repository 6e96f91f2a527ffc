"""A pull against remotes that page in only one of the two TAXII ways, and one that asks to
be left alone: a small TAXII server of another make on loopback (aiohttp, in this process)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.federation.conftest import admin_call, room, served, until
from tests.helpers import TLP_GREEN, indicator

PAGE = 7
TOTAL = 30
_START = datetime(2026, 1, 1, tzinfo=UTC)


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Remote:
    """Collections `header` (added_after + X-TAXII-Date-Added-Last, never `next`),
    `next` (`next` tokens, never the header), `busy` (429, Retry-After: an hour), and
    `forgetful` (hands out `next` tokens with the header, then refuses every token: 400)."""

    def __init__(self) -> None:
        self.objects = [indicator(f"10.77.0.{i}", object_marking_refs=[TLP_GREEN])
                        for i in range(TOTAL)]
        self.added = [_START + timedelta(seconds=i) for i in range(TOTAL)]
        self.requests: dict[str, int] = {"header": 0, "next": 0, "busy": 0, "forgetful": 0}

    async def objects_view(self, request: web.Request) -> web.Response:
        style = request.match_info["collection"]
        self.requests[style] = self.requests.get(style, 0) + 1
        if style == "busy":
            return web.Response(status=429, headers={"Retry-After": "3600"})
        if style == "next":
            start = int(request.query.get("next", "0"))
            page = list(range(start, min(start + PAGE, TOTAL)))
            more = page[-1] + 1 < TOTAL if page else False
            body = {"more": more, "objects": [self.objects[i] for i in page],
                    **({"next": str(page[-1] + 1)} if more else {})}
            return web.Response(body=orjson.dumps(body),
                                content_type="application/taxii+json")
        if style == "forgetful" and "next" in request.query:
            return web.Response(status=400)
        after = request.query.get("added_after")
        floor = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        page = [i for i in range(TOTAL) if floor is None or self.added[i] > floor][:PAGE]
        more = bool(page) and page[-1] + 1 < TOTAL
        headers = {"X-TAXII-Date-Added-Last": _stamp(self.added[page[-1]])} if page else {}
        token = {"next": "only-once"} if style == "forgetful" and more else {}
        return web.Response(body=orjson.dumps({"more": more, **token,
                                               "objects": [self.objects[i] for i in page]}),
                            content_type="application/taxii+json", headers=headers)


@pytest.fixture
async def remote() -> AsyncIterator[tuple[Remote, str]]:
    fake = Remote()
    app = web.Application()
    app.router.add_get("/root/collections/{collection}/objects/", fake.objects_view)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("/root/"))
    await server.close()


async def test_both_paging_styles_and_retry_after(http, west, remote):
    fake, api_root = remote
    name = f"other-make-{uuid.uuid4().hex[:6]}"
    await admin_call(http, west, "POST", "/peers",
                     {"name": name, "url": api_root, "key": "k", "auth": "token"}, 201)
    rooms = {}
    for style in ("header", "next", "busy", "forgetful"):
        rooms[style] = await room(west, f"style-{style}")
        await admin_call(http, west, "POST", f"/peers/{name}/pulls", {
            "remote_collection": style, "into": str(rooms[style].collection_id)}, 201)
    want = {o["id"] for o in fake.objects}

    async def complete(style):
        objects = await served(http, west, rooms[style], **{"match[version]": "all"})
        return objects if {o["id"] for o in objects} == want else None

    # `forgetful`: each refused token sends the pull back to the last page's date, not to
    # the start, so it gets through.
    for style in ("header", "next", "forgetful"):
        got = await until(lambda s=style: complete(s), f"every object, {style} paging")
        assert len(got) == TOTAL  # each once: no page was stored twice
    # Polls go on; the `next`-only remote is re-read from the start, and still each once.
    seen = fake.requests["header"]

    async def polled_again():
        return fake.requests["header"] >= seen + 3

    await until(polled_again, "later polls")
    assert len(await served(http, west, rooms["next"], **{"match[version]": "all"})) == TOTAL
    # The busy remote said to come back in an hour: one request, however many rounds ran.
    assert fake.requests["busy"] == 1
    detail = await admin_call(http, west, "GET", f"/peers/{name}")
    busy = next(p for p in detail["pulls"] if p["remote_collection"] == "busy")
    assert busy["last_error"] == "HTTP 429" and busy["failures"] == 1
