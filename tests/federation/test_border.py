"""What may cross to a peer and how it is shaped: the push rules, case by case (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from server.federation.push import Border, crosses, shaped
from server.store.peers import Peer, Push, PushRow

MEMBER_ORG, OTHER_PEER_ORG = uuid.uuid4(), uuid.uuid4()
MEMBER_ID, GROUP_ID, EXCHANGE_ID = (f"identity--{uuid.uuid4()}" for _ in range(3))


def _peer(org: uuid.UUID, *, onward: bool = False, hop_limit: int = 2) -> Peer:
    return Peer(uuid.uuid4(), f"peer-{org}", org, "https://p/", "bearer", "k", None, None,
                hop_limit, onward, False, datetime.now(UTC), "nonprofit",
                f"identity--{uuid.uuid4()}")


TARGET = _peer(uuid.uuid4())


def _push(tlp_max: str = "green", sectors: list[str] | None = None,
          attribution: str = "producer") -> Push:
    return Push(uuid.uuid4(), TARGET.id, uuid.uuid4(), None, "remote", tlp_max, sectors,
                attribution, 0)


def _row(tlp: str = "green", *, producer: uuid.UUID = MEMBER_ORG, withheld: bool = False,
         sectors: list[str] | None = None, **body: object) -> PushRow:
    obj = {"type": "indicator", "id": f"indicator--{uuid.uuid4()}", **body}
    return PushRow(1, orjson.dumps(obj).decode(), tlp, sectors, producer, withheld)


def _border(*peers: Peer) -> Border:
    return Border({p.org_id: p for p in (*peers, TARGET)}, {MEMBER_ID, GROUP_ID}, EXCHANGE_ID,
                  {MEMBER_ORG: MEMBER_ID})


@pytest.mark.parametrize(("tlp", "ceiling", "expected"), [
    ("clear", "green", True), ("green", "green", True), ("amber", "green", False),
    ("amber", "amber", True), ("amber+strict", "amber", False), ("red", "amber", False),
    ("green", "clear", False),
])
def test_tlp_ceiling_red_and_strict_never(tlp, ceiling, expected):
    assert crosses(_row(tlp), _push(ceiling), TARGET, _border()) is expected


def test_sector_restricted_objects_need_the_audience_named_within_them():
    row = _row(sectors=["government", "private"])
    assert not crosses(row, _push(), TARGET, _border())
    assert crosses(row, _push(sectors=["government"]), TARGET, _border())
    assert not crosses(row, _push(sectors=["government", "academic"]), TARGET, _border())


def test_provenance_never_back_onward_only_if_agreed_amber_never():
    closed, open_ = _peer(OTHER_PEER_ORG), _peer(uuid.uuid4(), onward=True)
    b = _border(closed, open_)
    assert not crosses(_row(producer=TARGET.org_id), _push(), TARGET, b)  # back to its origin
    assert not crosses(_row(producer=closed.org_id), _push(), TARGET, b)
    assert crosses(_row(producer=open_.org_id), _push(), TARGET, b)
    assert not crosses(_row("amber", producer=open_.org_id), _push("amber"), TARGET, b)


def test_hop_limit_counts_each_border():
    b = _border()
    assert shaped(_row(), _push(), TARGET, b)["x_accord_hops"] == 1
    assert shaped(_row(x_accord_hops=1), _push(), TARGET, b)["x_accord_hops"] == 2
    assert shaped(_row(x_accord_hops=2), _push(), TARGET, b) is None


def test_attribution_producer_exchange_withheld():
    b = _border()
    assert shaped(_row(), _push(), TARGET, b)["created_by_ref"] == MEMBER_ID
    assert "created_by_ref" not in shaped(_row(withheld=True), _push(), TARGET, b)
    kept = shaped(_row(created_by_ref="identity--mitre"), _push("green", None, "withheld"),
                  TARGET, b)
    assert kept["created_by_ref"] == "identity--mitre"  # an outside author's claim stays
    via = shaped(_row(created_by_ref=MEMBER_ID), _push("green", None, "exchange"), TARGET, b)
    assert via["created_by_ref"] == EXCHANGE_ID
    for attribution in ("exchange", "withheld"):
        gone = shaped(_row(withheld=True, created_by_ref=GROUP_ID),
                      _push("green", None, attribution), TARGET, b)
        assert GROUP_ID not in orjson.dumps(gone).decode()
        identity = PushRow(1, orjson.dumps({"type": "identity", "id": MEMBER_ID}).decode(),
                           "green", None, MEMBER_ORG, False)
        assert shaped(identity, _push("green", None, attribution), TARGET, b) is None
