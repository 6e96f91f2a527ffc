"""The SQL visibility predicate and `policy.can_see` agree on every generated pair.

Hypothesis draws organisations' sectors, trust-group memberships, and object versions with
TLP levels, sector limits, recipients, producers and withdrawals; each version is stored
through the real store and read back through the real predicate for every reader.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.principal import Principal, Role, Sector
from schemas.tlp import Tlp
from server import policy
from server.store import collections, groups, orgs
from server.store import objects as object_store
from server.store.objects import StagedObject

ORGS = 6
GROUPS = 3
PAIRS_WANTED = 10_000
_pairs_checked = {"n": 0}

sectors = st.sampled_from(list(Sector))
objects = st.fixed_dictionaries({
    "group": st.integers(0, GROUPS - 1),
    "producer": st.integers(0, ORGS - 1),
    "tlp": st.sampled_from(list(Tlp)),
    "sectors": st.none() | st.frozensets(sectors, min_size=1),
    "recipients": st.frozensets(st.integers(0, ORGS - 1)),
    "withdrawn": st.booleans(),
})
worlds = st.fixed_dictionaries({
    "sectors": st.lists(sectors, min_size=ORGS, max_size=ORGS),
    "members": st.lists(st.frozensets(st.integers(0, GROUPS - 1)), min_size=ORGS,
                        max_size=ORGS),
    "admin": st.integers(0, ORGS - 1),
    "objects": st.lists(objects, min_size=10, max_size=40),
})


async def _check(dsn: str, world: dict) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            made = [await orgs.create_org(conn, f"d-{uuid.uuid4().hex[:10]}", s.value)
                    for s in world["sectors"]]
            group_ids = []
            for g in range(GROUPS):
                members = [made[o].id for o in range(ORGS) if g in world["members"][o]]
                group_ids.append((await groups.create_group(
                    conn, f"dg-{uuid.uuid4().hex[:10]}", members)).id)
            colls = [await collections.create_collection(conn, g, "diff") for g in group_ids]
            staged, models = [], []
            for i, o in enumerate(world["objects"]):
                model = policy.StoredObject(
                    group_id=group_ids[o["group"]],
                    producer_org=made[o["producer"]].id,
                    tlp=o["tlp"],
                    sectors=o["sectors"],
                    recipients=frozenset(made[r].id for r in o["recipients"]),
                    withdrawn=o["withdrawn"],
                )
                models.append((o["group"], model))
                staged.append((o["group"], StagedObject(
                    f"indicator--{uuid.uuid4()}", "indicator", "2.1", None, None, f'{{"n":{i}}}',
                    model.producer_org, model.tlp.value,
                    sorted(model.sectors) if model.sectors else None,
                    sorted(model.recipients),
                )))
            seqs: list[int | None] = [None] * len(staged)
            for g in range(GROUPS):
                mine = [i for i, (grp, _) in enumerate(staged) if grp == g]
                if not mine:
                    continue
                await object_store.store_envelope(
                    conn, colls[g], group_ids[g], [staged[i][1] for i in mine]
                )
                by_id = dict(await conn.fetch(
                    "SELECT stix_id, seq FROM objects WHERE collection_id = $1", colls[g]))
                for i in mine:
                    seqs[i] = by_id[staged[i][1].stix_id]
            # Each object has one version, so withdrawing the object withdraws that version.
            for (g, obj), (_, model) in zip(staged, models, strict=True):
                if model.withdrawn:
                    await object_store.withdraw_object(conn, colls[g], obj.stix_id, True)
            # Bodies are distinct ({"n": i}): what the predicate returns names the version.
            seq_of = {obj.body: seq for (_, obj), seq in zip(staged, seqs, strict=True)}

            pairs = 0
            for r, org in enumerate(made):
                for role in (Role.READER, Role.PLATFORM_ADMIN) if r == world["admin"] else (
                        Role.READER,):
                    principal = Principal("k", org.id, org.name, Sector(org.sector), role)
                    reader = policy.Reader(
                        org.id, Sector(org.sector),
                        frozenset(group_ids[g] for g in world["members"][r]),
                        platform_admin=role is Role.PLATFORM_ADMIN,
                    )
                    seen = {seq_of[body] for body in
                            await object_store.bodies_visible(conn, principal, seqs)}
                    for seq, (_, model) in zip(seqs, models, strict=True):
                        assert (seq in seen) == policy.can_see(reader, model), (
                            f"SQL and policy disagree: reader={reader} object={model}"
                        )
                        pairs += 1
            # Roll back: each example starts from the same empty slate and leaves nothing.
            raise _Rollback(pairs)
    except _Rollback as done:
        return done.pairs
    finally:
        await conn.close()


class _Rollback(Exception):
    def __init__(self, pairs: int) -> None:
        self.pairs = pairs


@pytest.fixture(scope="module")
def dsn(server, database_url: str) -> str:
    """The session database, migrated by the server fixture."""
    return database_url


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(world=worlds)
def test_sql_predicate_agrees_with_policy(dsn, world):
    _pairs_checked["n"] += asyncio.run(_check(dsn, world))


def test_enough_pairs_were_compared():
    # Runs after the property test in file order; guards against a vacuous run.
    assert _pairs_checked["n"] >= PAIRS_WANTED, _pairs_checked["n"]
