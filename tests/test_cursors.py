"""Opaque cursors: next tokens and event ids are sealed, tamper-proof and survive restarts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestServer

from schemas.cursors import CursorCodec
from schemas.taxii import Cursor, QueryError
from server.app import create_app
from server.config import Settings
from tests.helpers import get_json, indicator, objects_url, post

CURSOR = Cursor(datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), 4711)


def test_a_token_opens_to_its_cursor_and_says_nothing():
    codec = CursorCodec(b"k" * 32)
    token = codec.encode(CURSOR)
    assert codec.decode(token) == CURSOR
    # A fresh nonce each time: two tokens of one position cannot be compared or subtracted.
    assert codec.encode(CURSOR) != token
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"4711" not in raw and (4711).to_bytes(8, "big") not in raw


def test_an_altered_or_foreign_token_is_refused():
    codec = CursorCodec(b"k" * 32)
    token = codec.encode(CURSOR)
    for i in range(len(token)):
        altered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        with pytest.raises(QueryError):
            codec.decode(altered)
    with pytest.raises(QueryError):
        CursorCodec(b"j" * 32).decode(token)
    plain = base64.urlsafe_b64encode(b"1767225600000000.5").decode().rstrip("=")
    for forged in (plain, "", "é", token + "A", "A" * 500):
        with pytest.raises(QueryError):
            codec.decode(forged)


async def test_next_tokens_resume_after_a_restart_and_forgeries_are_400(
    http, base_url, world, database_url
):
    objs = [indicator(f"198.51.100.{i}") for i in range(3)]
    await post(http, base_url, world.collection_id, world.alice.contributor, *objs)
    url = objects_url(base_url, world.collection_id)
    status, first, _ = await get_json(http, url, world.bob.reader, limit="1")
    assert status == 200 and first["more"] is True
    token = first["next"]
    # Another process on the same database (or this one after a restart) opens the token.
    other = TestServer(create_app(Settings(), database_url), host="127.0.0.1")
    await other.start_server()
    try:
        other_url = objects_url(str(other.make_url("")).rstrip("/"), world.collection_id)
        status, second, _ = await get_json(http, other_url, world.bob.reader, limit="1",
                                           next=token)
        assert status == 200, second
        assert second["objects"][0]["id"] != first["objects"][0]["id"]
    finally:
        await other.close()
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    status, body, _ = await get_json(http, url, world.bob.reader, next=altered)
    assert status == 400, body
