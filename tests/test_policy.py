"""server.policy, the pure sharing rules: every rule, every TLP level, both ways."""

from __future__ import annotations

import itertools
import uuid

import pytest

from schemas.principal import Principal, Role, Sector
from schemas.tlp import TLP1_IDS, TLP2_ID_OF, Tlp
from server import policy
from server.policy import Reader, StoredObject, Submission, Terms

GROUP, OTHER_GROUP = uuid.uuid4(), uuid.uuid4()
ME, PRODUCER, STRANGER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def reader(*, groups=(GROUP,), sector=Sector.PRIVATE, admin=False, org=ME) -> Reader:
    return Reader(org, sector, frozenset(groups), platform_admin=admin)


def obj(**kwargs) -> StoredObject:
    return StoredObject(group_id=kwargs.pop("group_id", GROUP),
                        producer_org=kwargs.pop("producer_org", PRODUCER), **kwargs)


@pytest.mark.parametrize("tlp", [t for t in Tlp if t is not Tlp.RED])
def test_members_see_clear_green_amber_and_amber_strict(tlp):
    assert policy.can_see(reader(), obj(tlp=tlp))


@pytest.mark.parametrize("tlp", list(Tlp))
def test_non_members_see_nothing_at_any_level(tlp):
    outsider = reader(groups=(OTHER_GROUP,))
    assert not policy.can_see(outsider, obj(tlp=tlp, recipients=frozenset({ME})))


def test_red_only_for_named_recipients_who_are_members():
    assert not policy.can_see(reader(), obj(tlp=Tlp.RED, recipients=frozenset({STRANGER})))
    assert policy.can_see(reader(), obj(tlp=Tlp.RED, recipients=frozenset({ME})))
    assert not policy.can_see(reader(groups=()), obj(tlp=Tlp.RED, recipients=frozenset({ME})))


def test_platform_admin_passes_membership_and_sectors_but_not_red():
    admin = reader(groups=(), admin=True, sector=Sector.NONPROFIT)
    assert policy.can_see(admin, obj(tlp=Tlp.AMBER_STRICT, sectors=frozenset({Sector.GOVERNMENT})))
    assert not policy.can_see(admin, obj(tlp=Tlp.RED, recipients=frozenset({STRANGER})))


@pytest.mark.parametrize("sector", list(Sector))
def test_sector_releasability(sector):
    limited = obj(sectors=frozenset({Sector.GOVERNMENT}))
    assert policy.can_see(reader(sector=sector), limited) == (sector is Sector.GOVERNMENT)
    assert policy.can_see(reader(sector=sector), obj(sectors=None))


def test_every_clause_must_admit_the_reader():
    # RED recipient but wrong sector: refused; right sector but not a recipient: refused.
    red_gov = dict(tlp=Tlp.RED, sectors=frozenset({Sector.GOVERNMENT}))
    assert not policy.can_see(reader(sector=Sector.PRIVATE),
                              obj(**red_gov, recipients=frozenset({ME})))
    assert not policy.can_see(reader(sector=Sector.GOVERNMENT),
                              obj(**red_gov, recipients=frozenset({STRANGER})))
    assert policy.can_see(reader(sector=Sector.GOVERNMENT),
                          obj(**red_gov, recipients=frozenset({ME})))


@pytest.mark.parametrize(("tlp", "sectors", "member"), list(itertools.product(
    list(Tlp), [None, frozenset({Sector.GOVERNMENT})], [True, False])))
def test_producer_always_sees_its_own_and_nobody_sees_withdrawn(tlp, sectors, member):
    mine = obj(producer_org=ME, tlp=tlp, sectors=sectors)
    groups = (GROUP,) if member else ()
    assert policy.can_see(reader(groups=groups), mine)
    withdrawn = obj(producer_org=ME, tlp=tlp, sectors=sectors, withdrawn=True)
    assert not policy.can_see(reader(groups=groups), withdrawn)
    assert not policy.can_see(reader(groups=groups, admin=True), withdrawn)


def test_tlp_of_maps_tlp1_takes_most_restrictive_and_defaults():
    assert policy.tlp_of([], Tlp.AMBER) is Tlp.AMBER
    assert policy.tlp_of([], Tlp.GREEN) is Tlp.GREEN
    for ref, level in TLP1_IDS.items():
        assert policy.tlp_of([ref], Tlp.RED) is level
    both = [TLP2_ID_OF[Tlp.GREEN], TLP2_ID_OF[Tlp.AMBER_STRICT], TLP2_ID_OF[Tlp.CLEAR]]
    assert policy.tlp_of(both, Tlp.CLEAR) is Tlp.AMBER_STRICT
    assert policy.tlp_of(["marking-definition--" + str(uuid.uuid4())], Tlp.AMBER) is Tlp.AMBER


def sub(**kwargs) -> Submission:
    values = dict(
        poster_org=ME, poster_identity="identity--" + "1" * 8 + "-1111-4111-8111-" + "1" * 12,
        platform_admin=False, group_id=GROUP,
        group_identity="identity--" + "2" * 8 + "-2222-4222-8222-" + "2" * 12,
        allow_anonymous=True, default_tlp=Tlp.AMBER, default_attribution="credited",
    )
    values.update(kwargs)
    return Submission(**values)


BASE = {"type": "indicator", "id": f"indicator--{uuid.uuid4()}"}


def test_unmarked_object_takes_the_default_and_is_remarked():
    decision = policy.decide(sub(), BASE, Terms(), {})
    assert decision.tlp is Tlp.AMBER and decision.remarked
    assert decision.body["object_marking_refs"] == [TLP2_ID_OF[Tlp.AMBER]]
    assert "object_marking_refs" not in BASE  # the input is not mutated
    green = policy.decide(sub(default_tlp=Tlp.GREEN), BASE, Terms(), {})
    assert green.tlp is Tlp.GREEN


def test_tlp1_ids_are_emitted_as_tlp2_and_conflicts_keep_the_most_restrictive():
    white = next(ref for ref, level in TLP1_IDS.items() if level is Tlp.CLEAR)
    other = "marking-definition--" + str(uuid.uuid4())
    decision = policy.decide(sub(), {**BASE, "object_marking_refs": [white, other]}, Terms(), {})
    assert decision.body["object_marking_refs"] == [other, TLP2_ID_OF[Tlp.CLEAR]]
    assert decision.remarked
    mixed = [TLP2_ID_OF[Tlp.GREEN], TLP2_ID_OF[Tlp.AMBER]]
    decision = policy.decide(sub(), {**BASE, "object_marking_refs": mixed}, Terms(), {})
    assert decision.tlp is Tlp.AMBER and decision.body["object_marking_refs"] == mixed[1:]
    same = policy.decide(sub(), {**BASE, "object_marking_refs": [TLP2_ID_OF[Tlp.GREEN]]},
                         Terms(), {})
    assert not same.remarked


def test_created_by_ref_is_kept_unless_it_names_a_reserved_identity():
    s = sub()
    mitre = {**BASE, "created_by_ref": "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"}
    assert policy.decide(s, mitre, Terms(), {}, reserved={}).body["created_by_ref"] == (
        mitre["created_by_ref"])
    mine = policy.decide(s, {**BASE, "created_by_ref": s.poster_identity}, Terms(), {})
    assert mine.body["created_by_ref"] == s.poster_identity
    other = {**BASE, "created_by_ref": "identity--" + str(uuid.uuid4())}
    reserved = {other["created_by_ref"]: STRANGER}
    with pytest.raises(policy.Refusal) as refused:
        policy.decide(s, other, Terms(), {}, reserved=reserved)
    assert refused.value.reason == "attribution"
    assert policy.decide(sub(platform_admin=True), other, Terms(), {},
                         reserved=reserved).body == {
        **other, "object_marking_refs": [TLP2_ID_OF[Tlp.AMBER]]}


@pytest.mark.parametrize(("terms", "default"), [
    (Terms(attribution="withheld"), "credited"), (Terms(), "withheld")])
def test_withheld_attribution_carries_the_group_identity(terms, default):
    s = sub(default_attribution=default)
    decision = policy.decide(s, {**BASE, "created_by_ref": s.poster_identity}, terms, {})
    assert decision.withheld
    assert decision.body["created_by_ref"] == s.group_identity
    assert s.poster_identity not in str(decision.body)
    with pytest.raises(policy.Refusal):
        policy.decide(sub(default_attribution=default, allow_anonymous=False), BASE, terms, {})


def test_credited_terms_override_a_withheld_default():
    decision = policy.decide(sub(default_attribution="withheld"), BASE,
                             Terms(attribution="credited"), {})
    assert not decision.withheld and "created_by_ref" not in decision.body


def test_red_needs_known_recipients_and_recipients_need_red():
    red = {**BASE, "object_marking_refs": [TLP2_ID_OF[Tlp.RED]]}
    known = {"identity--a": STRANGER}
    with pytest.raises(policy.Refusal, match="must name its recipients"):
        policy.decide(sub(), red, Terms(), known)
    with pytest.raises(policy.Refusal, match="not a member"):
        policy.decide(sub(), red, Terms(recipients=("identity--b",)), known)
    decision = policy.decide(sub(), red, Terms(recipients=("identity--a",)), known)
    assert decision.recipients == frozenset({STRANGER})
    with pytest.raises(policy.Refusal, match="only to TLP:RED"):
        policy.decide(sub(), BASE, Terms(recipients=("identity--a",)), known)


def test_sector_terms_are_kept():
    sectors = frozenset({Sector.GOVERNMENT})
    assert policy.decide(sub(), BASE, Terms(sectors=sectors), {}).sectors == sectors


def copy(tlp: Tlp, *, identical: bool = True, here: bool = False,
         producer=STRANGER) -> policy.Copy:
    return policy.Copy(identical, here, tlp, producer)


def test_versions_belong_to_their_producer_in_the_group():
    assert policy.check_owner(sub(), None) == ME
    assert policy.check_owner(sub(), ME) == ME
    assert policy.check_owner(sub(platform_admin=True), STRANGER) == STRANGER
    with pytest.raises(policy.Refusal, match="first posted"):
        policy.check_owner(sub(), STRANGER)


@pytest.mark.parametrize("tlp", list(Tlp))
def test_only_clear_and_green_may_be_reshared(tlp):
    """An identical copy received from another group: re-shared under its producer if
    CLEAR/GREEN, refused otherwise (and a changed copy of the same version too)."""
    if tlp in (Tlp.CLEAR, Tlp.GREEN):
        assert policy.check_owner(sub(), None, copy(tlp)) == STRANGER
        assert policy.check_owner(sub(), None, copy(tlp, identical=False)) == ME
    else:
        for identical in (True, False):
            with pytest.raises(policy.Refusal, match="re-shared"):
                policy.check_owner(sub(), None, copy(tlp, identical=identical))


@pytest.mark.parametrize("tlp", list(Tlp))
def test_an_identical_copy_already_in_the_collection_is_a_duplicate_at_any_level(tlp):
    assert policy.check_owner(sub(), STRANGER, copy(tlp, here=True)) is None
    with pytest.raises(policy.Refusal):
        policy.check_owner(sub(), STRANGER, copy(tlp, here=True, identical=False))
    with pytest.raises(policy.Refusal):
        policy.check_owner(sub(), STRANGER, None)


def test_own_objects_seen_elsewhere_are_the_posters_own():
    assert policy.check_owner(sub(), None, copy(Tlp.RED, producer=ME)) == ME


@pytest.mark.parametrize(("definition", "level"), [
    ({"id": TLP2_ID_OF[Tlp.RED]}, Tlp.RED),
    ({"id": "marking-definition--" + str(uuid.uuid4()),
      "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
          "extension_type": "property-extension", "tlp_2_0": "red"}}}, Tlp.RED),
    ({"id": "marking-definition--" + str(uuid.uuid4()), "definition_type": "tlp",
      "definition": {"tlp": "white"}}, Tlp.CLEAR),
    ({"id": "marking-definition--" + str(uuid.uuid4()),
      "extensions": {"extension-definition--" + str(uuid.uuid4()): {
          "extension_type": "property-extension", "iep_version": "2.0", "tlp": "amber"}}},
     Tlp.AMBER),
    ({"id": "marking-definition--" + str(uuid.uuid4()), "definition_type": "statement",
      "definition": {"statement": "Copyright MITRE"}}, None),
    ({"id": "marking-definition--" + str(uuid.uuid4()),
      "extensions": {"extension-definition--" + str(uuid.uuid4()): {
          "extension_type": "property-extension", "iep_version": "2.0"}}}, None),
])
def test_declared_tlp_reads_every_form(definition, level):
    assert policy.declared_tlp(definition) is level


def test_a_tlp_in_an_unknown_form_is_refused_never_ignored():
    with pytest.raises(policy.Refusal, match="unknown TLP"):
        policy.declared_tlp({"id": "marking-definition--x", "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"tlp_2_0": "puce"}}})


def test_declared_levels_set_the_object_level_most_restrictive_wins():
    custom = "marking-definition--" + str(uuid.uuid4())
    statement = "marking-definition--" + str(uuid.uuid4())
    body = {**BASE, "object_marking_refs": [statement, TLP2_ID_OF[Tlp.GREEN], custom]}
    known = {"identity--a": STRANGER}
    decision = policy.decide(sub(), body, Terms(recipients=("identity--a",)), known,
                             levels={custom: Tlp.RED})
    assert decision.tlp is Tlp.RED
    assert decision.body["object_marking_refs"] == [statement, custom, TLP2_ID_OF[Tlp.RED]]
    granular = {**BASE, "granular_markings": [{"marking_ref": custom, "selectors": ["name"]}]}
    assert policy.decide(sub(), granular, Terms(), {},
                         levels={custom: Tlp.AMBER_STRICT}).tlp is Tlp.AMBER_STRICT


def principal(role: Role, org=ME) -> Principal:
    return Principal("k", org, "org", Sector.PRIVATE, role)


@pytest.mark.parametrize("role", list(Role))
def test_collection_rights_by_role_membership_and_archive(role):
    p = principal(role)
    admin = role is Role.PLATFORM_ADMIN
    assert policy.can_read_collection(p, True)
    assert policy.can_read_collection(p, False) == admin
    writes = role is not Role.READER
    assert policy.can_write_collection(p, True) == writes
    assert policy.can_write_collection(p, False) == admin
    assert not policy.can_write_collection(p, True, archived=True)


@pytest.mark.parametrize("role", list(Role))
def test_delete_rights(role):
    assert policy.can_delete(principal(role), ME) == (role is not Role.READER)
    assert policy.can_delete(principal(role), STRANGER) == (role is Role.PLATFORM_ADMIN)


def test_a_tlp_marking_on_one_property_restricts_the_whole_object():
    def granular(level: Tlp) -> list[dict]:
        return [{"marking_ref": TLP2_ID_OF[level], "selectors": ["description"]}]

    green = [TLP2_ID_OF[Tlp.GREEN]]
    amber = policy.decide(sub(), {**BASE, "object_marking_refs": green,
                                  "granular_markings": granular(Tlp.AMBER)}, Terms(), {})
    assert amber.tlp is Tlp.AMBER and amber.remarked
    assert amber.body["object_marking_refs"] == [TLP2_ID_OF[Tlp.AMBER]]
    assert amber.body["granular_markings"] == granular(Tlp.AMBER)
    # An unmarked object with a GREEN property is still as restricted as the default.
    unmarked = policy.decide(sub(), {**BASE, "granular_markings": granular(Tlp.GREEN)},
                             Terms(), {})
    assert unmarked.tlp is Tlp.AMBER
    # A RED property makes the object RED, with RED's rule on recipients.
    with pytest.raises(policy.Refusal) as refused:
        policy.decide(sub(), {**BASE, "object_marking_refs": green,
                              "granular_markings": granular(Tlp.RED)}, Terms(), {})
    assert refused.value.reason == "recipients"
    # TLP 1.0 ids and non-TLP markings on properties are read the same way.
    red1 = next(ref for ref, level in TLP1_IDS.items() if level is Tlp.RED)
    other = {"marking_ref": f"marking-definition--{uuid.uuid4()}", "selectors": ["name"]}
    with pytest.raises(policy.Refusal):
        policy.decide(sub(), {**BASE, "granular_markings": [other, {"marking_ref": red1,
                                                                     "selectors": ["name"]}]},
                      Terms(), {})
    kept = policy.decide(sub(default_tlp=Tlp.GREEN), {**BASE, "granular_markings": [other]},
                         Terms(), {})
    assert kept.tlp is Tlp.GREEN
