"""Random scripts of posts, new versions, deletions, membership changes and withdrawals,
run over real HTTP; after every step each organisation's view of every collection is
checked against an independent model of who may see what (SECURITY.md's last recipe).

The model below is written from DESIGN.md's four rules, not from `server.policy`, so a
mistake shared by the policy and the SQL predicate still shows up here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.accord_extension import ACCORD_EXTENSION_ID
from schemas.principal import Sector
from schemas.tlp import TLP2_ID_OF, Tlp
from server.store import groups
from tests.factories import Member
from tests.helpers import auth, envelope, indicator, objects_url

ORGS, GROUPS = 4, 2

org = st.integers(0, ORGS - 1)
group = st.integers(0, GROUPS - 1)
ref = st.integers(0, 30)
sectors = st.none() | st.frozensets(st.sampled_from(list(Sector)), min_size=1)
version_of = st.none() | ref
# Mostly valid posts (RED with recipients, others without), some with the two mismatched.
red = st.tuples(st.just("post"), org, group, st.just(Tlp.RED), sectors,
                st.frozensets(org, min_size=1, max_size=2), version_of)
not_red = st.tuples(st.just("post"), org, group,
                    st.sampled_from([t for t in Tlp if t is not Tlp.RED]), sectors,
                    st.just(frozenset()), version_of)
any_post = st.tuples(st.just("post"), org, group, st.sampled_from(list(Tlp)), sectors,
                     st.frozensets(org, max_size=2), version_of)
steps = st.lists(st.one_of(
    red, not_red, not_red, any_post,
    st.tuples(st.just("delete"), org, group, ref),
    st.tuples(st.just("leave"), org, group),
    st.tuples(st.just("join"), org, group),
    st.tuples(st.just("withdraw"), group, ref),
), min_size=3, max_size=12)
scripts = st.fixed_dictionaries({
    "sectors": st.lists(st.sampled_from(list(Sector)), min_size=ORGS, max_size=ORGS),
    "members": st.lists(st.frozensets(org), min_size=GROUPS, max_size=GROUPS),
    "steps": steps,
})


@dataclass
class Version:
    stix_id: str
    modified: str
    group: int
    producer: int
    tlp: Tlp
    sectors: frozenset[Sector] | None
    recipients: frozenset[int]
    withdrawn: bool = False


@dataclass
class Model:
    sectors: list[Sector]
    members: list[set[int]]
    versions: list[Version] = field(default_factory=list)
    # DESIGN.md: ownership of an id's line of versions is per trust group.
    owners: dict[tuple[int, str], int] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    # Withdrawn stays withdrawn: later versions posted to that group's collection too.
    withdrawn: set[tuple[int, str]] = field(default_factory=set)

    def sees(self, reader: int, v: Version) -> bool:
        """DESIGN.md: membership (or producer), TLP, sectors, not withdrawn."""
        if v.withdrawn:
            return False
        if v.producer == reader:
            return True
        return (reader in self.members[v.group]
                and (v.tlp is not Tlp.RED or reader in v.recipients)
                and (v.sectors is None or self.sectors[reader] in v.sectors))

    def view(self, reader: int, g: int) -> set[tuple[str, str]]:
        return {(v.stix_id, v.modified) for v in self.versions
                if v.group == g and self.sees(reader, v)}


class Exchange:
    """The real server, driven the way members drive it."""

    def __init__(self, http, base_url: str, orgs: list[Member], collections: list[uuid.UUID],
                 group_ids: list[uuid.UUID], pool, platform) -> None:
        self.http, self.base_url, self.orgs = http, base_url, orgs
        self.collections, self.group_ids, self.pool, self.platform = (
            collections, group_ids, pool, platform)
        self.clock = 0

    def stamp(self) -> str:
        self.clock += 1
        return f"2026-01-01T00:{self.clock // 60:02d}:{self.clock % 60:02d}.000Z"

    async def post(self, o: int, g: int, obj: dict) -> tuple[int, dict]:
        async with self.http.post(objects_url(self.base_url, self.collections[g]),
                                  data=envelope(obj), headers=auth(self.orgs[o].contributor)) as r:
            return r.status, orjson.loads(await r.read())

    async def delete(self, o: int, g: int, stix_id: str) -> int:
        url = objects_url(self.base_url, self.collections[g], f"{stix_id}/")
        async with self.http.delete(url, headers=auth(self.orgs[o].contributor)) as resp:
            return resp.status

    async def withdraw(self, g: int, stix_id: str) -> int:
        url = (f"{self.base_url}/api/v1/collections/{self.collections[g]}/objects/"
               f"{stix_id}/withdraw")
        async with self.http.post(url, headers={"Authorization":
                                                f"Bearer {self.platform.token}"}) as resp:
            return resp.status

    async def view(self, o: int, g: int, versions: str) -> tuple[int, set[tuple[str, str]]]:
        url = objects_url(self.base_url, self.collections[g])
        params = {"limit": "1000", "match[version]": versions}
        async with self.http.get(url, headers=auth(self.orgs[o].reader), params=params) as r:
            body = orjson.loads(await r.read())
        return r.status, {(x["id"], x["modified"]) for x in body.get("objects", [])}


async def _apply(step: tuple, model: Model, ex: Exchange) -> None:
    kind = step[0]
    if kind == "post":
        _, o, g, tlp, sectors, recipients, version_of = step
        new = version_of is None or not model.ids
        stix_id = f"indicator--{uuid.uuid4()}" if new else model.ids[version_of % len(model.ids)]
        extension = {"extension_type": "property-extension"}
        if sectors:
            extension["releasable_to_sectors"] = sorted(s.value for s in sectors)
        if recipients:
            extension["recipients"] = [ex.orgs[r].identity_id for r in sorted(recipients)]
        obj = indicator(stix_id=stix_id, modified=ex.stamp(),
                        object_marking_refs=[TLP2_ID_OF[tlp]],
                        extensions={ACCORD_EXTENSION_ID: extension})
        status, body = await ex.post(o, g, obj)
        if o not in model.members[g]:
            assert status == 404, body  # a collection one may not read is unknown
            return
        assert status == 202, body
        accepted = ((tlp is Tlp.RED) == bool(recipients)
                    and model.owners.get((g, stix_id), o) == o)
        assert body["success_count"] == int(accepted), (step, body)
        if accepted:
            model.owners.setdefault((g, stix_id), o)
            if new:
                model.ids.append(stix_id)
            model.versions.append(Version(stix_id, obj["modified"], g, o, tlp, sectors,
                                          frozenset(recipients),
                                          withdrawn=(g, stix_id) in model.withdrawn))
    elif kind == "delete":
        _, o, g, r = step
        if not model.ids:
            return
        stix_id = model.ids[r % len(model.ids)]
        status = await ex.delete(o, g, stix_id)
        mine = [v for v in model.versions
                if v.group == g and v.stix_id == stix_id and model.sees(o, v)]
        if o not in model.members[g] or not mine:
            assert status == 404
        elif any(v.producer != o for v in mine):
            assert status == 403
        else:
            assert status == 200
            model.versions = [v for v in model.versions if v not in mine]
    elif kind in ("leave", "join"):
        _, o, g = step
        async with ex.pool.acquire() as conn:
            change = groups.remove_member if kind == "leave" else groups.add_member
            await change(conn, ex.group_ids[g], ex.orgs[o].org_id)
        (model.members[g].discard if kind == "leave" else model.members[g].add)(o)
    elif kind == "withdraw":
        _, g, r = step
        if not model.ids:
            return
        stix_id = model.ids[r % len(model.ids)]
        status = await ex.withdraw(g, stix_id)
        hit = [v for v in model.versions if v.group == g and v.stix_id == stix_id]
        assert status == (200 if hit else 404)
        for v in hit:
            v.withdrawn = True
        if hit:
            model.withdrawn.add((g, stix_id))


async def _check(model: Model, ex: Exchange, after: tuple) -> None:
    for o in range(ORGS):
        for g in range(GROUPS):
            status, every = await ex.view(o, g, "all")
            if o not in model.members[g]:
                assert status == 404, after
                continue
            expected = model.view(o, g)
            assert every == expected, (after, o, g, every ^ expected)
            latest: dict[str, str] = {}
            for stix_id, modified in expected:
                latest[stix_id] = max(modified, latest.get(stix_id, modified))
            _, last = await ex.view(o, g, "last")
            assert last == set(latest.items()), (after, o, g)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(script=scripts)
async def test_every_view_matches_an_independent_model(http, base_url, factory, pool, script):
    orgs = [await factory.member(f"m{n}", s.value) for n, s in enumerate(script["sectors"])]
    group_ids = [await factory.group(*(orgs[o] for o in sorted(members)))
                 for members in script["members"]]
    collections = [await factory.collection(g) for g in group_ids]
    ex = Exchange(http, base_url, orgs, collections, group_ids, pool,
                  await factory.platform_key())
    model = Model(list(script["sectors"]), [set(m) for m in script["members"]])
    for step in script["steps"]:
        await _apply(step, model, ex)
        await _check(model, ex, step)
