"""The JSON API's bodies and responses: strict JSON bodies as models, query strings as
models, model responses."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from schemas import strict_json
from server.errors import BadRequest, UnsupportedMediaType
from server.web.bodies import read_bounded
from server.web.params import query_values

M = TypeVar("M", bound=BaseModel)

# Admin payloads are small; a tight cap keeps a hostile body from costing memory.
MAX_BODY = 64 * 1024
JSON = "application/json"


def _errors(exc: ValidationError) -> list[dict]:
    # Only location, message and type: `input` may echo a huge or sensitive value back.
    return [{"loc": [str(part) for part in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False)]


def validate(model: type[M], data: object, what: str) -> M:
    """`data` as a `model`, or BadRequest listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(f"the {what} does not match {model.__name__}",
                         details={"errors": _errors(exc)}) from None


async def body(request: web.Request, model: type[M], *, optional: bool = False,
               limit: int = MAX_BODY) -> M:
    """The request body as `model`: 415 unless JSON, 413 if over `limit` bytes, 400 if
    invalid.

    With `optional`, an absent body stands for `{}` (action routes that take no fields).
    """
    if optional and not request.body_exists:
        return validate(model, {}, "body")
    if request.content_type != JSON:
        raise UnsupportedMediaType(f"send the body as {JSON}")
    raw = await read_bounded(request, limit)
    try:
        data = strict_json.loads(raw)
    except ValueError as exc:
        raise BadRequest("the body is not valid JSON", details={"reason": str(exc)}) from None
    return validate(model, data, "body")


def query(request: web.Request, model: type[M]) -> M:
    """The query string as `model`; repeated or unknown parameters are a 400."""
    return validate(model, query_values(request), "query string")


def respond(model: BaseModel | None, status: int = 200) -> web.Response:
    """A JSON response of a response model (204 without one)."""
    if model is None:
        return web.Response(status=204)
    return web.Response(status=status, body=model.model_dump_json().encode(),
                        content_type=JSON)
