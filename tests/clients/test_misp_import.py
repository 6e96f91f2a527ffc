"""`accord import misp` on real MISP events (misp-stix's own test events, tests/fixtures/misp).

Re-importing stores nothing new; ip-src / ip-dst reach the blocklists; members importing
events of the same MISP creator all succeed (the creator is the author: created_by_ref is
kept as posted, DESIGN.md "Author and producer").
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from clients import misp
from tests import corpora
from tests.clients.conftest import Cli
from tests.clients.test_cli import versions
from tests.feed_helpers import create_feed
from tests.helpers import auth, indicator, post

DATA = Path(__file__).parent / "data"
# misp-stix stamps these with the conversion time (attributes without a timestamp, sighters).
STAMPED = ("get_event_with_named_pipe_attribute", "get_event_with_sightings")


def _write(tmp_path: Path, name: str, event: dict) -> str:
    path = tmp_path / f"{name}.json"
    path.write_bytes(orjson.dumps(event))
    return str(path)


# misp-stix's STIX 1 stack installs a meta-path importer that warns on every later import,
# and pytest makes warnings errors: conversions run in a child process, as the CLI runs them.
_CONVERT = """
import sys, time, copy, orjson
from clients import misp
from tests import corpora
from misp_stix_converter import MISPtoSTIX21Parser
names, withhold = orjson.loads(sys.argv[1]), sys.argv[2] == "1"
events = corpora.misp_events()
out = {}
for name in names or list(events):
    data = orjson.dumps(events[name])
    raw = []
    for _ in range(2 if isinstance(events[name], dict) and "Event" in events[name] else 0):
        parser = MISPtoSTIX21Parser()
        parser.parse_misp_event(copy.deepcopy(events[name]))
        raw.append(orjson.loads(parser.bundle.serialize())["objects"])
        time.sleep(0.005)
    runs = []
    for _ in range(2):
        runs.append(misp.misp_to_stix(data, withhold=withhold))
        time.sleep(0.005)
    out[name] = {"raw": raw, "imported": runs}
sys.stdout.buffer.write(orjson.dumps(out))
"""


def _convert(*names: str, withhold: bool = False) -> dict[str, dict]:
    """Each event converted twice by misp-stix itself (raw) and twice by the importer."""
    done = subprocess.run(
        [sys.executable, "-c", _CONVERT, orjson.dumps(list(names)), "1" if withhold else "0"],
        capture_output=True, check=True, timeout=300, cwd=Path(__file__).parents[2])
    return orjson.loads(done.stdout)


def test_misp_stix_stamps_conversion_time_and_the_importer_does_not():
    """The raw conversion differs run to run; what the importer posts never does."""
    for name in STAMPED:
        runs = _convert(name)[name]
        assert runs["raw"][0] != runs["raw"][1], name  # misp-stix's clock: this can fail
        assert runs["imported"][0] == runs["imported"][1], name


def test_every_misp_stix_test_event_converts_to_the_same_objects_twice():
    converted = _convert()
    assert len(converted) > 100
    assert [n for n, runs in converted.items() if runs["imported"][0] != runs["imported"][1]
            ] == []


def test_conversion_stamps_become_the_event_time_and_org_identities_a_fixed_one():
    event = corpora.misp_events()["get_event_with_sightings"]
    when = misp.event_time(event["Event"])
    assert when == datetime.fromtimestamp(int(event["Event"]["timestamp"]), UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")
    objects = _convert("get_event_with_sightings")["get_event_with_sightings"]["imported"][0]
    creator = f"identity--{event['Event']['Orgc']['uuid']}"
    identities = [o for o in objects if o["type"] == "identity"]
    assert creator in {o["id"] for o in identities}
    assert all(o["created"] == o["modified"] == misp.ORG_IDENTITY_TIME for o in identities)
    # The author's claim is kept: the MISP creator, not the member who imports.
    assert {o.get("created_by_ref") for o in objects if o["type"] == "indicator"} == {creator}
    started = datetime.now(UTC)
    for obj in objects:
        for prop in ("created", "modified"):
            if prop in obj:
                assert datetime.fromisoformat(obj[prop]) < started - timedelta(days=1), obj


def test_withheld_imports_drop_the_misp_organisations():
    event = corpora.misp_events()["get_event_with_sightings"]
    runs = _convert("get_event_with_sightings", withhold=True)["get_event_with_sightings"]
    orgs = {f"identity--{event['Event']['Orgc']['uuid']}"}
    objects = runs["imported"][0]
    assert objects and not [o for o in objects
                            if o["id"] in orgs or o.get("created_by_ref") in orgs]


async def test_reimporting_stamped_events_stores_nothing_new(cli: Cli, world, http, base_url,
                                                             tmp_path):
    coll = str(world.collection_id)
    events = corpora.misp_events()
    files = [_write(tmp_path, name, events[name]) for name in STAMPED]
    done = await cli(world.alice.contributor.token, "import", "misp", *files,
                     "--collection", coll)
    assert done.code == 0, done.err
    stored = await versions(http, base_url, world.bob.reader, coll)
    assert len(stored) > 10
    time.sleep(0.01)
    done = await cli(world.alice.contributor.token, "import", "misp", *files,
                     "--collection", coll, "--restart")
    assert done.code == 0, done.err
    again = await versions(http, base_url, world.bob.reader, coll)
    key = lambda o: (o["id"], o.get("modified", o.get("created", "")))  # noqa: E731
    assert sorted(again, key=key) == sorted(stored, key=key)


def _ip_event(event_uuid: str, timestamp: int, src: str, dst: str) -> dict:
    """A MISP event of the same creator as tests/clients/data/misp_event.json."""
    base = orjson.loads((DATA / "misp_event.json").read_bytes())["Event"]
    attribute = {"category": "Network activity", "to_ids": True, "timestamp": str(timestamp)}
    return {"Event": {
        **{k: base[k] for k in ("Orgc", "analysis", "threat_level_id", "distribution")},
        "uuid": event_uuid, "info": f"C2 addresses {event_uuid[:8]}", "date": "2026-10-02",
        "timestamp": str(timestamp),
        "Attribute": [{**attribute, "uuid": str(uuid.uuid4()), "type": "ip-src", "value": src},
                      {**attribute, "uuid": str(uuid.uuid4()), "type": "ip-dst", "value": dst}],
    }}


async def test_misp_ip_src_and_ip_dst_reach_the_ipv4_blocklist(cli: Cli, world, http,
                                                               base_url, tmp_path):
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    event = _ip_event(str(uuid.uuid4()), 1790000000, "198.51.100.61", "203.0.113.62")
    done = await cli(world.alice.contributor.token, "import", "misp",
                     _write(tmp_path, "ips", event), "--collection", str(world.collection_id))
    assert done.code == 0, done.err
    url = f"{base_url}/api/v1/feeds/{feed['id']}/export.txt"
    async with http.get(url, headers=auth(world.bob.reader), params={"kind": "ipv4"}) as resp:
        assert resp.status == 200
        assert sorted((await resp.text()).splitlines()) == ["198.51.100.61", "203.0.113.62"]


async def test_a_network_traffic_indicator_reaches_the_ipv4_blocklist(http, base_url, world):
    """The facet alone, posted as misp-stix writes it (no MISP conversion involved)."""
    feed = await create_feed(http, base_url, world.bob.reader,
                             filter={"collections": [str(world.collection_id)]})
    pattern = ("[network-traffic:dst_ref.type = 'ipv4-addr' AND"
               " network-traffic:dst_ref.value = '192.0.2.71']")
    port = ("[network-traffic:dst_ref.type = 'ipv4-addr' AND"
            " network-traffic:dst_ref.value = '192.0.2.72' AND network-traffic:dst_port = 443]")
    await post(http, base_url, world.collection_id, world.alice.contributor,
               indicator(pattern=pattern), indicator(pattern=port))
    url = f"{base_url}/api/v1/feeds/{feed['id']}/export.txt"
    async with http.get(url, headers=auth(world.bob.reader), params={"kind": "ipv4"}) as resp:
        assert resp.status == 200
        assert (await resp.text()).splitlines() == ["192.0.2.71"]


async def test_members_importing_events_of_the_same_misp_creator_all_succeed(
        cli: Cli, world, factory, http, base_url, tmp_path):
    # Alice and Bob share a group; Dave is in another. Each imports its own event of the
    # same MISP creator (so the creator's identity is in all three), Bob also Alice's.
    dave = await factory.member("dave")
    dave_coll = await factory.collection(await factory.group(dave))
    alice_event = _ip_event(str(uuid.uuid4()), 1790000000, "198.51.100.81", "203.0.113.82")
    bob_event = _ip_event(str(uuid.uuid4()), 1790086400, "198.51.100.83", "203.0.113.84")
    coll = str(world.collection_id)
    runs = [
        (world.alice.contributor, coll, [alice_event]),
        (world.bob.contributor, coll, [bob_event, alice_event]),
        (dave.contributor, str(dave_coll), [alice_event, bob_event]),
    ]
    for n, (key, collection, events) in enumerate(runs):
        files = [_write(tmp_path, f"run{n}-{i}", e) for i, e in enumerate(events)]
        done = await cli(key.token, "import", "misp", *files, "--collection", collection)
        assert done.code == 0, (n, done.err.splitlines())
    creator = f"identity--{alice_event['Event']['Orgc']['uuid']}"
    for reader, collection in ((world.carol.reader, coll), (dave.reader, str(dave_coll))):
        stored = {o["id"]: o for o in await versions(http, base_url, reader, collection)}
        assert creator in stored
        assert {o.get("created_by_ref") for o in stored.values()
                if o["type"] == "indicator"} == {creator}
