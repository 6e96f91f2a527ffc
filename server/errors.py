"""Domain errors raised below the handlers; the error middleware maps each to a TAXII error."""

from __future__ import annotations

from typing import Any


class AccordError(Exception):
    """Base of every error a client may see; message is safe to show."""

    title = "Error"

    def __init__(self, description: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.details = details


class BadRequest(AccordError):
    title = "Bad request"


class Unauthorized(AccordError):
    title = "Authentication required"


class Forbidden(AccordError):
    title = "Forbidden"


class NotFound(AccordError):
    title = "Not found"


class Conflict(AccordError):
    title = "Conflict"


class PreconditionFailed(AccordError):
    """An If-Match the resource no longer matches: someone changed it since it was read."""

    title = "Precondition failed"


class NotAcceptable(AccordError):
    title = "Not acceptable"


class UnsupportedMediaType(AccordError):
    title = "Unsupported media type"


class PayloadTooLarge(AccordError):
    title = "Payload too large"


class RequestTimeout(AccordError):
    title = "Request timeout"


HTTP_STATUS: dict[type[AccordError], int] = {
    BadRequest: 400,
    RequestTimeout: 408,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    NotAcceptable: 406,
    Conflict: 409,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
}


def http_status(error: AccordError) -> int:
    """The HTTP status for a domain error (its nearest mapped class)."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500
