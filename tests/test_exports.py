"""Blocklist exports: the ETag changes with every cause of a content change (and only the
content tells), an unchanged export answers 304, ?since= answers the change, gzip."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson

from schemas.accord_extension import ACCORD_EXTENSION_ID
from server.store import exports
from tests.feed_helpers import create_feed, json_auth
from tests.helpers import (
    TLP_GREEN,
    TLP_RED,
    auth,
    indicator,
    objects_url,
    post,
    release_withheld,
    stamp,
)
from tests.test_sightings import sighting


class Poller:
    """A firewall polling one feed's export.txt: keeps its ETag and set of values."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, feed_id: str, key) -> None:
        self.http, self.key = http, key
        self.url = f"{base_url}/api/v1/feeds/{feed_id}/export.txt"
        self.etag: str | None = None
        self.values: set[str] = set()

    async def full(self) -> list[str]:
        """GET the whole export; remember its ETag and values."""
        async with self.http.get(self.url, headers=auth(self.key)) as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["X-Accord-Export"] == "full"
            self.etag = resp.headers["ETag"]
            lines = (await resp.text()).splitlines()
        self.values = set(lines)
        return lines

    async def conditional(self) -> int:
        """GET with If-None-Match; the status (and the new state on a 200)."""
        async with self.http.get(self.url, headers=auth(self.key, **{
                "If-None-Match": self.etag or ""})) as resp:
            if resp.status == 200:
                assert resp.headers["ETag"] != self.etag
                self.etag = resp.headers["ETag"]
                self.values = set((await resp.text()).splitlines())
            return resp.status

    async def delta(self) -> tuple[str, list[str]]:
        """GET ?since=<etag>; apply it; (what the server answered, its lines)."""
        assert self.etag
        async with self.http.get(self.url, params={"since": self.etag.strip('"')},
                                 headers=auth(self.key)) as resp:
            assert resp.status == 200, await resp.text()
            kind = resp.headers["X-Accord-Export"]
            lines = (await resp.text()).splitlines()
            self.etag = resp.headers["ETag"]
        if kind == "full":
            self.values = set(lines)
        else:
            for line in lines:
                (self.values.add if line[0] == "+" else self.values.discard)(line[1:])
        return kind, lines

    async def truth(self) -> set[str]:
        """What a fresh full export holds now (without touching the poller's state)."""
        async with self.http.get(self.url, headers=auth(self.key)) as resp:
            return set((await resp.text()).splitlines())


async def _poller(http, base_url, world, **filter_: object) -> Poller:
    spec = {"collections": [str(world.collection_id)], **filter_}
    feed = await create_feed(http, base_url, world.bob.reader, filter=spec)
    return Poller(http, base_url, feed["id"], world.bob.reader)


async def _changed(poller: Poller, expect: set[str]) -> None:
    """The ETag moved and the content with it; a delta from the old ETag gets there too."""
    old_etag, old_values = poller.etag, set(poller.values)
    assert await poller.conditional() == 200
    assert poller.values == expect
    # The same change seen as a delta from the earlier ETag.
    poller.etag, poller.values = old_etag, old_values
    await poller.delta()
    assert poller.values == expect
    assert await poller.conditional() == 304


async def test_unchanged_export_answers_304(http, base_url, world, factory):
    poller = await _poller(http, base_url, world)
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.1"))
    assert await poller.full() == ["198.51.100.1"]
    assert await poller.conditional() == 304
    # A post elsewhere, where this feed does not look, changes nothing here.
    other = await factory.collection(world.group_id)
    await post(http, base_url, other, world.alice.contributor, indicator("198.51.100.99"))
    assert await poller.conditional() == 304
    kind, lines = await poller.delta()
    assert (kind, lines) == ("delta", [])


async def test_new_object_changes_etag_and_content(http, base_url, world):
    poller = await _poller(http, base_url, world)
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.1"))
    await poller.full()
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.2"))
    await _changed(poller, {"198.51.100.1", "198.51.100.2"})


async def test_new_version_replaces_the_old_value(http, base_url, world):
    poller = await _poller(http, base_url, world)
    first = indicator("198.51.100.3")
    await post(http, base_url, world.collection_id, world.alice.contributor, first)
    await poller.full()
    moved = {**first, "modified": "2026-02-01T00:00:00.000Z",
             "pattern": "[ipv4-addr:value = '198.51.100.4']"}
    await post(http, base_url, world.collection_id, world.alice.contributor, moved)
    await _changed(poller, {"198.51.100.4"})


async def test_revocation_removes_the_value(http, base_url, world):
    poller = await _poller(http, base_url, world)
    gone, kept = indicator("198.51.100.5"), indicator("198.51.100.6")
    await post(http, base_url, world.collection_id, world.alice.contributor, gone, kept)
    await poller.full()
    await post(http, base_url, world.collection_id, world.alice.contributor,
               {**gone, "modified": "2026-02-01T00:00:00.000Z", "revoked": True})
    await _changed(poller, {"198.51.100.6"})


async def test_value_kept_while_another_indicator_carries_it(http, base_url, world):
    poller = await _poller(http, base_url, world)
    one, two = indicator("198.51.100.7"), indicator("198.51.100.7")
    await post(http, base_url, world.collection_id, world.alice.contributor, one, two)
    await poller.full()
    await post(http, base_url, world.collection_id, world.alice.contributor,
               {**one, "modified": "2026-02-01T00:00:00.000Z", "revoked": True})
    old = poller.etag
    kind, lines = await poller.delta()
    assert kind == "delta" and "-198.51.100.7" not in lines
    assert poller.values == {"198.51.100.7"} == await poller.truth()
    assert poller.etag != old


async def _moderate(http, base_url, world, stix_id: str, action: str) -> None:
    url = (f"{base_url}/api/v1/collections/{world.collection_id}/objects/{stix_id}/{action}")
    async with http.post(url, data=b"{}", headers=json_auth(world.platform)) as resp:
        assert resp.status == 200, await resp.text()


async def test_withdrawal_and_restore(http, base_url, world):
    poller = await _poller(http, base_url, world)
    ioc = indicator("198.51.100.8")
    await post(http, base_url, world.collection_id, world.alice.contributor, ioc,
               indicator("198.51.100.9"))
    await poller.full()
    await _moderate(http, base_url, world, ioc["id"], "withdraw")
    await _changed(poller, {"198.51.100.9"})
    await _moderate(http, base_url, world, ioc["id"], "restore")
    await _changed(poller, {"198.51.100.8", "198.51.100.9"})


async def test_deletion_removes_the_value(http, base_url, world):
    poller = await _poller(http, base_url, world)
    ioc = indicator("198.51.100.10")
    await post(http, base_url, world.collection_id, world.alice.contributor, ioc,
               indicator("198.51.100.11"))
    await poller.full()
    async with http.delete(objects_url(base_url, world.collection_id, f"{ioc['id']}/"),
                           headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 200, await resp.text()
    await _changed(poller, {"198.51.100.11"})


async def test_expiry_changes_the_export_while_nobody_posts(http, base_url, world):
    poller = await _poller(http, base_url, world)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.12", valid_until=stamp(soon)),
               indicator("198.51.100.13"))
    assert set(await poller.full()) == {"198.51.100.12", "198.51.100.13"}
    assert await poller.conditional() == 304
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.5)
    await _changed(poller, {"198.51.100.13"})


async def test_membership_change_changes_the_export(http, base_url, world):
    poller = await _poller(http, base_url, world)
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.14"))
    await poller.full()
    url = f"{base_url}/api/v1/groups/{world.group_id}/members/{world.bob.org_id}"
    async with http.delete(url, headers=json_auth(world.platform)) as resp:
        assert resp.status == 204, await resp.text()
    old_etag = poller.etag
    assert await poller.conditional() == 200
    assert poller.values == set()
    poller.etag = old_etag
    kind, lines = await poller.delta()
    assert (kind, lines) == ("full", [])  # another basis: never a delta across it


async def test_feed_filter_edit_changes_the_export(http, base_url, world):
    # A new filter replaces the stored one whole: it asks for the (documentation-range,
    # warninglisted) test values again.
    spec = {"collections": [str(world.collection_id)], "include_warninglisted": True}
    feed = await create_feed(http, base_url, world.bob.reader, filter=spec)
    poller = Poller(http, base_url, feed["id"], world.bob.reader)
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.15", confidence=20), indicator("198.51.100.16",
                                                                    confidence=90))
    await poller.full()
    async with http.patch(f"{base_url}/api/v1/feeds/{feed['id']}",
                          data=orjson.dumps({"filter": {**spec, "min_confidence": 50}}),
                          headers=json_auth(world.bob.reader)) as resp:
        assert resp.status == 200, await resp.text()
    assert await poller.conditional() == 200
    assert poller.values == {"198.51.100.16"}


async def test_new_group_membership_changes_the_export(http, base_url, world, factory):
    # A feed over every group: bob joining another group widens what it exports.
    feed = await create_feed(http, base_url, world.bob.reader, filter={"types": ["indicator"]})
    poller = Poller(http, base_url, feed["id"], world.bob.reader)
    other_group = await factory.group(world.alice)
    other = await factory.collection(other_group)
    await post(http, base_url, other, world.alice.contributor, indicator("198.51.100.17"))
    before = set(await poller.full())
    assert "198.51.100.17" not in before
    async with http.post(f"{base_url}/api/v1/groups/{other_group}/members",
                         data=orjson.dumps({"org": str(world.bob.org_id)}),
                         headers=json_auth(world.platform)) as resp:
        assert resp.status == 201, await resp.text()
    assert await poller.conditional() == 200
    assert "198.51.100.17" in poller.values


async def test_delta_tells_nothing_of_what_the_reader_cannot_see(http, base_url, world):
    poller = await _poller(http, base_url, world)
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.18"))
    await poller.full()
    # RED for carol only: bob must learn nothing of it, not even that it went away.
    red = indicator("198.51.100.19", object_marking_refs=[TLP_RED], extensions={
        ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                              "recipients": [world.carol.identity_id]}})
    status = await post(http, base_url, world.collection_id, world.alice.contributor, red)
    assert status["success_count"] == 1, status
    await post(http, base_url, world.collection_id, world.alice.contributor,
               {**red, "modified": "2026-02-01T00:00:00.000Z", "revoked": True})
    await _moderate(http, base_url, world, red["id"], "withdraw")
    kind, lines = await poller.delta()
    assert kind == "delta" and not any("198.51.100.19" in line for line in lines)


async def test_unknown_since_answers_a_full_export(http, base_url, world):
    poller = await _poller(http, base_url, world)
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.20"))
    await poller.full()
    poller.etag = '"0123456789abcdef0123456789abcdef"'
    assert await poller.delta() == ("full", ["198.51.100.20"])
    async with http.get(poller.url.replace(".txt", ".csv"), params={"since": "x"},
                        headers=auth(world.bob.reader)) as resp:
        assert resp.status == 400


async def test_gzip_when_asked(http, base_url, world):
    poller = await _poller(http, base_url, world)
    values = [f"198.51.{i // 250}.{i % 250 + 1}" for i in range(300)]
    await post(http, base_url, world.collection_id, world.alice.contributor,
               *[indicator(v) for v in values])
    async with http.get(poller.url, headers=auth(world.bob.reader, **{
            "Accept-Encoding": "gzip"}), auto_decompress=False) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        body = gzip.decompress(await resp.read()).decode()
    assert sorted(body.splitlines()) == sorted(values)
    for refused in ("identity", "gzip;q=0, identity"):
        async with http.get(poller.url, headers=auth(world.bob.reader, **{
                "Accept-Encoding": refused}), auto_decompress=False) as resp:
            assert "Content-Encoding" not in resp.headers
            assert resp.headers["Vary"] == "Accept-Encoding"
            assert sorted((await resp.text()).splitlines()) == sorted(values)


async def test_a_hidden_later_version_leaves_the_visible_one_exported(http, base_url, world):
    # v2 is RED for carol only: for bob, v1 is still the latest version he may see.
    poller = await _poller(http, base_url, world)
    first = indicator("198.51.100.21")
    await post(http, base_url, world.collection_id, world.alice.contributor, first)
    await poller.full()
    hidden = {**first, "modified": "2026-02-01T00:00:00.000Z",
              "pattern": "[ipv4-addr:value = '198.51.100.22']",
              "object_marking_refs": [TLP_RED], "extensions": {
                  ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                                        "recipients": [world.carol.identity_id]}}}
    status = await post(http, base_url, world.collection_id, world.alice.contributor, hidden)
    assert status["success_count"] == 1, status
    assert await poller.truth() == {"198.51.100.21"}
    kind, lines = await poller.delta()
    assert kind == "delta" and not any("198.51.100.22" in line for line in lines)
    assert poller.values == {"198.51.100.21"}
    carol_feed = await create_feed(http, base_url, world.carol.reader,
                                   filter={"collections": [str(world.collection_id)]})
    carol = Poller(http, base_url, carol_feed["id"], world.carol.reader)
    assert set(await carol.full()) == {"198.51.100.22"}


async def test_an_older_version_posted_late_is_not_exported(http, base_url, world):
    # Versions arrive out of order (a re-sync, a peer): v2 first, then v1. The export and
    # its delta hold v2's value only, never the older one's.
    poller = await _poller(http, base_url, world)
    first = indicator("198.51.100.23")
    later = {**first, "modified": "2026-02-01T00:00:00.000Z",
             "pattern": "[ipv4-addr:value = '198.51.100.24']"}
    await post(http, base_url, world.collection_id, world.alice.contributor, later)
    assert await poller.full() == ["198.51.100.24"]
    status = await post(http, base_url, world.collection_id, world.alice.contributor, first)
    assert status["success_count"] == 1, status
    assert await poller.truth() == {"198.51.100.24"}
    kind, lines = await poller.delta()
    assert kind == "delta" and not any("198.51.100.23" in line for line in lines)
    assert poller.values == {"198.51.100.24"}


async def test_since_an_etag_past_the_window_answers_a_full_export(http, base_url, world, pool):
    # Deletions older than the window are purged: a delta from an ETag that old could miss
    # one, so the answer is the whole export, marked as such.
    poller = await _poller(http, base_url, world)
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.25"))
    await poller.full()
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator("198.51.100.26"))
    async with pool.acquire() as conn:
        await conn.execute("UPDATE export_marks SET created = now() - ($2 + 1) * interval"
                           " '1 day' WHERE etag = $1", poller.etag.strip('"'),
                           exports.MARK_DAYS)
    kind, lines = await poller.delta()
    assert kind == "full"
    assert set(lines) == poller.values == {"198.51.100.25", "198.51.100.26"}


async def test_purge_of_old_deletions_keeps_the_etag(http, base_url, world, pool):
    # Everything in the group happened long ago, two deletions last. The purge forgets the
    # older deletion only: the newest change of the group stays, so the ETag stands.
    poller = await _poller(http, base_url, world)
    one, two = indicator("198.51.100.27"), indicator("198.51.100.28")
    await post(http, base_url, world.collection_id, world.alice.contributor, one, two,
               indicator("198.51.100.29"))
    for ioc in (one, two):
        async with http.delete(objects_url(base_url, world.collection_id, f"{ioc['id']}/"),
                               headers=auth(world.alice.contributor)) as resp:
            assert resp.status == 200, await resp.text()
    age = f"interval '{exports.DELETED_DAYS + 9} days'"
    async with pool.acquire() as conn:
        await conn.execute(f"UPDATE objects SET date_added = date_added - {age}"
                           f" WHERE group_id = $1", world.group_id)
        await conn.execute(f"UPDATE objects_deleted SET deleted_at = deleted_at - {age}"
                           f" WHERE group_id = $1", world.group_id)
    assert await poller.full() == ["198.51.100.29"]
    async with pool.acquire() as conn:
        await exports.purge(conn)
        left = await conn.fetchval("SELECT count(*) FROM objects_deleted WHERE group_id = $1",
                                   world.group_id)
    assert left == 1
    assert await poller.conditional() == 304


async def test_lines_are_the_stored_values_several_to_an_indicator_and_backslashes(
        http, base_url, world, pool):
    # A full export.txt leaves each indicator's values as one COPY row joined by newlines,
    # which COPY escapes, as it does a backslash (a URL may hold one, even before an "n"):
    # every line must be a stored value exactly, in the full export and by kind alike.
    poller = await _poller(http, base_url, world)
    md5, sha1 = "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    hashes = indicator(pattern=f"[file:hashes.MD5 = '{md5}'] OR"
                               f" [file:hashes.'SHA-1' = '{sha1}']")
    urls = [indicator(pattern=f"[url:value = '{u}']") for u in (
        "https://evil.example/a\\\\b", "https://evil.example/a\\\\nb\\\\\\\\")]
    await post(http, base_url, world.collection_id, world.alice.contributor,
               hashes, *urls, indicator("198.51.100.30"))
    async with pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT array_agg(v ORDER BY v) FROM objects, unnest(ioc_values) v"
            " WHERE collection_id = $1", world.collection_id)
    assert {md5, sha1, "https://evil.example/a\\b", "198.51.100.30"} <= set(stored)
    assert "https://evil.example/a\\nb\\\\" in stored
    assert sorted(await poller.full()) == sorted(stored)
    by_kind = []
    for kind in ("url", "md5", "sha1", "ipv4"):
        async with http.get(poller.url, params={"kind": kind},
                            headers=auth(world.bob.reader)) as resp:
            by_kind += (await resp.text()).splitlines()
    assert sorted(by_kind) == sorted(stored)


async def _scored_pair(http, base_url, world) -> tuple[Poller, dict, dict]:
    """A min_score feed's poller holding two fresh confident indicators, fully fetched.

    Not within 10 s of the hour: a min_score ETag names its hour, and a delta asked across
    the hour is answered in full (tested below)."""
    now = datetime.now(UTC)
    if now.minute == 59 and now.second >= 50:
        await asyncio.sleep(61 - now.second)
    poller = await _poller(http, base_url, world, min_score=50)
    kept, misfired = (indicator(f"198.51.100.{n}", confidence=60, valid_from=stamp(),
                                object_marking_refs=[TLP_GREEN]) for n in (61, 62))
    await post(http, base_url, world.collection_id, world.alice.contributor, kept, misfired)
    assert sorted(await poller.full()) == ["198.51.100.61", "198.51.100.62"]
    return poller, kept, misfired


async def test_a_false_positive_reaches_a_min_score_poller_as_a_removal(
        http, base_url, world, pool):
    # The sighting changes no row of the indicator, yet halves its score below the feed's
    # threshold: the ETag moves and the delta says to remove the value.
    poller, _, misfired = await _scored_pair(http, base_url, world)
    await post(http, base_url, world.collection_id, world.carol.contributor,
               sighting(misfired["id"], labels=["false-positive"]))
    await release_withheld(pool)  # sightings are withheld until a release batch
    old_etag = poller.etag
    kind, lines = await poller.delta()
    assert (kind, lines) == ("delta", ["-198.51.100.62"])
    assert poller.values == await poller.truth() == {"198.51.100.61"}
    poller.etag = old_etag
    assert await poller.conditional() == 200


async def _false_positive_deleted(http, base_url, world, pool) -> tuple[Poller, dict]:
    """A scored pair polled after a false positive dropped one value, then that false
    positive deleted by its sighter; (the poller, the deleted sighting)."""
    poller, _, misfired = await _scored_pair(http, base_url, world)
    fp = sighting(misfired["id"], labels=["false-positive"])
    await post(http, base_url, world.collection_id, world.carol.contributor, fp)
    await release_withheld(pool)
    await poller.delta()
    assert poller.values == {"198.51.100.61"}
    async with http.delete(objects_url(base_url, world.collection_id, f"{fp['id']}/"),
                           headers=auth(world.carol.contributor)) as resp:
        assert resp.status == 200, await resp.text()
    return poller, fp


async def test_a_deleted_sighting_moves_its_indicator_back_in_a_min_score_delta(
        http, base_url, world, pool):
    # A deleted sighting keeps naming its indicator (migration 0028): the delta judges that
    # value again, and only it, instead of answering in full.
    poller, _ = await _false_positive_deleted(http, base_url, world, pool)
    kind, lines = await poller.delta()
    assert (kind, lines) == ("delta", ["+198.51.100.62"])
    assert poller.values == {"198.51.100.61", "198.51.100.62"}


async def test_a_sighting_deleted_before_it_named_its_indicator_answers_in_full(
        http, base_url, world, pool):
    # Rows recorded before migration 0028 have no sighting_of_ref: only a full answer is sure.
    poller, fp = await _false_positive_deleted(http, base_url, world, pool)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE objects_deleted SET sighting_of_ref = NULL"
                           " WHERE stix_id = $1", fp["id"])
    kind, lines = await poller.delta()
    assert kind == "full"
    assert set(lines) == poller.values == {"198.51.100.61", "198.51.100.62"}


async def test_a_min_score_since_from_an_earlier_hour_answers_in_full(
        http, base_url, world, pool):
    # Scores decay with time alone; an ETag of an earlier hour was scored at another time.
    poller, _, _ = await _scored_pair(http, base_url, world)
    kind, _ = await poller.delta()
    assert kind == "delta"
    hour = datetime.now(UTC).strftime("%Y-%m-%dT%H")
    async with pool.acquire() as conn:
        await conn.execute("UPDATE export_marks SET basis = replace(basis, $2, 'earlier')"
                           " WHERE etag = $1", poller.etag.strip('"'), hour)
    kind, lines = await poller.delta()
    assert kind == "full"
    assert set(lines) == {"198.51.100.61", "198.51.100.62"}


async def test_a_sighting_in_another_collection_moves_a_min_score_export(
        http, base_url, world, factory, pool):
    # The feed selects one collection; the sighting is stored in another collection of the
    # group (where the sighter posts). It still halves the score the feed applies, so the
    # ETag moves and the delta removes the value.
    poller, _, misfired = await _scored_pair(http, base_url, world)
    elsewhere = await factory.collection(world.group_id)
    await post(http, base_url, elsewhere, world.alice.contributor, misfired)  # its copy there
    await post(http, base_url, elsewhere, world.carol.contributor,
               sighting(misfired["id"], labels=["false-positive"]))
    await release_withheld(pool)
    old_etag = poller.etag
    assert await poller.conditional() == 200
    assert poller.values == {"198.51.100.61"}
    poller.etag, poller.values = old_etag, {"198.51.100.61", "198.51.100.62"}
    kind, lines = await poller.delta()
    assert (kind, lines) == ("delta", ["-198.51.100.62"])
