"""Invite a console user from the command line: the first org-admin of an organisation.

`python -m server.console.invite --org NAME --email ADDRESS --name "Full Name"
[--role org-admin] [--base-url https://accord.example]` prints the one-time link. Reads the
database from the ACCORD_* settings like `accord serve`. Audited as the platform's act.
"""

from __future__ import annotations

import argparse
import asyncio

import asyncpg

from schemas.principal import Role
from server.config import Settings
from server.db.migrate import migrate
from server.db.pool import resolve_dsn
from server.store import audit, orgs, users

_HOURS = 72


async def invite(dsn: str, org_name: str, email: str, name: str, role: str) -> str:
    """Create the invitation; its token (never stored) is returned."""
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        async with conn.transaction():
            org = await orgs.org_by_name(conn, org_name)
            user, token = await users.invite_user(conn, org.id, email, name, role, _HOURS)
            await audit.record(conn, [audit.entry(None, "user.invited", org.id, str(user.id),
                                                  email=email, role=role, by="command line")])
        return token
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, invite, print the link."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--org", required=True, help="the organisation's name")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True, help="the person's name")
    p.add_argument("--role", default=Role.ORG_ADMIN.value, choices=[r.value for r in Role])
    p.add_argument("--base-url", default=None, help="the console's external base URL")
    args = p.parse_args(argv)
    settings = Settings.from_env()
    token = asyncio.run(invite(resolve_dsn(settings), args.org, args.email, args.name,
                               args.role))
    base = (args.base_url or settings.public_url
            or f"http://{settings.host}:{settings.port}").rstrip("/")
    print(f"{base}/console/invite/{token}  (valid {_HOURS} hours, once)")


if __name__ == "__main__":
    main()
