"""Test fixtures: a fresh real PostgreSQL database per session and a real HTTP server.

ACCORD_TEST_DATABASE_URL names a PostgreSQL server to create the session's database on;
without it the embedded PostgreSQL (pgserver) is started in a temporary directory.
Nothing is mocked: requests go over loopback HTTP into the same app `accord serve` runs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.config import Settings
from server.db.embedded import start_embedded
from tests.factories import Factory, World


@pytest.fixture(scope="session")
def admin_dsn() -> str:
    """A PostgreSQL server on which tests may create databases."""
    return os.environ.get("ACCORD_TEST_DATABASE_URL") or start_embedded(
        Path(tempfile.mkdtemp(prefix="accord-test-pg-"))
    )


@contextlib.asynccontextmanager
async def fresh_database(admin_dsn: str) -> AsyncIterator[str]:
    """Create an empty database on the server of admin_dsn; drop it afterwards."""
    name = f"accord_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base, _, query = admin_dsn.partition("?")
        yield f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database_url(admin_dsn: str) -> AsyncIterator[str]:
    """A fresh, empty database for this test session, dropped at the end."""
    async with fresh_database(admin_dsn) as url:
        yield url


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings of the server under test; a small max_content_length to test 413 cheaply."""
    return Settings(
        max_content_length=2 * 1024 * 1024, page_size=100, max_page_size=1000,
        # Short timers so stream and webhook tests finish quickly; loopback receivers.
        heartbeat_s=0.5, webhook_backoff_s=0.05, webhook_allow_private=True,
        body_timeout_s=2.0,
        # Withheld objects are released when a test says so (tests.helpers.release_withheld).
        withheld_release_s=0,
        pattern_workers=1,
    )


@pytest.fixture(scope="session")
async def server(settings: Settings, database_url: str) -> AsyncIterator[TestServer]:
    """The real app on a loopback port, migrations applied as at `accord serve`."""
    test_server = TestServer(create_app(settings, database_url), host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture(scope="session")
async def pool(server: TestServer, database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of our own for arranging rows through the store (never for asserting by SQL)."""
    db_pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield db_pool
    await db_pool.close()


@pytest.fixture(scope="session")
def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="session")
async def factory(pool: asyncpg.Pool) -> Factory:
    return Factory(pool)


@pytest.fixture
async def world(factory: Factory) -> World:
    """A fresh world per test, so tests never see each other's objects."""
    return await factory.world()
