"""Client tests: the `accord` CLI run as a user runs it, against the test server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Done:
    """A finished `accord` run."""

    code: int
    out: str
    err: str


class Cli:
    """Runs `python -m server.cli ...` with ACCORD_URL/ACCORD_KEY and a private home."""

    def __init__(self, base_url: str, home: Path) -> None:
        self.base_url = base_url
        self.home = home
        self.procs: list[asyncio.subprocess.Process] = []

    def env(self, key: str | None, url: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("ACCORD_URL", "ACCORD_KEY", "ACCORD_PROFILE")}
        env.update({"XDG_STATE_HOME": str(self.home / "state"),
                    "XDG_CONFIG_HOME": str(self.home / "config")})
        if url != "":  # "" leaves ACCORD_URL unset
            env["ACCORD_URL"] = url or self.base_url
        if key is not None:
            env["ACCORD_KEY"] = key
        return env

    async def start(self, key: str | None, *args: str, url: str | None = None
                    ) -> asyncio.subprocess.Process:
        """Start `accord ARGS` without waiting (the test server shares this event loop)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", *args, env=self.env(key, url),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        self.procs.append(proc)
        return proc

    async def __call__(self, key: str | None, *args: str, url: str | None = None,
                       timeout: float = 120) -> Done:
        proc = await self.start(key, *args, url=url)
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        assert proc.returncode is not None
        return Done(proc.returncode, out.decode(), err.decode())

    async def close(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()


@pytest.fixture
async def cli(base_url: str, tmp_path: Path) -> AsyncIterator[Cli]:
    runner = Cli(base_url, tmp_path)
    yield runner
    await runner.close()
