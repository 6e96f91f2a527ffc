"""AccordClient: the async client of one Accord server with one API key.

TAXII 2.1 (discovery s4.1, API root s4.2, collections s5.1, objects s5.3/s5.4, status s4.3)
plus Accord's feeds API (`/api/v1/feeds`: CRUD, Server-Sent Events stream, exports).
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from clients.admin import AdminClient
from clients.errors import (
    AccordClientError,
    AmbiguousName,
    ApiError,
    NotAnAccordServer,
    NotFound,
    RateLimited,
    ServerUnreachable,
    api_error,
)
from schemas.feeds import (
    Delivery,
    DeliveryList,
    Feed,
    FeedCreate,
    FeedCreated,
    FeedFilter,
    FeedList,
    FeedUpdate,
    WebhookSpec,
)
from schemas.taxii import HELD_FOR_REVIEW

TAXII = "application/taxii+json;version=2.1"
# The bytes of an envelope around its objects: `{"objects":[` ... `]}`.
ENVELOPE_OVERHEAD = len(b'{"objects":[]}')
_MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class Failure:
    """One object the server (or the client, before sending) refused."""

    id: str
    version: str
    message: str


@dataclass(slots=True)
class ChunkResult:
    """The outcome of one POSTed envelope."""

    index: int
    count: int
    status_id: str | None
    success_count: int
    failures: list[Failure]


@dataclass(slots=True)
class PostResult:
    """The outcome of post_objects over all its chunks."""

    total: int = 0
    success_count: int = 0
    failures: list[Failure] = field(default_factory=list)
    chunks: list[ChunkResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no object was refused."""
        return not self.failures


@dataclass(slots=True)
class Page:
    """One TAXII envelope read: its objects and where the next page starts."""

    objects: list[dict[str, Any]]
    more: bool
    next: str | None
    date_added_first: str | None
    date_added_last: str | None


@dataclass(frozen=True, slots=True)
class Event:
    """One Server-Sent Event of a feed stream; `data` is the STIX object."""

    id: str
    event: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Export:
    """A feed export; `body` is None when the server answered 304 Not Modified."""

    status: int
    etag: str | None
    body: bytes | None
    content_type: str | None

    @property
    def not_modified(self) -> bool:
        """True when the ETag given still names the current export."""
        return self.status == 304


@dataclass(slots=True)
class _Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def chunk_objects(objects: Iterable[dict[str, Any]], max_bytes: int,
                  max_count: int) -> Iterator[tuple[list[bytes], list[Failure]]]:
    """Split objects into envelopes of at most max_bytes and max_count objects.

    Deterministic for the same input and limits, so a resumed push finds the same chunks.
    Each yielded pair is (serialised objects, objects too large to send even alone).
    """
    batch: list[bytes] = []
    too_large: list[Failure] = []
    size = ENVELOPE_OVERHEAD
    for obj in objects:
        raw = orjson.dumps(obj)
        if ENVELOPE_OVERHEAD + len(raw) > max_bytes:
            too_large.append(Failure(
                str(obj.get("id", "")), str(obj.get("modified", obj.get("created", ""))),
                f"the object is {len(raw)} bytes, more than the server accepts in one request"
                f" (max_content_length {max_bytes})",
            ))
            continue
        extra = len(raw) + (1 if batch else 0)
        if batch and (size + extra > max_bytes or len(batch) >= max_count):
            yield batch, too_large
            batch, too_large, size = [], [], ENVELOPE_OVERHEAD
            extra = len(raw)
        batch.append(raw)
        size += extra
    if batch or too_large:
        yield batch, too_large


SseEvent = tuple[str, str, str, int | None]


async def parse_sse(content: aiohttp.StreamReader) -> AsyncIterator[SseEvent]:
    """Server-Sent Events from a response body: (id, event, data, retry ms) per event."""
    event_id, name, data, retry = "", "message", [], None
    while True:
        line = await content.readline()
        if not line:
            return
        text = line.decode("utf-8").rstrip("\r\n")
        if not text:
            if data:
                yield event_id, name, "\n".join(data), retry
            name, data, retry = "message", [], None
            continue
        if text.startswith(":"):
            continue  # heartbeat comment
        key, _, value = text.partition(":")
        value = value.removeprefix(" ")
        if key == "id":
            event_id = value
        elif key == "event":
            name = value
        elif key == "data":
            data.append(value)
        elif key == "retry" and value.isdigit():
            retry = int(value)


def server_base(url: str) -> str:
    """The server's base URL from what a user gives: a scheme is required; the TAXII
    discovery (`/taxii2/`) or admin API (`/api/v1`) URL of the server is cut back to it."""
    url = url.strip()
    if "://" not in url:
        raise AccordClientError(f"the server URL {url!r} has no scheme: give http://{url}"
                                f" (or https://{url}) (check --url / ACCORD_URL)")
    base = url.rstrip("/")
    for suffix in ("/taxii2", "/api/v1"):
        at = (base + "/").find(suffix + "/")
        if at != -1:
            return base[:at]
    return base


class AccordClient:
    """Async client of one Accord server; use as `async with AccordClient(url, key) as c:`."""

    def __init__(self, url: str, key: str, *, session: aiohttp.ClientSession | None = None,
                 timeout_s: float = 120.0, max_chunk_objects: int = 1000,
                 retries: int = 5, in_flight: int = 1) -> None:
        self.url = server_base(url)
        self.key = key
        self.max_chunk_objects = max_chunk_objects
        self.in_flight = max(1, in_flight)
        # After a 429 every request of this client waits out its Retry-After, not only the
        # refused one: concurrent envelopes would otherwise each spend a refusal.
        self._not_before = 0.0
        self.retries = retries
        self._own_session = session is None
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_content_length: int | None = None

    async def __aenter__(self) -> AccordClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session (opened on first use)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    @property
    def admin(self) -> AdminClient:
        """The admin API (`/api/v1/`) with this client's key and session."""
        return AdminClient(self.session, self.url, self.key)

    # --- HTTP ------------------------------------------------------------------------------

    def _headers(self, accept: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Accept": accept, **(extra or {})}

    def _unreachable(self, exc: Exception) -> ServerUnreachable:
        reason = getattr(getattr(exc, "os_error", None), "strerror", None) or str(exc) or \
            type(exc).__name__
        return ServerUnreachable(f"cannot reach an Accord server at {self.url}: {reason}"
                                 " (check --url / ACCORD_URL)")

    async def _request(self, method: str, path: str, *, accept: str = TAXII,
                       params: Mapping[str, str] | list[tuple[str, str]] | None = None,
                       body: bytes | None = None, content_type: str | None = None,
                       headers: Mapping[str, str] | None = None,
                       ok: tuple[int, ...] = (200,)) -> _Response:
        """One request; 429 is retried after Retry-After, other errors raise ApiError."""
        extra = dict(headers or {})
        if content_type:
            extra["Content-Type"] = content_type
        for attempt in range(self.retries + 1):
            if (wait := self._not_before - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            try:
                # Never follow redirects: they would carry the key to wherever they point.
                # A file-like body is streamed; large raw bytes would block the event loop.
                data = io.BytesIO(body) if body is not None and len(body) > 65536 else body
                async with self.session.request(
                    method, self.url + path, params=params, data=data,
                    headers=self._headers(accept, extra), allow_redirects=False,
                ) as resp:
                    raw = await resp.read()
                    answer = _Response(resp.status, resp.headers, raw)
            except aiohttp.InvalidURL as exc:
                raise ServerUnreachable(f"{self.url!r} is not a valid server URL") from exc
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                raise self._unreachable(exc) from exc
            if answer.status == 429 and attempt < self.retries:
                self._not_before = max(self._not_before,
                                       time.monotonic() + _retry_after(answer.headers))
                continue
            if answer.status in ok:
                return answer
            raise self._error(answer, path)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _error(self, answer: _Response, path: str) -> AccordClientError:
        """The error an error answer stands for; a non-TAXII answer means a wrong URL."""
        try:
            body = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict) and "description" in body and "http_status" in body:
            return api_error(answer.status, str(body.get("title") or ""),
                             str(body.get("description") or ""), body.get("details"))
        if answer.status in (404, 405) or 300 <= answer.status < 400:
            return NotAnAccordServer(
                f"{self.url} does not look like an Accord server: {path} answered HTTP"
                f" {answer.status} without a TAXII error (check --url / ACCORD_URL)",
                http_status=answer.status)
        text = answer.body[:200].decode(errors="replace").strip()
        return api_error(answer.status, "HTTP error", text or f"HTTP {answer.status}")

    async def _json(self, path: str, **kwargs: Any) -> Any:
        answer = await self._request("GET", path, **kwargs)
        try:
            return answer.json()
        except orjson.JSONDecodeError as exc:
            raise NotAnAccordServer(f"{self.url}{path} did not answer JSON; is this an Accord"
                                    " server?") from exc

    # --- TAXII discovery and collections -----------------------------------------------------

    async def discovery(self) -> dict[str, Any]:
        """GET /taxii2/: the server's title and API roots."""
        found = await self._json("/taxii2/")
        if not isinstance(found, dict) or "api_roots" not in found:
            raise NotAnAccordServer(f"{self.url}/taxii2/ is not a TAXII 2.1 discovery resource")
        return found

    async def api_root(self, root: str = "root") -> dict[str, Any]:
        """GET /taxii2/{root}/: versions and max_content_length."""
        return await self._json(f"/taxii2/{root}/")

    async def max_content_length(self) -> int:
        """The largest request body the server accepts (from the API root, cached)."""
        if self._max_content_length is None:
            self._max_content_length = int((await self.api_root())["max_content_length"])
        return self._max_content_length

    async def collections(self) -> list[dict[str, Any]]:
        """The collections this key may see."""
        return (await self._json("/taxii2/root/collections/")).get("collections", [])

    async def find_collection(self, ref: str | uuid.UUID) -> str:
        """A collection's id from its id or its title (unambiguous among those this key
        sees; otherwise NotFound or AmbiguousName listing the matches)."""
        text = str(ref)
        try:
            uuid.UUID(text)
            return text
        except ValueError:
            pass
        found = await self.collections()
        for same in (lambda c: c.get("title") == text,
                     lambda c: str(c.get("title", "")).casefold() == text.casefold()):
            matches = [c for c in found if same(c)]
            if len(matches) == 1:
                return str(matches[0]["id"])
            if matches:
                listed = "; ".join(f"{c['id']} ({c.get('title')})" for c in matches)
                raise AmbiguousName(f"{len(matches)} collections are titled {text!r}: {listed};"
                                    " give the id")
        titles = ", ".join(repr(c.get("title")) for c in found) or "none"
        raise NotFound(404, "Not found", f"no collection with the id or title {text!r} visible"
                       f" to this key (it sees: {titles})")

    async def collection(self, collection: str | uuid.UUID) -> dict[str, Any]:
        """One collection resource; NotFound if this key may not see it."""
        return await self._json(f"/taxii2/root/collections/{collection}/")

    # --- posting -----------------------------------------------------------------------------

    async def object_versions(self, collection: str | uuid.UUID,
                              stix_id: str) -> list[dict[str, Any]]:
        """Every version of one object in a collection this key sees, oldest first."""
        found = await self._json(f"/taxii2/root/collections/{collection}/objects/{stix_id}/",
                                 params={"match[version]": "all"})
        return list(found.get("objects", []))

    async def status(self, status_id: str) -> dict[str, Any]:
        """GET a status resource of this key's organisation."""
        return await self._json(f"/taxii2/root/status/{status_id}/")

    async def post_envelope(self, collection: str | uuid.UUID, raw_objects: list[bytes],
                            *, wait_s: float = 300.0) -> dict[str, Any]:
        """POST one envelope of serialised objects; the status once it is complete."""
        body = b'{"objects":[' + b",".join(raw_objects) + b"]}"
        answer = await self._request("POST", f"/taxii2/root/collections/{collection}/objects/",
                                     body=body, content_type=TAXII, ok=(200, 201, 202))
        status = answer.json()
        deadline, delay = time.monotonic() + wait_s, 0.1
        # Accord answers with a complete status; a pending one (TAXII allows it) is polled,
        # unless all it waits for is a person's privacy review (days, not seconds).
        while (status.get("status") == "pending" and time.monotonic() < deadline
               and not _only_reviews(status)):
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            status = await self.status(status["id"])
        return status

    async def post_objects(self, collection: str | uuid.UUID,
                           objects: Iterable[dict[str, Any]], *,
                           skip: Iterable[int] = (), first_index: int = 0,
                           on_chunk: Callable[[ChunkResult], Any] | None = None) -> PostResult:
        """Post objects in envelopes that fit max_content_length; per-object failures.

        `skip` names chunk indexes already acknowledged (a resumed run); `first_index` is
        the index of the first chunk of `objects` (a run resumed after that many chunks,
        whose objects it left out); `on_chunk` is called after every acknowledged chunk,
        in the order the acknowledgements arrive (up to `in_flight` envelopes at once).
        """
        limit = await self.max_content_length()
        skipped = set(skip)
        result = PostResult()

        def batches() -> Iterator[tuple[int, list[bytes]]]:
            for index, (batch, too_large) in enumerate(
                    chunk_objects(objects, limit, self.max_chunk_objects), first_index):
                result.total += len(batch) + len(too_large)
                result.failures.extend(too_large)
                if index not in skipped and batch:
                    yield index, batch

        def acknowledged(chunk: ChunkResult) -> None:
            result.chunks.append(chunk)
            result.success_count += chunk.success_count
            result.failures.extend(chunk.failures)
            if on_chunk is not None:
                on_chunk(chunk)

        await self.post_batches(collection, batches(), acknowledged)
        return result

    async def post_batches(self, collection: str | uuid.UUID,
                           batches: Iterable[tuple[int, list[bytes]]],
                           on_ack: Callable[[ChunkResult], Any]) -> None:
        """POST each (index, serialised objects) envelope, up to `in_flight` awaiting their
        status at once; `on_ack(chunk)` runs once the server has acknowledged one (an empty
        batch is acknowledged as it comes: there is nothing to send).

        The next envelope is taken from `batches` (which may build it) only while fewer
        than `in_flight` are out, so a lazy source is never read far ahead. An envelope
        is acknowledged by its complete status only. After an error answer no more are
        sent, those out are awaited and recorded, then the error is raised; when this
        coroutine is cancelled or interrupted, what is in flight is abandoned unrecorded.
        """
        pending: dict[asyncio.Task[dict[str, Any]], tuple[int, int]] = {}
        error: BaseException | None = None

        async def settle_one() -> None:
            nonlocal error
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                index, count = pending.pop(task)
                if task.exception() is not None:
                    error = error or task.exception()
                    continue
                status = task.result()
                on_ack(ChunkResult(
                    index, count, status.get("id"), int(status.get("success_count", 0)),
                    [Failure(str(f.get("id", "")), str(f.get("version", "")),
                             str(f.get("message", ""))) for f in status.get("failures", [])]))

        try:
            for index, batch in batches:
                if not batch:
                    on_ack(ChunkResult(index, 0, None, 0, []))
                    continue
                task = asyncio.ensure_future(self._post_acknowledged(collection, batch))
                pending[task] = (index, len(batch))
                # Let it start sending before the next envelope is built or awaited.
                await asyncio.sleep(0)
                while len(pending) >= self.in_flight and error is None:
                    await settle_one()
                if error is not None:
                    break  # send no more; the ones out still get their answers recorded
            while pending:
                await settle_one()
        except KeyboardInterrupt:
            # Ctrl-C: abandon what is in flight at once, unacknowledged (a resume sends it
            # again; duplicates succeed); asyncio.run reaps the cancelled tasks.
            _abandon(pending)
            raise
        except BaseException:
            _abandon(pending)
            await asyncio.gather(*pending, return_exceptions=True)
            raise
        if error is not None:
            raise error

    async def _post_acknowledged(self, collection: str | uuid.UUID,
                                 raw_objects: list[bytes]) -> dict[str, Any]:
        """post_envelope, refusing to call a status acknowledged before it is complete."""
        status = await self.post_envelope(collection, raw_objects)
        if status.get("status") != "complete":
            raise AccordClientError(f"the status {status.get('id')} is still"
                                    f" {status.get('status')!r}; run again later to resume")
        return status

    # --- reading -----------------------------------------------------------------------------

    async def _pages(self, path: str, *, added_after: str | None, next: str | None,
                     limit: int | None, params: Mapping[str, str] | None
                     ) -> AsyncIterator[Page]:
        query: dict[str, str] = dict(params or {})
        if limit is not None:
            query["limit"] = str(limit)
        if added_after and not next:
            query["added_after"] = added_after
        while True:
            if next:
                query["next"] = next
            answer = await self._request("GET", path, params=query)
            envelope = answer.json()
            page = Page(envelope.get("objects", []), bool(envelope.get("more")),
                        envelope.get("next"), answer.headers.get("X-TAXII-Date-Added-First"),
                        answer.headers.get("X-TAXII-Date-Added-Last"))
            yield page
            if not page.more or not page.next:
                return
            next = page.next

    def pages(self, collection: str | uuid.UUID, *, added_after: str | None = None,
              next: str | None = None, limit: int | None = None,
              params: Mapping[str, str] | None = None) -> AsyncIterator[Page]:
        """Pages of a collection's objects, from added_after (or a `next` token) on."""
        return self._pages(f"/taxii2/root/collections/{collection}/objects/",
                           added_after=added_after, next=next, limit=limit, params=params)

    def feed_pages(self, feed: str | uuid.UUID, *, added_after: str | None = None,
                   next: str | None = None, limit: int | None = None,
                   params: Mapping[str, str] | None = None) -> AsyncIterator[Page]:
        """Pages of a feed read as a TAXII collection (/taxii2/feeds/)."""
        return self._pages(f"/taxii2/feeds/collections/{feed}/objects/",
                           added_after=added_after, next=next, limit=limit, params=params)

    async def objects(self, collection: str | uuid.UUID, *, added_after: str | None = None,
                      params: Mapping[str, str] | None = None
                      ) -> AsyncIterator[dict[str, Any]]:
        """Every object of a collection added after added_after, page after page."""
        async for page in self.pages(collection, added_after=added_after, params=params):
            for obj in page.objects:
                yield obj

    # --- feeds -------------------------------------------------------------------------------

    async def create_feed(self, name: str, filter: FeedFilter | Mapping[str, Any] | None = None,
                          webhook: WebhookSpec | Mapping[str, Any] | None = None,
                          *, tlp1_markings: bool = False) -> FeedCreated:
        """Save a feed for this key's organisation."""
        spec = FeedCreate.model_validate({
            "name": name,
            "filter": filter if filter is not None else {},
            **({"webhook": webhook} if webhook is not None else {}),
            "tlp1_markings": tlp1_markings,
        })
        answer = await self._request("POST", "/api/v1/feeds", accept="application/json",
                                     body=spec.model_dump_json(exclude_none=True).encode(),
                                     content_type="application/json", ok=(201,))
        return FeedCreated.model_validate_json(answer.body)

    async def feeds(self) -> list[Feed]:
        """This key's organisation's feeds."""
        answer = await self._request("GET", "/api/v1/feeds", accept="application/json")
        return FeedList.model_validate_json(answer.body).feeds

    async def feed(self, feed: str | uuid.UUID) -> Feed:
        """One feed; NotFound if it is not this organisation's."""
        answer = await self._request("GET", f"/api/v1/feeds/{feed}", accept="application/json")
        return Feed.model_validate_json(answer.body)

    async def update_feed(self, feed: str | uuid.UUID, **changes: Any) -> FeedCreated:
        """Change a feed (name, filter, webhook, remove_webhook); a new webhook URL gets a new
        secret, shown in the answer."""
        spec = FeedUpdate.model_validate(changes)
        answer = await self._request("PATCH", f"/api/v1/feeds/{feed}",
                                     accept="application/json",
                                     body=spec.model_dump_json(exclude_none=True).encode(),
                                     content_type="application/json")
        return FeedCreated.model_validate_json(answer.body)

    async def deliveries(self, feed: str | uuid.UUID) -> list[Delivery]:
        """The feed's webhook delivery log, newest first."""
        answer = await self._request("GET", f"/api/v1/feeds/{feed}/deliveries",
                                     accept="application/json")
        return DeliveryList.model_validate_json(answer.body).deliveries

    async def delete_feed(self, feed: str | uuid.UUID) -> None:
        """Delete a feed with its delivery log."""
        await self._request("DELETE", f"/api/v1/feeds/{feed}", accept="application/json",
                            ok=(200, 204))

    async def export(self, feed: str | uuid.UUID, fmt: str = "txt", etag: str | None = None,
                     kinds: Iterable[str] = ()) -> Export:
        """A feed's export (txt, csv, stix); 304 (body None) when etag is still current."""
        headers = {"If-None-Match": etag} if etag else None
        answer = await self._request(
            "GET", f"/api/v1/feeds/{feed}/export.{fmt}", accept="*/*",
            params=[("kind", k) for k in kinds], headers=headers, ok=(200, 304))
        return Export(answer.status, answer.headers.get("ETag"),
                      answer.body if answer.status == 200 else None,
                      answer.headers.get("Content-Type"))

    async def stream(self, feed: str | uuid.UUID, last_event_id: str | None = None, *,
                     from_beginning: bool = False, reconnect_delay_s: float | None = None,
                     max_reconnects: int | None = None, idle_timeout_s: float = 90.0
                     ) -> AsyncIterator[Event]:
        """Events of a feed's live stream, reconnecting and resuming after the last event.

        The first connection's errors raise (a wrong URL or key fails at once); later drops
        reconnect after the server's `retry:` delay (or reconnect_delay_s) with Last-Event-ID,
        so no event is missed or repeated. `max_reconnects=None` retries for ever.
        """
        path = f"/api/v1/feeds/{feed}/stream"
        delay = reconnect_delay_s if reconnect_delay_s is not None else 2.0
        connected_once, failures_in_row = False, 0
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=idle_timeout_s)
        while True:
            headers = self._headers("text/event-stream")
            params = {}
            if last_event_id:
                headers["Last-Event-ID"] = last_event_id
            elif from_beginning:
                params["from"] = "beginning"
            try:
                async with self.session.get(self.url + path, headers=headers, params=params,
                                            timeout=timeout, allow_redirects=False) as resp:
                    if resp.status != 200:
                        answer = _Response(resp.status, resp.headers, await resp.read())
                        error = self._error(answer, path)
                        # Refusals (bad key, unknown feed) are final; overload is not.
                        if resp.status != 429 and resp.status < 500:
                            raise error
                        raise _Retry(error)
                    connected_once, failures_in_row = True, 0
                    async for event_id, name, data, retry in parse_sse(resp.content):
                        if retry is not None and reconnect_delay_s is None:
                            delay = retry / 1000
                        if name not in ("object", "message"):
                            continue
                        if event_id:
                            last_event_id = event_id
                        yield Event(event_id, name, orjson.loads(data))
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError,
                    _Retry) as exc:
                cause = exc.error if isinstance(exc, _Retry) else exc
                if not connected_once:
                    if isinstance(cause, AccordClientError):
                        raise cause from None
                    raise self._unreachable(exc) from exc
                failures_in_row += 1
                if max_reconnects is not None and failures_in_row > max_reconnects:
                    if isinstance(cause, AccordClientError):
                        raise cause from None
                    raise self._unreachable(exc) from exc
            # A clean close (restart, deploy) or a drop: resume after the delay, like a
            # browser's EventSource, backing off while the server stays away.
            await asyncio.sleep(min(delay * max(1, 2 ** max(0, failures_in_row - 1)), 60.0))


def _only_reviews(status: Mapping[str, Any]) -> bool:
    """Whether everything a pending status still waits for is held for privacy review."""
    pendings = status.get("pendings") or []
    return bool(pendings) and all(p.get("message") == HELD_FOR_REVIEW for p in pendings)


def _abandon(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel tasks still running; read the outcome of finished ones (never logged)."""
    for task in tasks:
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()


class _Retry(Exception):
    """A retryable error answer on the stream (429, 5xx)."""

    def __init__(self, error: AccordClientError) -> None:
        super().__init__(str(error))
        self.error = error


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return min(max(float(headers.get("Retry-After", "1")), 0.0), _MAX_RETRY_AFTER_S)
    except ValueError:
        return 1.0


__all__ = [
    "AccordClient", "ApiError", "ChunkResult", "Event", "Export", "Failure", "Page",
    "PostResult", "RateLimited", "chunk_objects", "parse_sse",
]
