"""The Accord extension and the reference collection: published, enforced, read-only."""

from __future__ import annotations

import orjson
import pytest

from schemas.accord_extension import ACCORD_EXTENSION_ID, SCHEMA_FILE, schema_text
from schemas.tlp import TLP2_IDS
from tests.helpers import auth, envelope, indicator, objects_url, post


def test_committed_schema_file_is_the_generated_one():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "run: python -m schemas.accord_extension"
    )


async def test_schema_is_served_without_credentials(http, base_url):
    async with http.get(f"{base_url}/api/v1/schemas/accord-extension.json") as resp:
        assert resp.status == 200
        assert orjson.loads(await resp.read())["additionalProperties"] is False


async def _reference_collection(http, base_url, key) -> dict:
    async with http.get(f"{base_url}/taxii2/root/collections/", headers=auth(key)) as resp:
        found = orjson.loads(await resp.read())["collections"]
    [reference] = [c for c in found if c["title"] == "Accord reference"]
    return reference


async def test_every_member_reads_the_reference_definitions_and_none_writes(
    http, base_url, world
):
    reference = await _reference_collection(http, base_url, world.mallory.admin)
    assert reference["can_read"] and not reference["can_write"]
    async with http.get(objects_url(base_url, reference["id"]),
                        headers=auth(world.mallory.reader)) as resp:
        served = {o["id"]: o for o in orjson.loads(await resp.read())["objects"]}
    assert set(TLP2_IDS) <= set(served)
    red = served["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]
    assert red["name"] == "TLP:RED"
    assert red["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"][
        "tlp_2_0"] == "red"
    assert served[ACCORD_EXTENSION_ID]["extension_types"] == ["property-extension"]
    async with http.post(objects_url(base_url, reference["id"]), data=envelope(indicator()),
                         headers=auth(world.mallory.admin)) as resp:
        assert resp.status == 403


@pytest.mark.parametrize("terms", [
    {"attribution": "hidden"},
    {"releasable_to_sectors": ["military"]},
    {"releasable_to_sectors": []},
    {"recipients": ["not-an-identity"]},
    {"surprise": True},
    {"extension_type": "new-sdo"},
], ids=["attribution", "sector", "no-sectors", "recipient-form", "unknown-key", "ext-type"])
async def test_malformed_terms_are_refused_per_object(http, base_url, world, terms):
    bad = indicator(extensions={ACCORD_EXTENSION_ID: {"extension_type": "property-extension",
                                                      **terms}})
    status = await post(http, base_url, world.collection_id, world.alice.contributor,
                        indicator(), bad)
    assert status["success_count"] == 1 and status["failure_count"] == 1
    assert "Accord extension is malformed" in status["failures"][0]["message"]


async def test_default_marking_rewrites_are_audited(http, base_url, world, pool):
    obj = indicator()
    await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    from server.store import audit

    async with pool.acquire() as conn:
        entries = await audit.query(conn, org_id=world.alice.org_id, action="object.remarked")
    assert any(obj["id"] in e.details["ids"] for e in entries)
