"""kill -9 of the pulling exchange mid-sync: on restart it resumes from the cursor committed
with the last stored page, so every remote object ends up stored exactly once."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import aiohttp

from tests.conftest import fresh_database
from tests.federation.conftest import admit, room
from tests.helpers import TLP_GREEN, envelope, indicator
from tests.served import Served

TOTAL = 3000


def _accord(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def _all_versions(http: aiohttp.ClientSession, url: str, token: str,
                        collection: str) -> list[dict]:
    """Every stored version of the collection, paged with `next`."""
    found: list[dict] = []
    params = {"limit": "1000", "match[version]": "all"}
    headers = {"Authorization": f"Bearer {token}",
               "Accept": "application/taxii+json;version=2.1"}
    for _ in range(100):
        async with http.get(f"{url}/taxii2/root/collections/{collection}/objects/",
                            params=params, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json(content_type=None)
        found += body.get("objects", [])
        if not body.get("more"):
            return found
        params = {"limit": "1000", "match[version]": "all", "next": body["next"]}
    raise AssertionError("too many pages")


class _Puller:
    """`accord serve` processes on one database, pulling from a remote with small pages."""

    def __init__(self, dsn: str) -> None:
        self.env = {**os.environ, "ACCORD_DATABASE_URL": dsn, "ACCORD_FEDERATION_BATCH": "50",
                    "ACCORD_FEDERATION_POLL_S": "0.2", "ACCORD_WEBHOOK_ALLOW_PRIVATE": "true"}

    def start(self) -> Served:
        saved = dict(os.environ)
        os.environ.update(self.env)  # Served passes its own environment on to the child
        try:
            return Served(self.env["ACCORD_DATABASE_URL"])
        finally:
            os.environ.clear()
            os.environ.update(saved)


async def test_kill_9_mid_sync_loses_and_duplicates_nothing(http, admin_dsn, east):
    source = await room(east, "cert-bulk")
    puller = await east.factory.member("bulk-puller")
    await admit(east, source.group_id, puller.org_id)
    posted = [indicator(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                        object_marking_refs=[TLP_GREEN]) for i in range(TOTAL)]
    for start in range(0, TOTAL, 500):
        async with http.post(f"{east.base}/taxii2/root/collections/{source.collection_id}"
                             f"/objects/", data=envelope(*posted[start:start + 500]),
                             headers={"Authorization": f"Bearer {source.member.contributor.token}",
                                      "Content-Type": "application/taxii+json;version=2.1",
                                      "Accept": "application/taxii+json;version=2.1"}) as resp:
            assert resp.status == 202

    async with fresh_database(admin_dsn) as dsn:
        pulling = _Puller(dsn)
        served = pulling.start()
        token = served.admin_token()
        await served.ready(token)
        env = pulling.env
        _accord(env, "admin", "group", "create", "inbound")
        local = _accord(env, "admin", "collection", "create", "From the CERT", "--group",
                        "inbound")
        assert re.fullmatch(r"[0-9a-f-]{36}", local)
        _accord(env, "admin", "peer", "add", "cert", "--url", east.api_root, "--key",
                puller.reader.token, "--sector", "government")
        assert "CLEAR and GREEN" in _accord(env, "admin", "peer", "pull", "cert",
                                            str(source.collection_id), "--into", local)
        # Kill it as soon as part of the remote collection has arrived.
        deadline = time.monotonic() + 60
        seen = 0
        while seen == 0 and time.monotonic() < deadline:
            seen = len(await _all_versions(http, served.url, token, local))
            await asyncio.sleep(0.02)
        served.kill()
        assert 0 < seen < TOTAL, f"the kill came at {seen} of {TOTAL}: not mid-sync"

        served = pulling.start()
        await served.ready(token)
        try:
            deadline = time.monotonic() + 120
            stored: list[dict] = []
            while time.monotonic() < deadline:
                stored = await _all_versions(http, served.url, token, local)
                if len(stored) >= TOTAL:
                    await asyncio.sleep(1.0)  # a duplicate, if any, would come now
                    stored = await _all_versions(http, served.url, token, local)
                    break
                await asyncio.sleep(0.2)
        finally:
            served.stop()
    ids = [o["id"] for o in stored]
    assert len(ids) == TOTAL and set(ids) == {o["id"] for o in posted}
    by_id = {o["id"]: o for o in stored}
    for original in posted[:50]:
        assert by_id[original["id"]]["pattern"] == original["pattern"]
