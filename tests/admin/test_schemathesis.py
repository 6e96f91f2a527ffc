"""Schemathesis over the JSON API's OpenAPI document: every check, 0 5xx, 0 schema violations.

It runs the `st` command line against a server of its own on a throw-away database (the
operations it calls create organisations, groups and keys), with a platform-admin key and a
fixed seed and example count, so that a run is repeatable and bounded in time.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from schemas.principal import Role
from server.app import create_app
from server.config import Settings
from server.store import keys, orgs
from server.store.records import NewApiKey
from tests.conftest import fresh_database

_ST = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
_CONFIG = Path(__file__).with_name("schemathesis.toml")
# Examples per operation in the fuzzing phase (the coverage phase adds its own boundary
# cases): about 1,200 requests, 60-90 s on a loaded 2-core machine.
MAX_EXAMPLES = 2


@pytest.fixture(scope="module")
async def fuzzed(admin_dsn: str) -> AsyncIterator[tuple[str, NewApiKey]]:
    async with fresh_database(admin_dsn) as url:
        settings = Settings(webhook_allow_private=False, body_timeout_s=2.0, log_level="WARNING")
        server = TestServer(create_app(settings, url), host="127.0.0.1")
        await server.start_server()
        conn = await asyncpg.connect(url)
        try:
            platform = await orgs.platform_org(conn)
            key = await keys.create_key(conn, platform.id, Role.PLATFORM_ADMIN)
        finally:
            await conn.close()
        try:
            yield str(server.make_url("")).rstrip("/"), key
        finally:
            await server.close()


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(fuzzed, tmp_path):
    base_url, key = fuzzed
    proc = await asyncio.create_subprocess_exec(
        _ST, "--config-file", str(_CONFIG), "run", f"{base_url}/api/v1/openapi.json",
        "--url", base_url,
        "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", "10",
        "--phases", "examples,coverage,fuzzing", "--continue-on-failure",
        # One worker: with two threads, CPython 3.11.7 can fail schemathesis' own schema
        # compilation ("AST constructor recursion depth mismatch", CPython gh-106905).
        "--request-timeout", "20", "--workers", "1",
        "-H", f"Authorization: Bearer {key.token}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 600)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-30000:]
