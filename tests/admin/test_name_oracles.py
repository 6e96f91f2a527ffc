"""Create and rename answers reveal nothing of groups, collections or feeds the caller cannot see.

Each write runs twice, once with a hidden thing of the same name present and once without,
and the two answers must agree in everything but the fresh ids and timestamps.
"""

from __future__ import annotations

import re
import uuid

from tests.admin.conftest import Answer, assert_error

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Fields that differ between any two creations, whatever else exists.
_FRESH = {"id", "identity_id", "created", "updated", "joined", "name", "title", "org_id"}


def _shape(answer: Answer) -> object:
    """The answer with fresh ids, timestamps and the chosen name blanked out."""
    def blank(value: object) -> object:
        if isinstance(value, dict):
            return {k: "*" if k in _FRESH else blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return _UUID.sub("*", value) if isinstance(value, str) else value
    return answer.status, blank(answer.body)


def _fresh(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


async def test_creating_a_group_named_like_a_hidden_group_answers_as_for_a_free_name(
        api, factory):
    hidden_owner = await factory.member("defence", "government")
    outsider = await factory.member("bank", "private")
    hidden = _fresh("fin-isac")
    assert (await api("POST", "/groups", hidden_owner.admin, {"name": hidden})).status == 201

    taken = await api("POST", "/groups", outsider.admin, {"name": hidden})
    free = await api("POST", "/groups", outsider.admin, {"name": _fresh("fin-isac")})
    assert taken.status == 201, taken.body
    assert _shape(taken) == _shape(free)

    # A platform admin's view of the two: both exist, under one name, told apart by id.
    platform = await factory.platform_key()
    listed = (await api("GET", "/groups", platform)).body["groups"]
    assert sum(g["name"] == hidden for g in listed) == 2


async def test_renaming_to_a_hidden_groups_name_answers_as_for_a_free_name(api, factory):
    hidden_owner = await factory.member("defence", "government")
    outsider = await factory.member("bank", "private")
    hidden = _fresh("red-team")
    assert (await api("POST", "/groups", hidden_owner.admin, {"name": hidden})).status == 201
    first = (await api("POST", "/groups", outsider.admin, {"name": _fresh("a")})).body["id"]
    second = (await api("POST", "/groups", outsider.admin, {"name": _fresh("b")})).body["id"]

    taken = await api("PATCH", f"/groups/{first}", outsider.admin, {"name": hidden})
    free = await api("PATCH", f"/groups/{second}", outsider.admin, {"name": _fresh("red-team")})
    assert taken.status == 200, taken.body
    assert _shape(taken) == _shape(free)


async def test_a_name_the_caller_can_see_is_still_refused(api, factory, club):
    # alice manages the club; bob is a plain member of it, so he sees its name.
    own = _fresh("own")
    assert (await api("POST", "/groups", club.alice.admin, {"name": own})).status == 201
    assert_error(await api("POST", "/groups", club.alice.admin, {"name": own}), 409,
                 "already named")
    club_name = (await api("GET", f"/groups/{club.group_id}", club.bob.reader)).body["name"]
    assert_error(await api("POST", "/groups", club.bob.admin, {"name": club_name}), 409,
                 "already named")
    renamed = (await api("POST", "/groups", club.bob.admin, {"name": _fresh("x")})).body["id"]
    assert_error(await api("PATCH", f"/groups/{renamed}", club.bob.admin, {"name": club_name}),
                 409, "already named")
    # Renaming a group to its own name changes nothing and is no conflict.
    same = await api("PATCH", f"/groups/{club.group_id}", club.alice.admin, {"name": club_name})
    assert same.status == 200 and same.body["name"] == club_name

    # A platform admin sees every group, so it is refused any name in use.
    platform = await factory.platform_key()
    assert_error(await api("POST", "/groups", platform, {"name": club_name}), 409,
                 "already named")


async def test_collection_titles_and_feed_names_of_others_are_no_conflict(api, factory, club):
    other = await factory.member("defence", "government")
    hidden_group = (await api("POST", "/groups", other.admin, {"name": _fresh("g")})).body["id"]
    title = _fresh("ioc")
    hidden = await api("POST", f"/groups/{hidden_group}/collections", other.admin,
                       {"title": title})
    assert hidden.status == 201, hidden.body
    taken = await api("POST", f"/groups/{club.group_id}/collections", club.alice.admin,
                      {"title": title})
    free = await api("POST", f"/groups/{club.group_id}/collections", club.alice.admin,
                     {"title": _fresh("ioc")})
    assert taken.status == 201 and _shape(taken) == _shape(free)

    feed = _fresh("siem")
    assert (await api("POST", "/feeds", other.reader, {"name": feed})).status == 201
    taken = await api("POST", "/feeds", club.bob.reader, {"name": feed})
    free = await api("POST", "/feeds", club.bob.reader, {"name": _fresh("siem")})
    assert taken.status == 201 and _shape(taken) == _shape(free)
