"""The client's errors: one hierarchy, each carrying the TAXII error fields the server sent."""

from __future__ import annotations

from typing import Any


class AccordClientError(Exception):
    """Base of every error the client raises; `str()` is a message fit for a user."""

    def __init__(self, description: str, *, http_status: int | None = None,
                 title: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.http_status = http_status
        self.title = title
        self.details = details


class ServerUnreachable(AccordClientError):
    """Nothing answered at the URL (refused, unknown host, timeout, TLS failure)."""


class NotAnAccordServer(AccordClientError):
    """Something answered at the URL, but not a TAXII 2.1 server."""


class AmbiguousName(AccordClientError):
    """A name (a collection's title) that matches more than one thing."""


class ApiError(AccordClientError):
    """The server answered with an error resource (title, description, http_status)."""

    def __init__(self, http_status: int, title: str, description: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{description} (HTTP {http_status} {title})", http_status=http_status,
                         title=title, details=details)
        self.server_description = description


class AuthenticationFailed(ApiError):
    """401: the API key is missing, malformed, unknown or revoked."""


class PermissionDenied(ApiError):
    """403: the key is valid but its role may not do this."""


class NotFound(ApiError):
    """404: no such resource, or one this key may not see (Accord does not tell them apart)."""


class RequestRefused(ApiError):
    """Any other 4xx: the request itself was refused (bad input, too large, media type)."""


class RateLimited(ApiError):
    """429 that persisted through the client's retries."""


class ServerError(ApiError):
    """5xx: the server failed; its description never holds a stack trace."""


def api_error(http_status: int, title: str, description: str,
              details: dict[str, Any] | None = None) -> ApiError:
    """The ApiError subclass for an HTTP status."""
    cls: type[ApiError]
    if http_status == 401:
        cls = AuthenticationFailed
    elif http_status == 403:
        cls = PermissionDenied
    elif http_status == 404:
        cls = NotFound
    elif http_status == 429:
        cls = RateLimited
    elif http_status >= 500:
        cls = ServerError
    else:
        cls = RequestRefused
    return cls(http_status, title, description, details)
