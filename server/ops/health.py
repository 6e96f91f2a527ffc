"""Liveness (/healthz) and readiness (/readyz) probes for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

import asyncpg
import orjson
from aiohttp import web

from server.db.migrate import pending
from server.db.pool import POOL
from server.store.peers import peer_stats
from server.web.apis import OPERATIONS_API, RouteTable
from server.web.auth import public
from server.web.middleware import error_response

# A probe must answer quickly even when the database hangs; orchestrators time out at ~5 s.
READY_TIMEOUT_S = 2.0

routes = RouteTable(OPERATIONS_API)


async def readiness(pool: asyncpg.Pool, timeout: float = READY_TIMEOUT_S) -> dict[str, object]:
    """What is wrong with the database, by check; an empty dict when ready to serve."""
    try:
        async with asyncio.timeout(timeout), pool.acquire() as conn:
            missing = await pending(conn)
    except TimeoutError:
        return {"database": f"no answer within {timeout:g} s"}
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
            asyncpg.exceptions.InternalClientError) as exc:
        # The class only: a driver message may name hosts or users.
        return {"database": f"unreachable ({type(exc).__name__})"}
    if missing:
        return {"migrations": {"pending": missing}}
    return {}


def _json(body: dict[str, object], status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body),
                        headers={"Content-Type": "application/json", "Cache-Control": "no-store"})


@routes.get("/healthz")
@public
async def healthz(request: web.Request) -> web.Response:
    """The process is up and its event loop answers (no database involved)."""
    return _json({"status": "ok"})


@routes.get("/readyz")
@public
async def readyz(request: web.Request) -> web.Response:
    """Ready for traffic: the database answers and every shipped migration is applied."""
    problems = await readiness(request.app[POOL])
    if problems:
        return error_response(
            request, 503, "Not ready", "; ".join(f"{name} not ready" for name in problems),
            details={"checks": problems}, headers={"Cache-Control": "no-store"},
        )
    return _json({"status": "ready", "checks": {"database": "ok", "migrations": "current"},
                  **await _peer_health(request.app[POOL])})


async def _peer_health(pool: asyncpg.Pool) -> dict[str, object]:
    """One line on federation peers, for information: a peer down never makes this
    exchange unready. Counts only: the probe is public, and the list of peers is not."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S), pool.acquire() as conn:
            stats = await peer_stats(conn)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return {}
    if not stats:
        return {}
    failing = sum(1 for s in stats if not s.paused and (s.pull_errors or s.push_errors))
    paused = sum(1 for s in stats if s.paused)
    return {"details": {"peers": f"{len(stats) - failing - paused} healthy, {failing} failing,"
                                 f" {paused} paused"}}
