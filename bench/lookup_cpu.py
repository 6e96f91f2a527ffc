"""Where a lookup's CPU goes: wrk drives single lookups at a server holding a database an
earlier `bench/lookup.py` run filled, while /proc is sampled by process class.

Run from the repository root (needs `wrk`, Debian's package):
`.venv/bin/python bench/lookup_cpu.py --database-url DSN [--count 1000000] [--seconds 15]`.
Prints lookups/s, the cores each class used (server processes, PostgreSQL backends, wrk)
and the CPU milliseconds each spent a lookup, with a calibration of this machine's CPU (a
fixed pure-Python loop) so figures of two machines can be compared.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import lookup as lookup_bench
import scale
from common import AccordServer, BenchError

_CLK = os.sysconf("SC_CLK_TCK")


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--database-url", required=True, help="filled by bench/lookup.py")
    p.add_argument("--count", type=int, default=1_000_000, help="indicators stored there")
    p.add_argument("--ranges", type=int, default=1000, help="ranges stored there")
    p.add_argument("--workers", type=int, default=2, help="accord serve --workers")
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument("--seconds", type=float, default=15, help="length of the sample")
    return p.parse_args()


def _ticks(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return 0


def _by_class(server: set[int], client: int) -> dict[str, int]:
    out = {"server": 0, "postgres": 0, "wrk": 0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if int(pid) in server:
            out["server"] += _ticks(pid)
        elif int(pid) == client:
            out["wrk"] += _ticks(pid)
        elif comm.startswith("postgres"):
            out["postgres"] += _ticks(pid)
    return out


def _calibration() -> float:
    """Seconds this machine takes for 10 million pure-Python additions."""
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started


def main() -> None:
    """Start a server on the filled database, load it with wrk, print the CPU split."""
    args = _args()
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (apt-get install wrk)")
    print(f"calibration: 10M Python additions in {_calibration():.2f} s", flush=True)
    with AccordServer(args.database_url, workers=args.workers) as server:
        setup = scale.Reused(server, args.database_url)
        known = lookup_bench._known(setup, args.count)
        values = lookup_bench._values(known, argparse.Namespace(ranges=args.ranges),
                                      random.Random(12))
        found = subprocess.run(["pgrep", "-f", "--", f"--port {server.port}"],
                               capture_output=True, text=True, check=False).stdout.split()
        server_pids = {int(p) for p in found} | {server.proc.pid}
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            paths = ",\n".join(f'"/api/v1/lookup?value={urllib.parse.quote(v)}"'
                               for v in values[:5000])
            script.write(f"local paths = {{\n{paths}\n}}\nlocal i = 0\n"
                         "request = function()\n i = i + 1\n"
                         " return wrk.format('GET', paths[(i % #paths) + 1])\nend\n")
        duration = int(args.seconds) + 4
        wrk = subprocess.Popen(
            ["wrk", "-t1", f"-c{args.connections}", f"-d{duration}s", "-s", script.name,
             "-H", f"Authorization: Bearer {setup.reader_key}", server.base],
            stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(2)  # past wrk's connection set-up
            before, started = _by_class(server_pids, wrk.pid), time.perf_counter()
            time.sleep(args.seconds)
            after, elapsed = _by_class(server_pids, wrk.pid), time.perf_counter() - started
            out = wrk.communicate(timeout=duration + 30)[0]
        finally:
            if wrk.poll() is None:
                wrk.kill()
            os.unlink(script.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None or "Non-2xx" in out:
        raise BenchError(f"wrk did not report a clean run:\n{out}")
    per_s = float(rate.group(1))
    print(f"{args.connections} connections: {per_s:,.0f} lookups/s")
    print("| class | cores | CPU ms a lookup |\n|---|---|---|")
    for name in before:
        cores = (after[name] - before[name]) / _CLK / elapsed
        print(f"| {name} | {cores:.2f} | {cores / per_s * 1000:.2f} |")


if __name__ == "__main__":
    main()
