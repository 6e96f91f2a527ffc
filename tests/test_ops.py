"""Operations: probes, metrics, logs without secrets, per-key rate limits (real HTTP)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import aiohttp
import asyncpg
import orjson
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from schemas.taxii import TAXII_MEDIA_TYPE
from server.app import create_app
from server.config import Settings
from server.logs import REDACTED, JsonFormatter, scrub
from server.ops.ratelimit import RateLimiter
from tests.conftest import fresh_database
from tests.factories import World
from tests.feed_helpers import SseReader, create_feed, json_auth
from tests.helpers import auth, envelope, indicator, objects_url

METRICS_TOKEN = "m" * 24


@contextlib.asynccontextmanager
async def served(settings: Settings, dsn: str) -> AsyncIterator[str]:
    """A dedicated app (its own settings) on a loopback port; yields its base URL."""
    test_server = TestServer(create_app(settings, dsn), host="127.0.0.1")
    await test_server.start_server()
    try:
        yield str(test_server.make_url("")).rstrip("/")
    finally:
        await test_server.close()


async def _get(http: aiohttp.ClientSession, url: str, **headers: str
               ) -> tuple[int, dict[str, str], bytes]:
    async with http.get(url, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.read()


@contextlib.contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Every log line the app writes meanwhile, formatted as in production."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Exposition text as {(sample name, sorted labels): value}."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def _scrape(http: aiohttp.ClientSession, base_url: str, world: World) -> dict:
    status, headers, body = await _get(http, f"{base_url}/metrics",
                                       Authorization=f"Bearer {world.platform.token}")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=")
    return _samples(body.decode())


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- probes ---------------------------------------------------------------------------

async def test_healthz_is_public_and_needs_no_database(http, base_url):
    status, headers, body = await _get(http, f"{base_url}/healthz")
    assert status == 200 and orjson.loads(body) == {"status": "ok"}
    assert headers["Content-Type"] == "application/json" and headers["X-Request-ID"]


async def test_readyz_answers_ready_when_database_and_migrations_are(http, base_url):
    status, _, body = await _get(http, f"{base_url}/readyz")
    assert status == 200
    assert orjson.loads(body) == {"status": "ready",
                                  "checks": {"database": "ok", "migrations": "current"}}


async def test_readyz_names_pending_migrations_and_an_unreachable_database(http, admin_dsn):
    async with fresh_database(admin_dsn) as dsn:
        name = dsn.partition("?")[0].rsplit("/", 1)[1]
        async with served(Settings(), dsn) as url:
            conn = await asyncpg.connect(dsn)
            try:
                last = await conn.fetchrow("DELETE FROM schema_migrations WHERE number ="
                                           " (SELECT max(number) FROM schema_migrations)"
                                           " RETURNING number, name")
                status, headers, body = await _get(http, f"{url}/readyz")
                error = orjson.loads(body)
                assert status == 503 and headers["Content-Type"] == "application/json"
                assert error["http_status"] == "503" and error["title"] == "Not ready"
                assert error["error_id"] == headers["X-Request-ID"]
                assert error["details"]["checks"] == {"migrations": {"pending": [last["name"]]}}
                await conn.execute("INSERT INTO schema_migrations (number, name) VALUES ($1, $2)",
                                   last["number"], last["name"])
                assert (await _get(http, f"{url}/readyz"))[0] == 200
            finally:
                await conn.close()

            admin = await asyncpg.connect(admin_dsn)
            try:
                # Cut the app off its database: no new connections, existing ones killed.
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                    " WHERE datname = $1", name)
                # Termination is signalled, not awaited: wait until the backends are gone.
                deadline = time.monotonic() + 15
                while await admin.fetchval("SELECT count(*) FROM pg_stat_activity"
                                           " WHERE datname = $1", name):
                    assert time.monotonic() < deadline, "backends outlived termination"
                    await asyncio.sleep(0.05)
                status, _, body = await _get(http, f"{url}/readyz")
                assert status == 503, body
                assert set(orjson.loads(body)["details"]["checks"]) == {"database"}
                assert dsn not in body.decode()
                assert (await _get(http, f"{url}/healthz"))[0] == 200
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                deadline = time.monotonic() + 15
                while (await _get(http, f"{url}/readyz"))[0] != 200:
                    assert time.monotonic() < deadline, "never ready again"
                    await asyncio.sleep(0.2)
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                await admin.close()


# --- metrics --------------------------------------------------------------------------

async def test_metrics_need_a_platform_admin_key_or_the_metrics_token(
    http, base_url, world, database_url
):
    status, headers, body = await _get(http, f"{base_url}/metrics")
    assert status == 401 and orjson.loads(body)["http_status"] == "401"
    assert headers["Content-Type"] == "application/json"
    status, _, body = await _get(http, f"{base_url}/metrics",
                                 Authorization=f"Bearer {world.alice.admin.token}")
    assert status == 403 and orjson.loads(body)["http_status"] == "403"
    # Without a configured token, a token-shaped guess is just an unknown key.
    status, _, _ = await _get(http, f"{base_url}/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert status == 401

    async with served(Settings(metrics_token=METRICS_TOKEN), database_url) as url:
        status, _, body = await _get(http, f"{url}/metrics",
                                     Authorization=f"Bearer {METRICS_TOKEN}")
        assert status == 200 and b"accord_http_requests_total" in body
        status, _, _ = await _get(http, f"{url}/metrics", Authorization="Bearer " + "x" * 24)
        assert status == 401
        status, _, _ = await _get(http, f"{url}/metrics",
                                  Authorization=f"Bearer {world.platform.token}")
        assert status == 200


async def test_metrics_count_requests_by_route_template_and_ingest_by_outcome(
    http, base_url, world
):
    before = await _scrape(http, base_url, world)
    objects = [indicator("198.51.100.1"), indicator("198.51.100.2"),
               {**indicator("198.51.100.3"), "spec_version": "2.0"}]
    async with http.post(objects_url(base_url, world.collection_id),
                         data=envelope(*objects), headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 202
    await _get(http, objects_url(base_url, world.collection_id, "indicator--nope/"),
               **auth(world.alice.reader))
    await _get(http, f"{base_url}/no/such/{uuid.uuid4()}", **auth(world.alice.reader))
    after = await _scrape(http, base_url, world)

    objects_route = "/taxii2/root/collections/{collection_id}/objects/"
    requests = "accord_http_requests_total"
    assert _value(after, requests, method="POST", route=objects_route, status="202") == \
        _value(before, requests, method="POST", route=objects_route, status="202") + 1
    by_id = objects_route + "{object_id}/"
    assert _value(after, requests, method="GET", route=by_id, status="404") >= 1
    assert _value(after, requests, method="GET", route="unmatched", status="404") >= 1
    # Labels hold templates only: never a raw id (unbounded cardinality).
    labels = {value for (_, pairs) in after for _, value in pairs}
    assert str(world.collection_id) not in "".join(labels)

    ingest = "accord_ingest_objects_total"
    assert _value(after, ingest, outcome="success") - _value(before, ingest, outcome="success") \
        == 2
    assert _value(after, ingest, outcome="failure") - _value(before, ingest, outcome="failure") \
        == 1
    count = "accord_ingest_duration_seconds_count"
    assert _value(after, count) == _value(before, count) + 1
    latency = "accord_http_request_duration_seconds_count"
    assert _value(after, latency, method="POST", route=objects_route) >= 1

    assert _value(after, "accord_db_pool_max_connections") >= 1
    assert _value(after, "accord_db_pool_connections") >= 1
    for state in ("pending", "delivered", "dead"):
        assert ("accord_webhook_deliveries", (("state", state),)) in after


async def test_metrics_count_open_streams_and_their_lag(http, world, database_url):
    # A dedicated app: no stream of another test is open on it, so counts are exact.
    async with served(Settings(heartbeat_s=0.5), database_url) as url:
        feed = await create_feed(http, url, world.bob.reader, filter={"types": ["indicator"]})
        subscribers = "accord_feed_stream_subscribers"
        lag = "accord_feed_stream_lag_seconds_count"
        assert _value(await _scrape(http, url, world), subscribers) == 0
        async with http.get(f"{url}/api/v1/feeds/{feed['id']}/stream",
                            headers=json_auth(world.bob.reader)) as resp:
            assert resp.status == 200
            reader = SseReader(resp)
            async with http.post(objects_url(url, world.collection_id),
                                 data=envelope(indicator("203.0.113.9")),
                                 headers=auth(world.alice.contributor)) as posted:
                assert posted.status == 202
            assert await reader.next() is not None
            during = await _scrape(http, url, world)
            assert _value(during, subscribers) == 1
            assert _value(during, lag) >= 1
            assert _value(during, "accord_http_request_duration_seconds_count", method="GET",
                          route="/api/v1/feeds/{feed_id}/stream") == 0
        deadline = time.monotonic() + 10
        while _value(await _scrape(http, url, world), subscribers) != 0:
            assert time.monotonic() < deadline, "the closed stream is still counted"
            await asyncio.sleep(0.1)


# --- logs -----------------------------------------------------------------------------

async def test_access_log_has_the_request_id_and_never_a_secret(http, base_url, world):
    token = world.alice.reader.token
    secret = world.alice.reader.secret
    query_secret = "q-" + uuid.uuid4().hex
    url = (f"{base_url}/taxii2/root/collections/{world.collection_id}/objects/"
           f"?token={query_secret}&limit=5&access_token={query_secret}")
    with captured_logs() as out:
        status, headers, _ = await _get(http, url, **auth(world.alice.reader))
        basic = "Basic " + base64.b64encode(
            f"{world.alice.reader.key.id}:{secret}".encode()).decode()
        status_basic, headers_basic, _ = await _get(http, f"{base_url}/taxii2/",
                                                    Authorization=basic, Accept=TAXII_MEDIA_TYPE)
    # (The TAXII endpoint may refuse the unknown parameters: the line is what matters.)
    assert status in (200, 400) and status_basic == 200
    text = out.getvalue()
    for leaked in (token, secret, query_secret, basic.split()[1]):
        assert leaked not in text
    # Other requests (a stream of an earlier test ending) may log meanwhile: pick ours.
    ours = {headers["X-Request-ID"], headers_basic["X-Request-ID"]}
    lines = [orjson.loads(line) for line in text.splitlines()]
    access = {line["request_id"]: line for line in lines
              if line["msg"] == "request" and line["request_id"] in ours}
    assert set(access) == ours
    assert all(line["request_id"] != "-" for line in lines if line["logger"] == "accord.http")
    first = access[headers["X-Request-ID"]]
    assert first["route"] == "/taxii2/root/collections/{collection_id}/objects/"
    assert first["query"] == f"token={REDACTED}&limit=5&access_token={REDACTED}"
    assert first["key"] == world.alice.reader.key.id and first["status"] == status


def test_log_lines_scrub_secrets_from_messages_fields_and_tracebacks():
    token = "ak_0123456789abcdef." + "s" * 43
    record = logging.LogRecord("accord.test", logging.ERROR, __file__, 1,
                               "failed with Authorization: Bearer %s", (token,), None)
    record.fields = {"url": "https://siem.example/hook?sig=abc123&x=1",  # type: ignore[attr-defined]
                     "dsn": "postgresql://accord:hunter2@db:5432/accord",
                     "nested": {"header": "Basic dXNlcjpwYXNz"}}
    try:
        raise RuntimeError(f"token {token} refused")
    except RuntimeError:
        import sys
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    for leaked in ("s" * 43, "abc123", "hunter2", "dXNlcjpwYXNz"):
        assert leaked not in line
    event = orjson.loads(line)
    assert event["url"] == f"https://siem.example/hook?sig={REDACTED}&x=1"
    assert event["dsn"] == f"postgresql://accord:{REDACTED}@db:5432/accord"
    assert "ak_0123456789abcdef." in event["exc"]  # the key id is kept: it names the key
    assert scrub("match[type]=indicator&added_after=x") == "match[type]=indicator&added_after=x"


@pytest.mark.parametrize("text", [
    "GET /x?\u017fession=abc123", "?pa\u017f\u017fword=abc123", "?\u017fig=abc123",
    "?credent\u0131al=abc123", "?api_\u212aey=abc123", "Ba\u017fic abc123",
    "bas\u0130c abc123", "BEARER abc123",
])
def test_scrubbing_sees_the_letters_case_folding_turns_into_ascii(text):
    # Each expression runs only when a cheap test of the lowered text says it could match;
    # under (?i) these letters match ASCII ones, so the test must see them too.
    assert "abc123" not in scrub(text) and REDACTED in scrub(text)


def test_log_level_comes_from_settings():
    assert Settings.from_env({"ACCORD_LOG_LEVEL": "debug"}).log_level == "DEBUG"
    with pytest.raises(ValidationError):
        Settings.from_env({"ACCORD_LOG_LEVEL": "chatty"})
    accord = logging.getLogger("accord")
    previous = accord.level
    try:
        create_app(Settings(log_level="WARNING"))
        assert not logging.getLogger("accord.http").isEnabledFor(logging.INFO)
    finally:
        accord.setLevel(previous)


# --- rate limits ----------------------------------------------------------------------

async def test_rate_limit_answers_429_with_retry_after_then_lets_the_key_through(
    http, world, database_url
):
    settings = Settings(rate_limit_per_s=2, rate_limit_burst=3)
    async with served(settings, database_url) as url:
        alice = auth(world.alice.reader)
        for _ in range(3):
            assert (await _get(http, f"{url}/taxii2/", **alice))[0] == 200
        status, headers, body = await _get(http, f"{url}/taxii2/", **alice)
        assert status == 429 and headers["Retry-After"] == "1"
        assert headers["Content-Type"] == TAXII_MEDIA_TYPE
        error = orjson.loads(body)
        assert error["http_status"] == "429" and error["error_id"] == headers["X-Request-ID"]
        # Another key has its own bucket; the probes are never limited.
        assert (await _get(http, f"{url}/taxii2/", **auth(world.bob.reader)))[0] == 200
        for _ in range(10):
            assert (await _get(http, f"{url}/healthz"))[0] == 200
            assert (await _get(http, f"{url}/readyz"))[0] == 200
        await asyncio.sleep(int(headers["Retry-After"]))
        assert (await _get(http, f"{url}/taxii2/", **alice))[0] == 200


def test_token_bucket_refills_at_the_configured_rate():
    now = [100.0]
    limiter = RateLimiter(per_s=4, burst=2, clock=lambda: now[0])
    assert limiter.delay("k") == 0 and limiter.delay("k") == 0
    assert limiter.delay("k") == pytest.approx(0.25)
    assert limiter.delay("other") == 0
    now[0] += 0.25
    assert limiter.delay("k") == 0
    now[0] += 10  # idle: the bucket fills up to the burst, no further
    assert [limiter.delay("k") for _ in range(3)][:2] == [0, 0]
    assert RateLimiter.from_settings(Settings()) is None
    assert RateLimiter.from_settings(Settings(rate_limit_per_s=2.5)).burst == 3
