"""Read-only figures for the operations endpoints (metrics), computed at scrape time."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

WEBHOOK_STATES = ("pending", "delivered", "dead")


@dataclass(frozen=True, slots=True)
class WebhookOutcomes:
    """Webhook deliveries of the whole deployment (every process), by outbox state."""

    deliveries: dict[str, int]
    attempts: dict[str, int]
    oldest_pending_s: float


async def webhook_outcomes(conn: asyncpg.Connection) -> WebhookOutcomes:
    """Count the webhook outbox by state, and how long its oldest pending batch has waited."""
    rows = await conn.fetch(
        "SELECT state, count(*) AS deliveries, coalesce(sum(attempts), 0) AS attempts,"
        " coalesce(extract(epoch FROM now() - min(created)), 0)::float8 AS oldest_s"
        " FROM webhook_deliveries GROUP BY state"
    )
    deliveries = dict.fromkeys(WEBHOOK_STATES, 0)
    attempts = dict.fromkeys(WEBHOOK_STATES, 0)
    oldest = 0.0
    for row in rows:
        deliveries[row["state"]] = row["deliveries"]
        attempts[row["state"]] = row["attempts"]
        if row["state"] == "pending":
            oldest = row["oldest_s"]
    return WebhookOutcomes(deliveries, attempts, oldest)
