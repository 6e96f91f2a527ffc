"""Interop with the real clients: taxii2-client, stix2's TAXII data store, stix2-validator."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import stix2
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Server, as_pages

_VALIDATOR = ValidationOptions(version="2.1", strict=False)


def _assert_valid(objects: list[dict]) -> None:
    for obj in objects:
        result = validate_instance(obj, _VALIDATOR)
        assert result.is_valid, (obj, [str(e) for e in result.errors])


def _taxii2client_tour(base_url: str, key_id: str, secret: str, collection_id: str) -> None:
    server = Server(f"{base_url}/taxii2/", user=key_id, password=secret)
    api_root = server.default
    assert api_root.max_content_length > 0
    [collection] = [c for c in api_root.collections if c.id == collection_id]
    assert collection.can_read and collection.can_write

    indicators = [
        stix2.Indicator(
            pattern=f"[ipv4-addr:value = '198.51.100.{i}']", pattern_type="stix",
            valid_from="2026-01-01T00:00:00Z", name=f"ioc {i}",
        )
        for i in range(30)
    ]
    bundle = stix2.Bundle(objects=indicators)
    envelope = {"objects": orjson.loads(bundle.serialize())["objects"]}
    status = collection.add_objects(envelope, wait_for_completion=True, poll_interval=0.1)
    assert status.status == "complete"
    assert status.success_count == 30 and status.failure_count == 0
    again = api_root.get_status(status.id)
    assert again.total_count == 30

    fetched = []
    for page in as_pages(collection.get_objects, per_request=7):
        fetched.extend(page.get("objects", []))
    assert sorted(o["id"] for o in fetched) == sorted(i.id for i in indicators)
    _assert_valid(fetched)

    manifest_ids = []
    for page in as_pages(collection.get_manifest, per_request=11):
        manifest_ids.extend(r["id"] for r in page.get("objects", []))
        # Accord's producer on each record, which the client accepts and passes on.
        assert all(r["x_accord_producer"] for r in page.get("objects", []))
    assert sorted(manifest_ids) == sorted(i.id for i in indicators)

    first = indicators[0]
    newer = first.new_version(name="ioc 0, revised")
    collection.add_objects({"objects": [orjson.loads(newer.serialize())]})
    versions = collection.object_versions(first.id)["versions"]
    assert len(versions) == 2
    got = collection.get_object(first.id)["objects"]
    assert [o["name"] for o in got] == ["ioc 0, revised"]
    _assert_valid(got)


async def test_taxii2client_full_tour(base_url, world):
    key = world.alice.contributor
    await asyncio.to_thread(
        _taxii2client_tour, base_url, key.key.id, key.secret, str(world.collection_id)
    )


def _stix2_datastore(base_url: str, key_id: str, secret: str, reader: tuple[str, str],
                     collection_id: str) -> None:
    from taxii2client.v21 import Collection

    url = f"{base_url}/taxii2/root/collections/{collection_id}/"
    sink = stix2.TAXIICollectionSink(Collection(url, user=key_id, password=secret))
    malware = stix2.Malware(name=f"dropper-{uuid.uuid4().hex[:6]}", is_family=False)
    indicator = stix2.Indicator(
        pattern="[domain-name:value = 'evil.example']", pattern_type="stix",
        valid_from="2026-01-01T00:00:00Z",
    )
    rel = stix2.Relationship(indicator, "indicates", malware)
    sink.add([malware, indicator, rel])

    source = stix2.TAXIICollectionSource(Collection(url, user=reader[0], password=reader[1]))
    got = source.get(malware.id)
    assert got is not None and got.name == malware.name
    found = source.query([stix2.Filter("type", "=", "relationship")])
    assert [r.id for r in found] == [rel.id]
    related = source.related_to(malware)
    assert {o.id for o in related} >= {indicator.id}


async def test_stix2_taxii_collection_source_and_sink(base_url, world):
    writer, reader = world.alice.contributor, world.bob.reader
    await asyncio.to_thread(
        _stix2_datastore, base_url, writer.key.id, writer.secret,
        (reader.key.id, reader.secret), str(world.collection_id),
    )
