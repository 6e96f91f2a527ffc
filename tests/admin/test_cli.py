"""`accord admin --url --key ...` against the test server, as an admin runs it."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid


async def _accord(base_url: str, token: str | None, *args: str, ok: bool = True) -> str:
    remote = ["--url", base_url] + (["--key", token] if token else [])
    # Not subprocess.run: the test server shares this event loop and must keep answering.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "admin", *remote, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k not in ("ACCORD_URL", "ACCORD_KEY")},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert (proc.returncode == 0) is ok, (out, err)
    return (out if ok else err).decode().strip()


async def test_remote_cli_sets_up_a_group(base_url, factory, world):
    platform = (await factory.platform_key()).token
    suffix = uuid.uuid4().hex[:6]
    ministry, bank = f"Ministry-{suffix}", f"Bank-{suffix}"
    out = await _accord(base_url, platform, "org", "create", ministry, "--sector", "government")
    assert f"created organisation {ministry!r} (government)" in out
    await _accord(base_url, platform, "org", "create", bank, "--sector", "private")
    admin = await _accord(base_url, platform, "key", "create", "--org", ministry,
                          "--role", "org-admin", "--quiet")
    bank_admin = await _accord(base_url, platform, "key", "create", "--org", bank,
                               "--role", "org-admin", "--quiet")
    # The ministry's own org-admin creates and runs the group from here on.
    group = f"gov-finance-{suffix}"
    out = await _accord(base_url, admin, "group", "create", group, "--default-tlp", "green",
                        "--sector", "government", "--sector", "private", "--confidential")
    assert "with 1 member(s)" in out
    assert '"confidential_roster": true' in await _accord(base_url, admin, "group", "show",
                                                          group)
    await _accord(base_url, admin, "group", "invite", group, bank)
    assert group in await _accord(base_url, bank_admin, "invitation", "list")
    assert "accepted" in await _accord(base_url, bank_admin, "invitation", "accept", group)
    members = await _accord(base_url, bank_admin, "group", "members", group)
    assert bank in members and ministry not in members and "confidential" in members
    assert ministry in await _accord(base_url, admin, "group", "members", group)
    coll = await _accord(base_url, admin, "collection", "create", "Fraud IOCs", "--group", group,
                         "--default-tlp", "amber")
    assert uuid.UUID(coll)
    assert '"default_tlp": null' in await _accord(base_url, admin, "collection", "set", coll,
                                                  "--default-tlp", "group")
    assert '"tlp1_markings": true' in await _accord(base_url, admin, "collection", "set", coll,
                                                    "--tlp1-markings")
    assert '"tlp1_markings": false' in await _accord(base_url, admin, "collection", "set", coll,
                                                     "--no-tlp1-markings")
    assert "archived" in await _accord(base_url, admin, "collection", "archive", coll)
    assert "(archived)" in await _accord(base_url, bank_admin, "collection", "list",
                                         "--group", group)
    keys = await _accord(base_url, admin, "key", "list", "--org", ministry)
    key_id = admin.split(".")[0]
    assert key_id in keys and "org-admin" in keys
    assert "removed" in await _accord(base_url, admin, "group", "remove-member", group, bank)
    audit = await _accord(base_url, admin, "audit", "--action", "group.member_removed")
    assert '"group.member_removed"' in audit
    # Errors: the server's message, a non-zero exit; no key at all is refused locally.
    err = await _accord(base_url, bank_admin, "group", "show", group, ok=False)
    assert "404" in err or "no trust group" in err
    err = await _accord(base_url, bank_admin, "org", "create", "x", "--sector", "private",
                        ok=False)
    assert "platform-admin" in err and "403" in err
    assert "--key" in await _accord(base_url, None, "org", "list", ok=False)
    new = await _accord(base_url, admin, "key", "create", "--org", ministry, "--role", "reader",
                        "--quiet")
    assert "revoked" in await _accord(base_url, admin, "key", "revoke", new.split(".")[0])
    assert "401" in await _accord(base_url, new, "org", "list", ok=False)


async def test_remote_cli_withdraws_and_restores_an_object(base_url, factory, world, http):
    from tests.helpers import auth, envelope, indicator, objects_url

    obj = indicator()
    async with http.post(objects_url(base_url, world.collection_id), data=envelope(obj),
                         headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 202
    platform = (await factory.platform_key()).token
    args = (str(world.collection_id), obj["id"])
    out = await _accord(base_url, platform, "object", "withdraw", *args)
    assert out == f"withdrawn 1 version(s) of {obj['id']} in collection {world.collection_id}"
    async with http.get(objects_url(base_url, world.collection_id, f"{obj['id']}/"),
                        headers=auth(world.alice.reader)) as resp:
        assert resp.status == 404
    assert out.replace("withdrawn", "restored") == await _accord(
        base_url, platform, "object", "restore", *args)
    err = await _accord(base_url, world.alice.admin.token, "object", "withdraw", *args, ok=False)
    assert "403" in err or "platform" in err


async def test_remote_cli_erases_an_object_of_its_organisation(base_url, world, http):
    from tests.helpers import auth, envelope, indicator, objects_url

    obj = indicator()
    async with http.post(objects_url(base_url, world.collection_id), data=envelope(obj),
                         headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 202
    args = ("object", "erase", obj["id"], "--reason", "posted by mistake")
    # Another organisation's admin is told what an unknown id gets.
    err = await _accord(base_url, world.bob.admin.token, *args, ok=False)
    assert "404" in err or "no such object" in err
    out = await _accord(base_url, world.alice.admin.token, *args)
    assert out == (f"erased 1 version(s) of {obj['id']}, 0 sighting(s), 0 waiting cop(ies);"
                   f" removed from 1 status(es)")
    async with http.get(objects_url(base_url, world.collection_id, f"{obj['id']}/"),
                        headers=auth(world.alice.reader)) as resp:
        assert resp.status == 404


async def test_remote_cli_takes_the_taxii_url_and_wants_a_scheme(base_url, factory):
    platform = (await factory.platform_key()).token
    assert "Accord" in await _accord(f"{base_url}/taxii2/", platform, "org", "list")
    err = await _accord(base_url.removeprefix("http://"), platform, "org", "list", ok=False)
    assert "has no scheme: give http://" in err


async def test_remote_cli_renames_and_deletes_groups(base_url, factory):
    platform = (await factory.platform_key()).token
    suffix = uuid.uuid4().hex[:6]
    org = f"Org-{suffix}"
    await _accord(base_url, platform, "org", "create", org, "--sector", "government")
    await _accord(base_url, platform, "group", "create", f"old-{suffix}", "--member", org)
    assert f"renamed trust group 'old-{suffix}' to 'new-{suffix}'" in await _accord(
        base_url, platform, "group", "rename", f"old-{suffix}", f"new-{suffix}")
    await _accord(base_url, platform, "collection", "create", "c", "--group", f"new-{suffix}")
    err = await _accord(base_url, platform, "group", "delete", f"new-{suffix}", ok=False)
    assert "1 collection(s)" in err and "--archive" in err
    assert "archived trust group" in await _accord(base_url, platform, "group", "delete",
                                                   f"new-{suffix}", "--archive")
    await _accord(base_url, platform, "group", "create", f"empty-{suffix}")
    assert f"deleted trust group 'empty-{suffix}'" in await _accord(
        base_url, platform, "group", "delete", f"empty-{suffix}")
    assert f"empty-{suffix}" not in await _accord(base_url, platform, "group", "list")
