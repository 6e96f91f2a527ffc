"""The TAXII 2.1 calls federation makes to a peer: a page of objects, a posted envelope.

Redirects are never followed (they would carry the peer's credential elsewhere) and the
target is checked like a webhook's (no internal addresses unless the deployment allows).
"""

from __future__ import annotations

import base64
import io
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import aiohttp
import orjson

from server.feeds.webhooks import UnsafeTarget, check_target
from server.store.peers import Peer

TAXII = "application/taxii+json;version=2.1"


class PeerError(Exception):
    """A call to a peer failed; `retry_after_s` when the peer said when to come back."""

    def __init__(self, message: str, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class ObjectsPage:
    objects: list
    more: bool
    next: str | None
    date_added_last: str | None


def _authorization(peer: Peer) -> str:
    if peer.auth_scheme == "basic":
        return "Basic " + base64.b64encode(peer.secret.encode()).decode()
    return ("Token " if peer.auth_scheme == "token" else "Bearer ") + peer.secret


def _ssl(peer: Peer, ca_file: Path | None) -> ssl.SSLContext | bool:
    if peer.client_cert is None and ca_file is None:
        return True
    # Verification stays on: a deployment's own CA is trusted beside the system's, never
    # instead of checking the peer's certificate.
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    if peer.client_cert is not None:
        context.load_cert_chain(peer.client_cert, peer.client_key)
    return context


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class PeerClient:
    """TAXII calls to one peer's API root."""

    def __init__(self, http: aiohttp.ClientSession, peer: Peer, allow_private: bool,
                 ca_file: Path | None = None, timeout_s: float = 30.0) -> None:
        self.http = http
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.peer = peer
        self.allow_private = allow_private
        self.ca_file = ca_file
        self._tls: ssl.SSLContext | bool | None = None
        self.headers = {"Accept": TAXII, "Authorization": _authorization(peer)}

    def _url(self, collection: str) -> str:
        return f"{self.peer.api_root}collections/{quote(collection, safe='')}/objects/"

    async def _request(self, method: str, url: str, **kwargs: object) -> tuple[int, dict, bytes]:
        try:
            await check_target(url, self.allow_private)
            if self._tls is None:  # here, so an unreadable certificate file is a PeerError
                self._tls = _ssl(self.peer, self.ca_file)
            async with self.http.request(method, url, allow_redirects=False, ssl=self._tls,
                                         timeout=self.timeout, **kwargs) as resp:
                raw = await resp.read()
                headers = dict(resp.headers)
                status = resp.status
        except (aiohttp.ClientError, OSError, TimeoutError, UnsafeTarget) as exc:
            raise PeerError(f"{type(exc).__name__}: {exc}") from None
        if status >= 300:
            raise PeerError(f"HTTP {status}", status, retry_after(headers.get("Retry-After")))
        return status, headers, raw

    async def objects(self, collection: str, added_after: str | None, next_token: str | None,
                      limit: int) -> ObjectsPage:
        """One page of a remote collection after a cursor."""
        params = {"limit": str(limit)}
        if added_after:
            params["added_after"] = added_after
        if next_token:
            params["next"] = next_token
        _, headers, raw = await self._request("GET", self._url(collection),
                                              headers=self.headers, params=params)
        try:
            envelope = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise PeerError("the peer answered with invalid JSON") from None
        if not isinstance(envelope, dict):
            raise PeerError("the peer's answer is not a TAXII envelope")
        objects = envelope.get("objects") or []
        if not isinstance(objects, list):
            raise PeerError("the peer's envelope has no list of objects")
        token = envelope.get("next")
        return ObjectsPage(objects, envelope.get("more") is True,
                           token if isinstance(token, str) and token else None,
                           headers.get("X-TAXII-Date-Added-Last"))

    async def post(self, collection: str, objects: list[dict]) -> dict:
        """Post an envelope; the peer's status resource."""
        # A file-like body: aiohttp warns that large bytes bodies block the loop.
        body = io.BytesIO(orjson.dumps({"objects": objects}))
        _, _, raw = await self._request("POST", self._url(collection), data=body,
                                        headers={**self.headers, "Content-Type": TAXII})
        try:
            status = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}
        return status if isinstance(status, dict) else {}
