"""`accord` as a user runs it: admin commands, `accord serve`, and kill -9 mid-ingest."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys

import aiohttp
import asyncpg
import orjson

from schemas.accord_extension import ACCORD_EXTENSION_ID
from tests.conftest import fresh_database
from tests.crash_cluster import CrashCluster
from tests.helpers import TAXII, as_served, indicator
from tests.served import Served


def _accord(dsn: str, *args: str) -> str:
    env = {**os.environ, "ACCORD_DATABASE_URL": dsn}
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def _setup_exchange(dsn: str) -> tuple[str, str]:
    """Two organisations, a group, a collection, via the admin commands; return (token, id)."""
    assert _accord(dsn, "migrate") == "database is up to date"  # sets the empty database up
    assert "created organisation 'CERT-A'" in _accord(
        dsn, "admin", "org", "create", "CERT-A", "--sector", "government")
    _accord(dsn, "admin", "org", "create", "Bank-B", "--sector", "private")
    out = _accord(dsn, "admin", "group", "create", "finance", "--member", "CERT-A")
    assert "1 member(s)" in out
    assert "added to" in _accord(dsn, "admin", "group", "add-member", "finance", "Bank-B")
    collection_id = _accord(dsn, "admin", "collection", "create", "Finance IOCs",
                            "--group", "finance")
    assert re.fullmatch(r"[0-9a-f-]{36}", collection_id)
    token = _accord(dsn, "admin", "key", "create", "--org", "CERT-A", "--role", "contributor",
                    "--quiet")
    return token, collection_id


async def test_serve_bootstraps_admin_key_and_admin_commands_work(admin_dsn):
    async with fresh_database(admin_dsn) as dsn:
        token, collection_id = await _setup_exchange(dsn)
        served = Served(dsn, env=_RELEASE_FAST)
        try:
            admin_token = served.admin_token()
            await served.ready(admin_token)
            url = f"{served.url}/taxii2/root/collections/{collection_id}/objects/"
            obj = indicator()
            async with aiohttp.ClientSession() as http:
                headers = {**TAXII, "Authorization": f"Bearer {token}"}
                async with http.post(url, data=orjson.dumps({"objects": [obj]}),
                                     headers=headers) as resp:
                    assert resp.status == 202
                async with http.get(url, headers=headers) as resp:
                    assert (await resp.json(content_type=None))["objects"] == [as_served(obj)]
                key_id = token.split(".")[0]
                assert "revoked" in _accord(dsn, "admin", "key", "revoke", key_id)
                async with http.get(url, headers=headers) as resp:
                    assert resp.status == 401
        finally:
            served.stop()
        # A second start finds the platform already bootstrapped and prints no key.
        again = Served(dsn)
        try:
            await again.ready(admin_token)
        finally:
            assert "token" not in again.stop()


_WITHHELD = {"extensions": {ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                                                   "attribution": "withheld"}}}
# Withheld objects are released every 0.2 s here, whatever the producers, so the restarted
# server serves the ones still queued at the crash within a tick.
_RELEASE_FAST = {"ACCORD_WITHHELD_RELEASE_S": "0.2", "ACCORD_WITHHELD_MIN_PRODUCERS": "1"}


async def _post_until_crash(served: Served, cluster: CrashCluster, token: str,
                            collection_id: str) -> dict[str, dict]:
    """Three posters ingest until the server and its database are SIGKILLed together at a
    random moment; return the objects acknowledged (in a 202 status) before that."""
    headers = {**TAXII, "Authorization": f"Bearer {token}"}
    url = f"{served.url}/taxii2/root/collections/{collection_id}/objects/"
    acknowledged: dict[str, dict] = {}

    async def poster(n: int) -> None:
        async with aiohttp.ClientSession() as http:
            for e in range(500):
                # The third poster withholds attribution: its objects wait in the release
                # queue, acknowledged all the same, and must survive the crash too.
                objs = [indicator(f"10.{n}.{e % 250}.{i}", **(_WITHHELD if n == 2 else {}))
                        for i in range(40)]
                try:
                    async with http.post(url, data=orjson.dumps({"objects": objs}),
                                         headers=headers) as resp:
                        if resp.status != 202:
                            return
                        status = await resp.json(content_type=None)
                except aiohttp.ClientError:
                    return
                ok = {s["id"] for s in status["successes"]}
                acknowledged.update({o["id"]: o for o in objs if o["id"] in ok})

    posters = [asyncio.create_task(poster(n)) for n in range(3)]
    await asyncio.sleep(random.uniform(0.5, 1.5))
    cluster.crash()
    served.kill()
    await asyncio.gather(*posters)
    return acknowledged


async def _read_all(served: Served, token: str, collection_id: str) -> dict[str, bytes]:
    """Every stored version, id -> canonical JSON; fails on an object stored twice."""
    headers = {**TAXII, "Authorization": f"Bearer {token}"}
    url = f"{served.url}/taxii2/root/collections/{collection_id}/objects/"
    seen: dict[str, bytes] = {}
    params = {"limit": "1000", "match[version]": "all"}
    async with aiohttp.ClientSession() as http:
        for _ in range(1000):
            async with http.get(url, headers=headers, params=params) as resp:
                page = orjson.loads(await resp.read())
            for obj in page.get("objects", []):
                assert obj["id"] not in seen, "an object is stored twice"
                seen[obj["id"]] = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
            if not page["more"]:
                return seen
            params = {**params, "next": page["next"]}
    raise AssertionError("still `more` after 1000 pages")


async def _crash_and_recover(*, synchronous_commit: bool) -> tuple[dict[str, dict],
                                                                     dict[str, bytes]]:
    """Ingest into a cluster of its own, kill -9 server and database, restart both;
    return (acknowledged objects, what the restarted server serves)."""
    cluster = CrashCluster()
    try:
        dsn = cluster.start()
        if not synchronous_commit:
            # The control: commits acknowledged before their WAL reaches the disk.
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute("ALTER SYSTEM SET synchronous_commit = off")
                await conn.execute("ALTER SYSTEM SET wal_writer_delay = '10s'")
                await conn.execute("SELECT pg_reload_conf()")
            finally:
                await conn.close()
        token, collection_id = await _setup_exchange(dsn)
        served = Served(dsn, env=_RELEASE_FAST)
        try:
            admin_token = served.admin_token()
            await served.ready(admin_token)
            acknowledged = await _post_until_crash(served, cluster, token, collection_id)
        finally:
            if served.proc.returncode is None:
                served.kill()
        assert acknowledged, "no envelope was acknowledged before the crash"
        assert cluster.start() == dsn
        restarted = Served(dsn, env=_RELEASE_FAST)
        try:
            await restarted.ready(admin_token)
            await asyncio.sleep(1.0)  # a few release ticks
            return acknowledged, await _read_all(restarted, token, collection_id)
        finally:
            restarted.stop()
    finally:
        cluster.close()


async def test_acknowledged_objects_survive_kill_9_of_server_and_database():
    acknowledged, seen = await _crash_and_recover(synchronous_commit=True)
    missing = set(acknowledged) - set(seen)
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged objects lost"
    withheld = 0
    for stix_id, obj in acknowledged.items():
        if "extensions" in obj:  # served under the trust group's identity
            withheld += 1
            served = orjson.loads(seen[stix_id])
            assert served.pop("created_by_ref").startswith("identity--")
            assert served == as_served(obj)
            continue
        assert seen[stix_id] == orjson.dumps(as_served(obj), option=orjson.OPT_SORT_KEYS)
    assert withheld, "no withheld object was acknowledged before the crash"


async def test_the_crash_check_sees_a_loss_when_commits_are_not_durable():
    """Control for the test above: with synchronous_commit off the same check finds
    acknowledged objects missing (a loss is likely, not certain, so up to three tries)."""
    losses = []
    for _ in range(3):
        acknowledged, seen = await _crash_and_recover(synchronous_commit=False)
        losses.append(len(set(acknowledged) - set(seen)))
        if losses[-1]:
            break
    assert any(losses), f"no acknowledged object lost in {len(losses)} crashes: {losses}"


async def test_object_posted_to_one_process_reaches_a_stream_on_another(admin_dsn):
    from tests.feed_helpers import SseReader

    async with fresh_database(admin_dsn) as dsn:
        token, collection_id = await _setup_exchange(dsn)
        reader_token = _accord(dsn, "admin", "key", "create", "--org", "Bank-B", "--role",
                               "reader", "--quiet")
        first = Served(dsn)
        second = None
        try:
            admin_token = first.admin_token()
            await first.ready(admin_token)
            second = Served(dsn)
            await second.ready(admin_token)
            async with aiohttp.ClientSession() as http:
                bearer = {"Authorization": f"Bearer {reader_token}"}
                async with http.post(f"{second.url}/api/v1/feeds", headers=bearer,
                                     json={"name": "all", "filter": {
                                         # indicator() is a documentation address.
                                         "include_warninglisted": True}}) as resp:
                    assert resp.status == 201
                    feed_id = (await resp.json())["id"]
                stream = await http.get(f"{second.url}/api/v1/feeds/{feed_id}/stream",
                                        headers=bearer, timeout=None)
                events = SseReader(stream)
                await asyncio.sleep(0.3)
                obj = indicator()
                async with http.post(
                    f"{first.url}/taxii2/root/collections/{collection_id}/objects/",
                    data=orjson.dumps({"objects": [obj]}),
                    headers={**TAXII, "Authorization": f"Bearer {token}"},
                ) as resp:
                    assert resp.status == 202
                event = await events.next(timeout=10)
                stream.close()
            assert event is not None and event.data["id"] == obj["id"]
        finally:
            first.stop()
            if second is not None:
                second.stop()
