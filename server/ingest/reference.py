"""Seed the reference collection: the platform identity, TLP 2.0 definitions, Accord extension."""

from __future__ import annotations

import asyncpg
import orjson

from schemas.accord_extension import extension_definition
from schemas.stix import parse_timestamp
from schemas.tlp import Tlp, tlp1_marking_definitions, tlp2_marking_definition
from server.store import objects as object_store
from server.store.collections import reference_collection
from server.store.objects import StagedObject
from server.store.orgs import platform_org

_SINCE = "2026-11-29T00:00:00.000Z"


def _stage(obj: dict, producer) -> StagedObject:
    version = obj.get("modified", obj.get("created"))
    return StagedObject(
        obj["id"], obj["type"], obj["spec_version"], parse_timestamp(version), version,
        orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode(), producer, Tlp.CLEAR.value,
    )


async def seed_reference(conn: asyncpg.Connection) -> None:
    """Store the reference objects once; later calls find them stored and change nothing."""
    platform = await platform_org(conn)
    identity = {
        "type": "identity", "spec_version": "2.1", "id": platform.identity_id,
        "created": _SINCE, "modified": _SINCE, "name": platform.name,
        "identity_class": "system",
    }
    objects = [identity, *(tlp2_marking_definition(level) for level in Tlp),
               extension_definition(platform.identity_id)]
    # Served so that the TLP 1.0 ids a collection or feed adds (tlp1_markings) resolve. Their
    # ids keep today's ownership: many exports (misp-stix, stix2's constants) post them.
    tlp1 = tlp1_marking_definitions()
    collection_id, group_id = await reference_collection(conn)
    async with conn.transaction():
        # New versions of the platform's reference objects may come only from the platform.
        await object_store.reserve_ids(conn, [o["id"] for o in objects], platform.id)
        await object_store.store_envelope(
            conn, collection_id, group_id, [_stage(o, platform.id) for o in [*objects, *tlp1]]
        )
