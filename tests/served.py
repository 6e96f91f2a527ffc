"""`accord serve` as a child process on a free loopback port, as an operator starts it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """An `accord serve` child process on a loopback port."""

    def __init__(self, dsn: str, *, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        if dsn:
            base["ACCORD_DATABASE_URL"] = dsn
        else:  # the embedded PostgreSQL under cwd/.accord, as a newcomer starts it
            base.pop("ACCORD_DATABASE_URL", None)
        self.printed: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
            env=base, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )

    def first_lines(self, count: int) -> list[str]:
        """The next count lines the server printed on stdout."""
        assert self.proc.stdout is not None
        lines = [self.proc.stdout.readline() for _ in range(count)]
        self.printed.extend(lines)
        return lines

    def admin_token(self) -> str:
        """Read stdout up to the first start's `export ACCORD_KEY=...` line; its token."""
        assert self.proc.stdout is not None
        for _ in range(30):
            line = self.proc.stdout.readline()
            self.printed.append(line)
            if line.strip().startswith("export ACCORD_KEY="):
                return line.strip().split("=", 1)[1]
        raise AssertionError(f"no admin key printed: {self.printed}")

    async def ready(self, token: str) -> None:
        """Wait until the server answers discovery (30 s at most)."""
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                try:
                    async with http.get(f"{self.url}/taxii2/",
                                        headers={"Authorization": f"Bearer {token}"}) as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("server did not start within 30 s")

    def _rest(self) -> str:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            return self.proc.stdout.read()

    def kill(self) -> str:
        """SIGKILL, as a crash; return what it printed since first_lines."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        return self._rest()

    def stop(self) -> str:
        """SIGINT, as an operator; return what it printed since first_lines."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            return self.kill()
        return self._rest()
