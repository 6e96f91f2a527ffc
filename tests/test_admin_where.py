"""`accord admin` in another directory finds the server's data or says where it looked.

Only `accord serve` creates a database: an admin command never starts a new, empty embedded
PostgreSQL nor sets up an empty ACCORD_DATABASE_URL database behind the user's back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.conftest import fresh_database
from tests.served import Served


def _accord(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=cwd,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120)


def _says_where(stderr: str, looked_in: Path) -> None:
    for hint in (str(looked_in), "ACCORD_DATA_DIR", "ACCORD_DATABASE_URL", "--url",
                 "Only `accord serve` creates a database"):
        assert hint in stderr, (hint, stderr)


def test_admin_in_a_directory_without_a_database_refuses_and_creates_nothing(tmp_path):
    for command in (("admin", "org", "list"), ("migrate",)):
        done = _accord(tmp_path, {}, *command)
        assert done.returncode == 1 and done.stdout == ""
        _says_where(done.stderr, tmp_path / ".accord" / "pgdata")
        assert list(tmp_path.iterdir()) == []


async def test_admin_refuses_an_empty_database_url_and_leaves_it_empty(admin_dsn, tmp_path):
    async with fresh_database(admin_dsn) as dsn:
        for _ in range(2):  # still refused: the first refusal did not set the database up
            done = _accord(tmp_path, {"ACCORD_DATABASE_URL": dsn}, "admin", "org", "list")
            assert done.returncode == 1
            assert "names a database Accord has not set up" in done.stderr
            assert "--url" in done.stderr and "ACCORD_DATA_DIR" in done.stderr
        # `accord migrate` sets it up on purpose; then the admin commands act on it.
        assert _accord(tmp_path, {"ACCORD_DATABASE_URL": dsn}, "migrate").returncode == 0
        listed = _accord(tmp_path, {"ACCORD_DATABASE_URL": dsn}, "admin", "org", "list")
        assert listed.returncode == 0, listed.stderr


async def test_admin_elsewhere_finds_the_running_servers_embedded_data(tmp_path):
    server_dir, elsewhere = tmp_path / "server", tmp_path / "elsewhere"
    server_dir.mkdir()
    elsewhere.mkdir()
    served = Served("", cwd=server_dir)
    try:
        token = served.admin_token()
        await served.ready(token)
        refused = _accord(elsewhere, {}, "admin", "org", "create", "Lost", "--sector",
                          "private")
        assert refused.returncode == 1
        _says_where(refused.stderr, elsewhere / ".accord" / "pgdata")
        assert list(elsewhere.iterdir()) == []
        data = {"ACCORD_DATA_DIR": str(server_dir / ".accord")}
        made = _accord(elsewhere, data, "admin", "org", "create", "Found", "--sector", "private")
        assert made.returncode == 0, made.stderr
        # The server sees what the command wrote: the same database, not a new one.
        remote = _accord(elsewhere, {"ACCORD_URL": served.url, "ACCORD_KEY": token},
                         "admin", "org", "list")
        assert "Found" in remote.stdout and "Lost" not in remote.stdout
    finally:
        served.stop()


async def test_first_start_prints_the_exports_quietly_and_a_lost_key_is_recovered(admin_dsn,
                                                                                 tmp_path):
    async with fresh_database(admin_dsn) as dsn:
        served = Served(dsn, cwd=tmp_path)
        try:
            token = served.admin_token()
            await served.ready(token)
            exports = [line.strip() for line in served.printed if "export " in line]
            assert exports == [f"export ACCORD_URL=http://127.0.0.1:{served.port}",
                               f"export ACCORD_KEY={token}"]
            db = {"ACCORD_DATABASE_URL": dsn}
            remote = _accord(tmp_path, {"ACCORD_URL": served.url, "ACCORD_KEY": token},
                             "admin", "key", "recover")
            assert remote.returncode == 1 and "without --url" in remote.stderr
            done = _accord(tmp_path, db, "admin", "key", "recover")
            assert done.returncode == 0, done.stderr
            last = done.stdout.strip().splitlines()[-1].strip()
            new = last.removeprefix("export ACCORD_KEY=")
            assert new != token
            async with aiohttp.ClientSession() as http, http.get(
                    f"{served.url}/api/v1/orgs", headers={"Authorization": f"Bearer {new}"}
            ) as resp:
                assert resp.status == 200
            audit = _accord(tmp_path, db, "admin", "audit", "--action", "key.created")
            assert new.split(".")[0] in audit.stdout
        finally:
            log = served.stop()
        # Nothing of the embedded database's narration, nor initdb's pg_ctl hint.
        assert "pg_ctl" not in "".join(served.printed) + log


def test_embedded_database_logs_are_debug(tmp_path):
    code = ("from server import logs; logs.configure('INFO');"
            "from server.db.embedded import start_embedded; from pathlib import Path;"
            "start_embedded(Path('.accord'))")
    quiet = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    loud = subprocess.run([sys.executable, "-c", code.replace("'INFO'", "'DEBUG'")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert '"level":"debug","logger":"pgserver"' in loud.stderr
