"""Admin API: the collections of a trust group."""

from __future__ import annotations

from aiohttp import web

from schemas import admin as api
from server.admin import service
from server.db.pool import POOL
from server.web.auth import principal_of
from server.web.json_api import body, respond
from server.web.params import stix_id_segment, uuid_segment
from server.web.routes import JsonApiRoutes

admin = JsonApiRoutes()
routes = admin.table

_MEMBER = "any key of a member organisation of the group, or platform-admin"
_MANAGER = "org-admin of a manager organisation of the group, or platform-admin"


def _collection_id(request: web.Request) -> object:
    return uuid_segment(request, "collection_id", "collection")


@admin.route("GET", "/groups/{group_id}/collections", role=_MEMBER,
             response=api.CollectionList)
async def list_collections(request: web.Request) -> web.Response:
    """List a trust group's collections."""
    group_id = uuid_segment(request, "group_id", "trust group")
    return respond(await service.group_collections(request.app[POOL], principal_of(request),
                                                   group_id))


@admin.route("POST", "/groups/{group_id}/collections", role=_MANAGER,
             request=api.CollectionCreate, response=api.CollectionInfo, status=201,
             errors=(401, 403, 404, 409))
async def create_collection(request: web.Request) -> web.Response:
    """Create a collection in a trust group (409 if the group is archived)."""
    group_id = uuid_segment(request, "group_id", "trust group")
    req = await body(request, api.CollectionCreate)
    made = await service.create_collection(request.app[POOL], principal_of(request), group_id,
                                           req)
    return respond(made, 201)


@admin.route("GET", "/collections/{collection_id}", role=_MEMBER, response=api.CollectionInfo)
async def get_collection(request: web.Request) -> web.Response:
    """Show a collection's settings."""
    return respond(await service.get_collection(request.app[POOL], principal_of(request),
                                                _collection_id(request)))


@admin.route("PATCH", "/collections/{collection_id}", role=_MANAGER,
             request=api.CollectionPatch, response=api.CollectionInfo)
async def change_collection(request: web.Request) -> web.Response:
    """Change a collection's title, description, defaults or custom-content rule."""
    collection_id = _collection_id(request)
    req = await body(request, api.CollectionPatch)
    return respond(await service.change_collection(request.app[POOL], principal_of(request),
                                                   collection_id, req))


@admin.route("POST", "/collections/{collection_id}/archive", role=_MANAGER, request=api.Empty,
             response=api.CollectionInfo)
async def archive_collection(request: web.Request) -> web.Response:
    """Archive a collection: it stays readable and takes no more posts."""
    collection_id = _collection_id(request)
    await body(request, api.Empty, optional=True)
    return respond(await service.archive_collection(request.app[POOL], principal_of(request),
                                                    collection_id))


async def _moderate(request: web.Request, withdrawn: bool) -> web.Response:
    collection_id, object_id = _collection_id(request), stix_id_segment(request)
    await body(request, api.Empty, optional=True)
    return respond(await service.withdraw_object(request.app[POOL], principal_of(request),
                                                 collection_id, object_id, withdrawn))


@admin.route("POST", "/collections/{collection_id}/objects/{object_id}/withdraw",
             role="platform-admin", request=api.Empty, response=api.Withdrawal)
async def withdraw_object(request: web.Request) -> web.Response:
    """Withdraw an object from a collection: its versions are served to nobody, but kept."""
    return await _moderate(request, True)


@admin.route("POST", "/objects/{object_id}/erase",
             role="org-admin (its organisation's versions) or platform-admin (every"
             " producer's, on a data subject's request)",
             request=api.ErasureRequest, response=api.Erasure)
async def erase_object(request: web.Request) -> web.Response:
    """Erase an object: every version deleted, removal events to consumers, audited."""
    object_id = stix_id_segment(request)
    req = await body(request, api.ErasureRequest)
    return respond(await service.erase_object(request.app[POOL], principal_of(request),
                                              object_id, req))


@admin.route("POST", "/collections/{collection_id}/objects/{object_id}/restore",
             role="platform-admin", request=api.Empty, response=api.Withdrawal)
async def restore_object(request: web.Request) -> web.Response:
    """Serve a withdrawn object's versions again, under their sharing terms as before."""
    return await _moderate(request, False)
