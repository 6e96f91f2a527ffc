"""End-to-end `accord push --txt` of a large IOC list, beside the server's ingest figure.

Run from the repository root: `.venv/bin/python bench/push.py [--values 1000000]`.
One real `accord serve` (embedded PostgreSQL in a temporary directory unless
--database-url). Three figures, each printed:
1. the server's ingest rate: pre-built indicators POSTed by 4 concurrent clients in
   1,000-object envelopes (as bench/ingest.py, one round);
2. `accord push --txt FILE` of N distinct IPv4 values, as a member runs it: read, parse,
   build the indicators, post them with --in-flight envelopes awaiting their status at
   once; values/s from the command's start to its exit;
3. Ctrl-C: a second push of the same list to another collection gets SIGINT once its first
   envelope is acknowledged; the time from the signal to the process's exit, its exit code,
   and the rerun's "skipping ..." line (it builds nothing of what was acknowledged).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
from common import (
    ROOT,
    AccordServer,
    TaxiiClient,
    describe_server,
    envelopes,
    make_indicators,
    post_all,
)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--values", type=int, default=1_000_000, help="values in the pushed list")
    p.add_argument("--ingest-objects", type=int, default=50_000,
                   help="indicators of the server's ingest figure")
    p.add_argument("--database-url", help="PostgreSQL DSN (default: embedded, temp dir)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="server processes (accord serve --workers)")
    p.add_argument("--time-limit", type=float, default=1800, help="seconds per phase, at most")
    p.add_argument("--in-flight", type=int, default=3,
                   help="accord push --in-flight: envelopes awaiting their status at once")
    return p.parse_args()


def _push_env(server: AccordServer, token: str) -> dict[str, str]:
    env = {k: v for k, v in server.env.items() if not k.startswith("ACCORD_")}
    env.update(ACCORD_URL=server.base, ACCORD_KEY=token, XDG_STATE_HOME=str(server.tmp / "st"))
    return env


def _write_list(path: Path, count: int) -> None:
    with path.open("w") as out:  # distinct addresses of 10.0.0.0/8, in order
        for start in range(0, count, 100_000):
            out.write("".join(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n"
                              for i in range(start, min(count, start + 100_000))))


def _interrupt(server: AccordServer, token: str, collection: str, src: Path,
               limit_s: float, in_flight: int) -> None:
    """SIGINT once the first envelope is acknowledged; time to exit; then the rerun."""
    env = _push_env(server, token)
    states = server.tmp / "st" / "accord" / "push"
    argv = [sys.executable, "-m", "server.cli", "push", "--txt", str(src), "--collection",
            collection, "--in-flight", str(in_flight), "-q"]
    before = set(states.glob("*.json")) if states.exists() else set()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None:
        new = set(states.glob("*.json")) - before if states.exists() else set()
        if new and orjson.loads(next(iter(new)).read_bytes()).get("chunks"):
            break
        time.sleep(0.01)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    print(f"Ctrl-C: SIGINT -> exit in {time.perf_counter() - sent:.2f} s, exit code"
          f" {proc.returncode} ({err.strip().splitlines()[-1] if err.strip() else ''})")
    # Without -q the rerun says what it skips; stopped once it has (the rest is the first
    # figure again). Bounded by lines read and by the time limit.
    rerun = subprocess.Popen(argv[:-1], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert rerun.stderr is not None
    skipped = ""
    deadline = time.monotonic() + limit_s
    for line in rerun.stderr:
        if "skipping" in line or time.monotonic() > deadline:
            skipped = line.strip()
            break
    rerun.send_signal(signal.SIGINT)
    rerun.communicate(timeout=60)
    print(f"rerun: {skipped or 'no skipping line'}")


def main() -> None:
    """Measure ingest, then the push of a large list, then Ctrl-C; print each figure."""
    args = _args()
    with AccordServer(args.database_url, workers=args.workers) as server:
        describe_server(server)
        token, collection = server.setup()
        bodies = envelopes(make_indicators(args.ingest_objects), 1000)
        client = TaxiiClient(server.target(token, collection), 4)

        async def ingest():
            async with client:
                return await post_all(client, bodies, 4, args.time_limit)

        result = asyncio.run(ingest())
        print(f"server ingest (4 clients, pre-built envelopes): {result.summary()}")

        src = server.tmp / "values.txt"
        _write_list(src, args.values)
        token, collection = server.setup()
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "push", "--txt", str(src), "--collection",
             collection, "--in-flight", str(args.in_flight), "-q"], cwd=ROOT,
            env=_push_env(server, token), capture_output=True, text=True,
            timeout=args.time_limit)
        seconds = time.perf_counter() - started
        print(f"accord push --txt --in-flight {args.in_flight} of {args.values:,} values:"
              f" exit {done.returncode},"
              f" {seconds:.1f} s = {args.values / seconds:,.0f} values/s end to end"
              f" ({done.stdout.strip()})")
        if done.returncode != 0:
            print(done.stderr[-2000:])
        print(f"push / server ingest: {args.values / seconds / result.rate:.2f}"
              f" ({args.values / seconds:,.0f} vs {result.rate:,.0f} objects/s)")
        token, collection = server.setup()
        _interrupt(server, token, collection, src, args.time_limit, args.in_flight)


if __name__ == "__main__":
    main()
