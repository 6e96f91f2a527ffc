"""Federation with a server of another make: medallion, the OASIS reference TAXII server
(memory backend, a child process on loopback), as a peer pulled from and pushed to."""

from __future__ import annotations

import base64
import io
import lzma
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from bench.common import MedallionServer
from tests.federation.conftest import admin_call, room, served, until
from tests.federation.test_crash import _all_versions
from tests.helpers import TLP_AMBER, TLP_GREEN, indicator, post

ICS = Path(__file__).parent.parent / "fixtures" / "attack" / "ics-attack-releases.json.xz"
TAXII = "application/taxii+json;version=2.1"


def ics_release(version: str) -> list[dict]:
    """One ATT&CK for ICS release's objects, rebuilt from the fixture's release changes."""
    current: dict[str, dict] = {}
    for release in orjson.loads(lzma.decompress(ICS.read_bytes()))["releases"]:
        current.update((obj["id"], obj) for obj in release["changed"])
        if release["release"] == version:
            return [current[i] for i in release["order"]]
    raise KeyError(version)


@pytest.fixture
def medallion() -> Iterator[MedallionServer]:
    # One medallion per test: its memory backend answers slowly once it holds several
    # tests' objects, and an earlier test's pull agreement would keep polling it.
    with MedallionServer(max_page_size=200) as server:
        yield server


def _basic(m: MedallionServer) -> dict[str, str]:
    token = base64.b64encode(f"{m.USER}:{m.PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": TAXII, "Content-Type": TAXII}


async def _load(http: aiohttp.ClientSession, m: MedallionServer, objects: list[dict]) -> None:
    for start in range(0, len(objects), 500):
        async with http.post(f"{m.api_root}/collections/{m.collection_id}/objects/",
                             data=io.BytesIO(orjson.dumps({"objects": objects[start:start + 500]})),
                             headers=_basic(m)) as resp:
            assert resp.status == 202, await resp.text()


async def _medallion_objects(http: aiohttp.ClientSession, m: MedallionServer,
                             ids: tuple[str, ...] = ()) -> list[dict]:
    # Asking by id keeps each probe small once the ICS bundle is loaded: paging through
    # all of it on every 0.1 s probe is what made the push test time out under load.
    found: list[dict] = []
    params = {"limit": "200", **({"match[id]": ",".join(ids)} if ids else {})}
    for _ in range(100):
        async with http.get(f"{m.api_root}/collections/{m.collection_id}/objects/",
                            params=params, headers=_basic(m)) as resp:
            body = await resp.json(content_type=None)
        found += body.get("objects", [])
        if not body.get("more"):
            return found
        params = {**params, "next": body["next"]}
    raise AssertionError("too many pages")


async def _medallion_peer(http, west, m: MedallionServer) -> str:
    name = f"medallion-{m.port}"
    async with http.get(f"{west.base}/api/v1/peers/{name}", headers=west.admin()) as resp:
        if resp.status == 200:
            return name
    await admin_call(http, west, "POST", "/peers", {
        "name": name, "url": m.api_root + "/", "auth": "basic",
        "key": f"{m.USER}:{m.PASSWORD}", "sector": "nonprofit"}, 201)
    return name


async def test_pull_pages_through_medallion(http, west, medallion):
    # Three of medallion's 200-object pages.
    posted = [indicator(f"10.9.{i // 256}.{i % 256}", object_marking_refs=[TLP_GREEN])
              for i in range(450)]
    posted.append(indicator("192.0.2.200", object_marking_refs=[TLP_AMBER]))
    await _load(http, medallion, posted)
    name = await _medallion_peer(http, west, medallion)
    local = await room(west, "from-medallion")
    await admin_call(http, west, "POST", f"/peers/{name}/pulls", {
        "remote_collection": medallion.collection_id, "into": str(local.collection_id)}, 201)
    want = {o["id"] for o in posted[:-1]}

    async def arrived():
        objects = await served(http, west, local)
        return objects if want <= {o["id"] for o in objects} else None

    got = await until(arrived, "medallion's GREEN objects")
    assert posted[-1]["id"] not in {o["id"] for o in got}  # AMBER was not agreed


async def test_pull_the_ics_attack_bundle_from_medallion(http, west, medallion):
    bundle = ics_release("18.1")
    await _load(http, medallion, bundle)
    name = await _medallion_peer(http, west, medallion)
    # ATT&CK declares no TLP: it takes the local collection's default, GREEN here.
    local = await room(west, "attack-ics")
    await admin_call(http, west, "PATCH", f"/collections/{local.collection_id}",
                     {"default_tlp": "green"})
    await admin_call(http, west, "POST", f"/peers/{name}/pulls", {
        "remote_collection": medallion.collection_id, "into": str(local.collection_id)}, 201)
    want = {o["id"] for o in bundle}
    have: set[str] = set()

    async def arrived():  # more than one page: follow `next`
        objects = await _all_versions(http, west.base, local.member.reader.token,
                                      str(local.collection_id))
        have.clear()
        have.update(o["id"] for o in objects)
        return objects if want <= have else None

    # A whole ATT&CK release (hundreds of objects, several pages each way) is about 30 s on
    # an idle machine; give it four times the usual wait, still bounded.
    await until(arrived, f"the {len(want)} objects of the ICS ATT&CK bundle", wait_s=120,
                progress=lambda: f"{len(want & have)} of {len(want)} arrived")


async def test_push_to_medallion_withholds_the_author(http, west, medallion):
    name = await _medallion_peer(http, west, medallion)
    local = await room(west, "to-medallion")
    await admin_call(http, west, "POST", f"/peers/{name}/pushes", {
        "collection": str(local.collection_id), "to": medallion.collection_id,
        "attribution": "withheld"}, 201)
    green = indicator("203.0.113.77", object_marking_refs=[TLP_GREEN],
                      created_by_ref=local.member.identity_id)
    amber = indicator("203.0.113.78", object_marking_refs=[TLP_AMBER])
    await post(http, west.base, local.collection_id, local.member.contributor, green, amber)

    async def arrived():
        objects = await _medallion_objects(http, medallion, (green["id"], amber["id"]))
        return objects if green["id"] in {o["id"] for o in objects} else None

    got = await until(arrived, "the GREEN object at medallion")
    assert amber["id"] not in {o["id"] for o in got}
    pushed = next(o for o in got if o["id"] == green["id"])
    assert "created_by_ref" not in pushed and pushed["x_accord_hops"] == 1
    assert local.member.identity_id not in orjson.dumps(got).decode()
