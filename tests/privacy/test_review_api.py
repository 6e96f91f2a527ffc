"""The review queue over HTTP (`/api/v1/review`) and through `accord review`: success,
unauthenticated, forbidden, not found, wrong media type; the group policy set through the
admin API; every decision moves the TAXII status and is audited with who and why."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import orjson

from tests.helpers import get_json, indicator, objects_url, post

PHONE = "+44 20 7946 0958"


async def _call(http, base_url, method, path, key=None, json=None, content_type=None):
    headers = {"Authorization": f"Bearer {key.token}"} if key else {}
    data = None
    if json is not None:
        data = orjson.dumps(json)
        headers["Content-Type"] = content_type or "application/json"
    async with http.request(method, f"{base_url}/api/v1{path}", data=data,
                            headers=headers) as resp:
        raw = await resp.read()
        return resp.status, orjson.loads(raw) if raw else {}


async def _hold(http, base_url, world, manager_key):
    code, body = await _call(http, base_url, "PATCH", f"/groups/{world.group_id}", manager_key,
                             {"policy": {"privacy_policy": "hold"}})
    assert code == 200, body
    assert body["policy"]["privacy_policy"] == "hold"
    flagged = indicator("198.51.100.41", description=f"Victim's phone: {PHONE}")
    status = await post(http, base_url, world.collection_id, world.alice.contributor, flagged)
    assert status["pending_count"] == 1, status
    return flagged, status


async def _status(http, base_url, status, key) -> dict:
    _, body, _ = await get_json(http, f"{base_url}/taxii2/root/status/{status['id']}/", key)
    return body


async def test_review_over_the_api(http, base_url, world, factory):
    platform = await factory.platform_key()
    flagged, status = await _hold(http, base_url, world, platform)
    code, queue = await _call(http, base_url, "GET", "/review", world.alice.admin)
    assert code == 200
    [held] = [h for h in queue["objects"] if h["stix_id"] == flagged["id"]]
    assert held["findings"] == [{"property": "description", "reason": "phone-number"}]
    assert held["status_id"] == status["id"] and PHONE not in orjson.dumps(queue).decode()
    code, shown = await _call(http, base_url, "GET", f"/review/{held['id']}", world.alice.admin)
    assert code == 200 and shown["object"] == flagged
    # Unauthenticated, another producer's admin (not found, as for an unknown id), the
    # producer's contributor (forbidden), an unknown id, a wrong media type, no reason.
    assert (await _call(http, base_url, "GET", "/review"))[0] == 401
    other = await _call(http, base_url, "GET", f"/review/{held['id']}", world.bob.admin)
    unknown = await _call(http, base_url, "GET", f"/review/{uuid.uuid4()}", world.bob.admin)
    assert other[0] == unknown[0] == 404 and other[1]["title"] == unknown[1]["title"]
    assert (await _call(http, base_url, "GET", "/review", world.alice.contributor))[0] == 403
    path = f"/review/{held['id']}/release"
    assert (await _call(http, base_url, "POST", path, world.alice.admin, {"reason": "x"},
                        content_type="text/plain"))[0] == 415
    assert (await _call(http, base_url, "POST", path, world.alice.admin, {}))[0] == 400
    assert (await _call(http, base_url, "POST", f"/review/{held['id']}/approve",
                        world.alice.admin, {"reason": "x"}))[0] == 404
    code, done = await _call(http, base_url, "POST", path, world.alice.admin,
                             {"reason": "the attacker's call centre"})
    assert code == 200 and done["stored_version"] == flagged["modified"], done
    after = await _status(http, base_url, status, world.alice.reader)
    assert after["pending_count"] == 0 and after["success_count"] == 1, after
    code, _, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    assert code == 200
    code, page = await _call(http, base_url, "GET", "/audit?action=review.released",
                             world.alice.admin)
    [entry] = [e for e in page["entries"] if e["subject"] == flagged["id"]]
    assert entry["details"]["reason"] == "the attacker's call centre"
    assert entry["actor_org"] == str(world.alice.org_id)
    assert (await _call(http, base_url, "POST", path, world.alice.admin,
                        {"reason": "again"}))[0] == 404


async def _accord(base_url: str, token: str, *args: str, ok: bool = True) -> str:
    # Not subprocess.run: the test server shares this event loop and must keep answering.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "review", "--url", base_url, "--key", token, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k not in ("ACCORD_URL", "ACCORD_KEY")},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert (proc.returncode == 0) is ok, (out, err)
    return (out if ok else err).decode().strip()


async def test_review_through_the_cli(http, base_url, world, factory):
    platform = await factory.platform_key()
    flagged, status = await _hold(http, base_url, world, platform)
    second = indicator("198.51.100.42", description=f"Call {PHONE} for the victim")
    third = indicator("198.51.100.43", description=f"Victim reachable at {PHONE}")
    later = await post(http, base_url, world.collection_id, world.alice.contributor, second,
                       third)
    admin = world.alice.admin.token
    listing = await _accord(base_url, admin, "list")
    ids = {line.split()[3]: line.split()[0] for line in listing.splitlines()}
    assert {flagged["id"], second["id"], third["id"]} <= ids.keys(), listing
    assert "phone-number in description" in listing and PHONE not in listing
    shown = orjson.loads(await _accord(base_url, admin, "show", ids[flagged["id"]]))
    assert shown["object"]["description"] == flagged["description"]
    out = await _accord(base_url, admin, "release", ids[flagged["id"]], "--reason", "ok")
    assert f"release: stored {flagged['id']}" in out
    out = await _accord(base_url, admin, "redact", ids[second["id"]], "--reason", "victim")
    assert f"redact: stored {second['id']}" in out
    out = await _accord(base_url, admin, "reject", ids[third["id"]], "--reason", "victim data")
    assert "not stored: objects[1]: rejected in privacy review" in out
    err = await _accord(base_url, admin, "reject", ids[third["id"]], "--reason", "again",
                        ok=False)
    assert "no such object in the review queue" in err
    assert (await _status(http, base_url, status, world.alice.reader))["success_count"] == 1
    after = await _status(http, base_url, later, world.alice.reader)
    assert after["success_count"] == 1 and after["failure_count"] == 1, after
    assert after["pending_count"] == 0
    _, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{second['id']}/"), world.bob.reader)
    assert PHONE not in orjson.dumps(body).decode()
    # A reader's key is not a reviewer's.
    err = await _accord(base_url, world.alice.reader.token, "list", ok=False)
    assert "org-admin" in err
