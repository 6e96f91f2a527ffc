"""Webhook delivery: batches through an outbox, signed, retried with backoff, at least once.

Signature (documented in the README): header `X-Accord-Signature: t=<unix seconds>,v1=<hex>`
where hex is HMAC-SHA256(secret, f"{t}.{body}"); `X-Accord-Delivery` carries the batch id
for de-duplication, unchanged across retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import socket
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import orjson
from aiohttp import web
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from schemas.taxii import Cursor
from server.config import SETTINGS, Settings
from server.db.pool import POOL
from server.feeds.channels import DeliveryChannel
from server.feeds.notifier import NOTIFIER, Notifier
from server.feeds.reading import read_after
from server.feeds.removals import removal, removed_ids
from server.store import feeds as feed_store
from server.store.objects import Projection, bodies_visible
from server.store.records import VersionRow
from server.store.removals import RemovalRow, visible_removals

log = logging.getLogger("accord.webhooks")
_MAX_BACKOFF_S = 3600.0
_TIMEOUT = aiohttp.ClientTimeout(total=10)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Accord-Signature value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class UnsafeTarget(ValueError):
    """A webhook URL this deployment may not call."""


_NOT_GLOBAL = "webhook targets must be globally routable addresses"


async def check_target(url: str, allow_private: bool) -> None:
    """Refuse non-HTTP(S) URLs and, unless allowed, hosts that are not globally routable.

    Plain HTTP is allowed only to loopback (tests, on-premise relays). Every address the
    name resolves to is checked, so DNS cannot smuggle in an internal one. Refusals never
    name the address a host resolved to: that would tell any caller internal DNS.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeTarget("webhook URLs must be http(s) with a host")
    try:
        parts.hostname.encode("idna")
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM,
        )
    except UnicodeError:
        raise UnsafeTarget("the webhook host is not a valid host name") from None
    except OSError:
        raise UnsafeTarget("the webhook host does not resolve") from None
    addresses = {ipaddress.ip_address(info[4][0].partition("%")[0]) for info in infos}
    if parts.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise UnsafeTarget("plain-HTTP webhooks are allowed only to loopback addresses")
    if not allow_private and any(internal(a) for a in addresses):
        raise UnsafeTarget(_NOT_GLOBAL)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Special-purpose blocks that not every Python's is_global leaves out (3.11 counts
# 192.0.0.8, the IPv4 dummy address, as global): none is a webhook receiver.
_SPECIAL = tuple(ipaddress.ip_network(n) for n in
                 ("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4"))


def internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is not globally routable, or carries one that is not (IPv4-mapped,
    6to4, Teredo, NAT64 forms tunnel to the IPv4 address inside them)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(inner is not None and internal(inner) for inner in embedded):
            return True
    # is_global leaves out 100.64.0.0/10 (carrier NAT, cloud metadata) and 192.0.0.0/24;
    # multicast is never a webhook.
    return (not address.is_global or address.is_multicast
            or (address.version == 4 and any(address in network for network in _SPECIAL)))


class _CheckedResolver(ThreadedResolver):
    """Resolves for the connection itself and refuses internal addresses there, so a name
    that passed check_target cannot resolve again to an internal one (DNS rebinding)."""

    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        hosts = await super().resolve(host, port, family)
        for found in hosts:
            if not self.allow_private and internal(ipaddress.ip_address(found["host"])):
                raise UnsafeTarget(_NOT_GLOBAL)
        return hosts


def webhook_session(settings: Settings) -> aiohttp.ClientSession:
    """The HTTP session webhooks are delivered with: internal addresses refused at connect."""
    connector = aiohttp.TCPConnector(resolver=_CheckedResolver(settings.webhook_allow_private))
    return aiohttp.ClientSession(timeout=_TIMEOUT, connector=connector)


class WebhookWorker:
    """Fills the outbox from each webhook feed and delivers what is due."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, notifier: Notifier) -> None:
        self.pool = pool
        self.settings = settings
        self.notifier = notifier

    async def run(self) -> None:
        """Loop for ever: on every commit (or each second) enqueue, then deliver."""
        async with webhook_session(self.settings) as http:
            while True:
                seen = self.notifier.generation
                try:
                    # Without webhook feeds nothing can be queued or due: one query a round.
                    if await self.enqueue():
                        await self.deliver(http)
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("webhook round failed", extra={"fields": {"error": str(exc)}})
                await self.notifier.wait(seen, 1.0)

    async def enqueue(self) -> bool:
        """Move new visible objects of each webhook feed into outbox batches.

        Returns whether any feed has a webhook.
        """
        async with self.pool.acquire() as conn:
            feed_ids = await feed_store.webhook_feeds(conn)
            for feed_id in feed_ids:
                async with conn.transaction():
                    locked = await feed_store.lock_webhook_feed(conn, feed_id)
                    if locked is None:
                        continue
                    feed, added, seq = locked
                    reader = await feed_store.feed_reader(conn, feed)
                    page = await read_after(conn, reader, feed, Cursor(added, seq),
                                            self.settings.webhook_batch, Projection.POSITION)
                    rows = _objects_then_removals(page.rows)
                    if rows:
                        last = rows[-1]
                        await feed_store.enqueue_delivery(
                            conn, feed.id,
                            [r.seq for r in rows if not isinstance(r, RemovalRow)],
                            last.date_added, last.seq,
                            [r.seq for r in rows if isinstance(r, RemovalRow)],
                        )
        return bool(feed_ids)

    async def deliver(self, http: aiohttp.ClientSession) -> int:
        """Attempt every due delivery once; return how many were delivered."""
        delivered = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                due = await feed_store.claim_due(conn, 20)
                if not due:
                    return delivered
                for delivery in due:
                    ok = await self._attempt(conn, http, delivery)
                    delivered += ok

    async def _attempt(self, conn: asyncpg.Connection, http: aiohttp.ClientSession,
                       delivery: feed_store.DueDelivery) -> bool:
        feed = await feed_store.get_feed_by_id(conn, delivery.feed_id)
        reader = await feed_store.feed_reader(conn, feed)
        # Rights are judged again at each attempt: what the organisation may no longer see
        # is left out of the batch.
        bodies = await bodies_visible(conn, reader, delivery.seqs, tlp1=feed.tlp1_markings)
        gone = await visible_removals(conn, reader, delivery.removal_seqs)
        body = (
            b'{"delivery":"' + str(delivery.id).encode() + b'","feed":"'
            + str(delivery.feed_id).encode() + b'","objects":['
            + ",".join(bodies).encode() + b'],"removed":'
            + orjson.dumps(removed_ids(bodies) + [r.stix_id for r in gone])
            + b',"removals":[' + b",".join(removal(r) for r in gone) + b"]}"
        )
        status, error = None, None
        try:
            await check_target(delivery.url, self.settings.webhook_allow_private)
            now = int(time.time())
            async with http.post(delivery.url, data=body, allow_redirects=False, headers={
                "Content-Type": "application/json",
                "X-Accord-Delivery": str(delivery.id),
                "X-Accord-Signature": sign(delivery.secret, now, body),
            }) as resp:
                status = resp.status
            ok = 200 <= status < 300
            if not ok:
                error = f"HTTP {status}"
        except (aiohttp.ClientError, OSError, TimeoutError, UnsafeTarget) as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"[:500]
        backoff = min(self.settings.webhook_backoff_s * 2 ** delivery.attempts, _MAX_BACKOFF_S)
        state = await feed_store.record_attempt(conn, delivery, ok=ok, status=status,
                                                error=error, retry_in_s=backoff)
        log.info("webhook attempt", extra={"fields": {
            "delivery": str(delivery.id), "state": state, "status": status}})
        return ok


def _objects_then_removals(rows: list[VersionRow]) -> list[VersionRow]:
    """The longest prefix in which no object follows a removal event: a batch lists its
    objects, then its removals, and applying them in that order is commit order (an id
    erased and posted again is never dropped after its new version)."""
    for n, row in enumerate(rows):
        if n and not isinstance(row, RemovalRow) and isinstance(rows[n - 1], RemovalRow):
            return rows[:n]
    return rows


async def run_worker(worker: WebhookWorker) -> None:
    """Run the worker until cancelled."""
    with contextlib.suppress(asyncio.CancelledError):
        await worker.run()


async def _worker_lifetime(app: web.Application) -> AsyncIterator[None]:
    """The webhook worker of this process, for as long as the application lives."""
    worker = WebhookWorker(app[POOL], app[SETTINGS], app[NOTIFIER])
    task = asyncio.create_task(run_worker(worker))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


CHANNEL = DeliveryChannel("webhook", lifetime=_worker_lifetime)
