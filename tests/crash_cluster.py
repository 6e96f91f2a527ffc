"""A PostgreSQL cluster of the test's own that it may kill -9 mid-ingest.

Killing every process loses what PostgreSQL had not handed to the operating system (the
WAL buffers of commits acknowledged early), not the kernel's page cache: it tests that
acknowledged commits are durable in PostgreSQL's sense, not the disk's fsync.

The shared test database cannot be killed, so crash tests start the embedded PostgreSQL
binaries (pgserver) on a data directory of their own, in a child process that leaves the
server running; `crash()` SIGKILLs the postmaster and every backend, and `start()` again
runs crash recovery from the WAL on disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# pgserver remembers in-process which clusters it started: start each in a fresh process.
_START = (
    "import sys, warnings; warnings.simplefilter('ignore'); import pgserver;"
    "print(pgserver.get_server(sys.argv[1], cleanup_mode=None).get_uri())"
)


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    """Exited, or a zombie nobody reaps (PID 1 of a sandbox may not)."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z"
    except OSError:
        return True


class CrashCluster:
    """An embedded PostgreSQL on a temporary data directory, killable with SIGKILL."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="accord-crash-"))
        self.pgdata = self.root / "pgdata"

    def start(self) -> str:
        """Start (or recover) the cluster; return its DSN."""
        done = subprocess.run([sys.executable, "-c", _START, str(self.pgdata)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    def _pids(self) -> list[int]:
        try:
            postmaster = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [postmaster, *_children(postmaster)]

    def crash(self) -> None:
        """SIGKILL the postmaster and every backend; leave the data directory as it is."""
        pids = self._pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(pid) for pid in pids), "PostgreSQL survived SIGKILL"
        # Lock files naming dead (possibly unreaped) processes would block the restart.
        for lock in (self.pgdata / "postmaster.pid", self.pgdata / ".s.PGSQL.5432.lock"):
            lock.unlink(missing_ok=True)

    def close(self) -> None:
        """Kill whatever still runs and remove the data directory."""
        self.crash()
        shutil.rmtree(self.root, ignore_errors=True)
