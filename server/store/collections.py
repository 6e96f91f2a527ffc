"""Collections of a trust group, as a given principal sees them."""

from __future__ import annotations

import uuid

import asyncpg

from schemas.principal import Principal
from server.errors import NotFound
from server.store.query import Params
from server.store.records import CollectionSettings, CollectionView
from server.store.visibility import member_of_collection


def _collection(row: asyncpg.Record) -> CollectionView:
    return CollectionView(
        id=row["id"],
        group_id=row["group_id"],
        title=row["title"],
        description=row["description"],
        allow_custom=row["allow_custom"],
        is_member=row["member"],
        archived=row["archived"],
        default_tlp=row["default_tlp"],
        default_attribution=row["default_attribution"],
        group_identity=row["group_identity"],
        allow_anonymous=row["allow_anonymous"],
        tlp1_markings=row["tlp1_markings"],
        warninglist_policy=row["warninglist_policy"],
    )


def _select(principal: Principal, p: Params) -> str:
    member = member_of_collection(principal, p)
    where = "true" if principal.is_platform_admin else member
    return (
        f"SELECT c.id, c.group_id, c.title, c.description, c.allow_custom, c.archived,"
        f" c.tlp1_markings,"
        f" coalesce(c.default_tlp, g.default_tlp) AS default_tlp,"
        # A credited post would tell co-members who else is in a confidential group, so
        # there posts are withheld unless the collection (or the poster) says otherwise.
        f" coalesce(c.default_attribution, CASE WHEN g.confidential_roster AND"
        f" g.allow_anonymous THEN 'withheld' ELSE g.default_attribution END)"
        f" AS default_attribution,"
        f" g.identity_id AS group_identity, g.allow_anonymous, g.warninglist_policy,"
        f" {member} AS member"
        f" FROM collections c JOIN trust_groups g ON g.id = c.group_id WHERE {where}"
    )


async def list_collections(conn: asyncpg.Connection, principal: Principal) -> list[CollectionView]:
    """Every collection the principal may read (a member's, or any for a platform admin),
    oldest first."""
    p = Params()
    rows = await conn.fetch(_select(principal, p) + " ORDER BY c.created, c.id", *p.values)
    return [_collection(r) for r in rows]


async def get_collection(
    conn: asyncpg.Connection, principal: Principal, collection_id: uuid.UUID
) -> CollectionView:
    """The collection if the principal may read it; NotFound alike if absent or hidden."""
    p = Params()
    sql = _select(principal, p) + f" AND c.id = {p(collection_id)}"
    row = await conn.fetchrow(sql, *p.values)
    if row is None:
        raise NotFound("no such collection")
    return _collection(row)


async def create_collection(
    conn: asyncpg.Connection,
    group_id: uuid.UUID,
    title: str,
    description: str | None = None,
    *,
    allow_custom: bool = True,
) -> uuid.UUID:
    """Create a collection owned by a trust group; return its id."""
    collection_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO collections (id, group_id, title, description, allow_custom)"
        " VALUES ($1, $2, $3, $4, $5)",
        collection_id, group_id, title, description, allow_custom,
    )
    return collection_id


async def reference_collection(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    """(collection id, group id) of the reference collection every organisation reads."""
    row = await conn.fetchrow(
        "SELECT c.id, c.group_id FROM collections c JOIN trust_groups g ON g.id = c.group_id"
        " WHERE g.is_reference"
    )
    return row["id"], row["group_id"]


# --- admin view: a collection's own settings (the admin API never shows the reference one) ---

_SETTINGS = (
    "SELECT c.id, c.group_id, c.title, c.description, c.default_tlp, c.default_attribution,"
    " c.allow_custom, c.archived, c.created, c.tlp1_markings, c.retention_days"
    " FROM collections c"
    " JOIN trust_groups g ON g.id = c.group_id WHERE NOT g.is_reference"
)
_SETTABLE = frozenset({"title", "description", "default_tlp", "default_attribution",
                       "allow_custom", "archived", "tlp1_markings", "retention_days"})


async def collection_settings(
    conn: asyncpg.Connection, collection_id: uuid.UUID
) -> CollectionSettings:
    """A collection's own settings, or NotFound."""
    row = await conn.fetchrow(_SETTINGS + " AND c.id = $1", collection_id)
    if row is None:
        raise NotFound("no such collection")
    return CollectionSettings(**dict(row))


async def group_collections(
    conn: asyncpg.Connection, group_id: uuid.UUID
) -> list[CollectionSettings]:
    """A trust group's collections, oldest first."""
    rows = await conn.fetch(_SETTINGS + " AND c.group_id = $1 ORDER BY c.created, c.id",
                            group_id)
    return [CollectionSettings(**dict(r)) for r in rows]


async def set_collection(
    conn: asyncpg.Connection, collection_id: uuid.UUID, changes: dict[str, object]
) -> None:
    """Set the settings named in `changes` (title, description, defaults, custom, archived)."""
    if not changes:
        return
    if not set(changes) <= _SETTABLE:
        raise ValueError(f"not a collection setting: {sorted(set(changes) - _SETTABLE)}")
    p = Params()
    sets = ", ".join(f"{column} = {p(value)}" for column, value in changes.items())
    await conn.execute(f"UPDATE collections SET {sets} WHERE id = {p(collection_id)}",
                       *p.values)
