"""Shared benchmark helpers: servers as context managers, setup, indicators, a bounded client.

Everything runs on loopback. Every process started here is stopped by its own process id
when its context manager exits, whatever happened inside.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import lzma
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
TAXII = "application/taxii+json;version=2.1"
STARTUP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Wait until url answers any HTTP status; fail early if the process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # 401/406...: it answers, so it is up
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes], first: signal.Signals) -> None:
    """Stop one child process by its pid: `first`, then SIGKILL after STOP_TIMEOUT_S."""
    if proc.poll() is not None:
        return
    proc.send_signal(first)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)


def _stop_orphan_postgres(pgdata: Path) -> None:
    """If our embedded PostgreSQL outlived the server (a killed server), stop it by its pid."""
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return
    if str(pgdata).encode() not in cmdline:
        return  # not the postmaster of our data directory: not ours to stop
    os.kill(pid, signal.SIGINT)  # PostgreSQL "fast" shutdown
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)


class ChildServer:
    """A server process on a loopback port, started on enter and stopped by its pid on exit.

    Subclasses set `port`, `base`, `tmp` (removed at the end), `log` and say how to start it.
    """

    stop_signal: signal.Signals
    base: str
    tmp: Path
    log: Path
    proc: subprocess.Popen[bytes] | None

    def command(self) -> tuple[list[str], Path, dict[str, str] | None]:
        """argv, working directory and environment (None: inherit) of the server."""
        raise NotImplementedError

    def cleanup(self) -> None:
        """Anything to stop besides the process itself."""

    def __enter__(self) -> Self:
        try:
            argv, cwd, env = self.command()
            with self.log.open("wb") as out:
                self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out,
                                             stderr=subprocess.STDOUT)
            _wait_http(f"{self.base}/taxii2/", self.proc, self.log, STARTUP_TIMEOUT_S)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the process, then what it left behind, then remove the temporary files."""
        try:
            if self.proc is not None:
                _stop(self.proc, self.stop_signal)
        finally:
            try:
                self.cleanup()
            finally:
                shutil.rmtree(self.tmp, ignore_errors=True)


class AccordServer(ChildServer):
    """`python -m server.cli serve` on a free loopback port, embedded PostgreSQL by default."""

    def __init__(self, database_url: str | None = None, env: dict[str, str] | None = None,
                 workers: int = 1):
        self.database_url = database_url
        self.workers = workers
        self.extra_env = env or {}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_root = f"{self.base}/taxii2/root"
        self.tmp = Path(tempfile.mkdtemp(prefix="accord-bench-"))
        self.log = self.tmp / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.org: str | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment of the server and of the admin commands run beside it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
        env.update(self.extra_env)
        env["PYTHONUNBUFFERED"] = "1"
        if self.database_url:
            env["ACCORD_DATABASE_URL"] = self.database_url
        else:
            env["ACCORD_DATA_DIR"] = str(self.tmp / "data")
        return env

    stop_signal = signal.SIGINT  # as an operator stops it

    def command(self) -> tuple[list[str], Path, dict[str, str] | None]:
        return ([sys.executable, "-m", "server.cli", "serve", "--port", str(self.port),
                 "--workers", str(self.workers)], ROOT, self.env)

    def cleanup(self) -> None:
        """Stop an embedded PostgreSQL the server left behind."""
        if not self.database_url:
            _stop_orphan_postgres((self.tmp / "data" / "pgdata").resolve())

    def admin(self, *args: str) -> str:
        """Run `accord admin ...` against the server's database; return its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "admin", *args], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"accord admin {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def setup(self) -> tuple[str, str]:
        """An org, a contributor key, a trust group and a collection; (token, collection id)."""
        tag = uuid.uuid4().hex[:8]
        org, group = f"bench-org-{tag}", f"bench-group-{tag}"
        self.admin("org", "create", org, "--sector", "private")
        self.admin("group", "create", group, "--member", org)
        collection_id = self.admin("collection", "create", f"bench-{tag}", "--group", group)
        token = self.admin("key", "create", "--org", org, "--role", "contributor", "--quiet")
        self.org = org  # for benchmarks that need more keys of the same organisation
        return token, collection_id

    def settings(self) -> dict[str, Any]:
        """The settings the server process reads from this environment, and its validator."""
        code = ("import orjson, schemas.stix as s; from server.config import Settings;"
                "d = Settings.from_env().model_dump(mode='json'); d['validator'] = s.__file__;"
                "print(orjson.dumps(d).decode())")
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60, check=True)
        settings: dict[str, Any] = orjson.loads(done.stdout)
        settings["database"] = "external" if self.database_url else "embedded (pgserver)"
        return settings

    def target(self, token: str, collection_id: str) -> Target:
        """The TAXII endpoints of a collection, with the key's headers."""
        return Target("Accord", self.api_root, collection_id,
                      {"Authorization": f"Bearer {token}"})


class MedallionServer(ChildServer):
    """The OASIS reference server, memory backend, one writable collection, HTTP Basic user."""

    USER, PASSWORD = "bench", "bench-password"

    def __init__(self, max_page_size: int = 1000) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_root = f"{self.base}/bench"
        self.collection_id = str(uuid.uuid4())
        self.max_page_size = max_page_size
        self.tmp = Path(tempfile.mkdtemp(prefix="medallion-bench-"))
        self.log = self.tmp / "medallion.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> Path:
        data = {
            "/discovery": {
                "title": "medallion bench", "description": "", "contact": "",
                "default": f"{self.api_root}/", "api_roots": [f"{self.api_root}/"],
            },
            "bench": {
                "information": {
                    "title": "bench", "description": "",
                    "versions": [TAXII], "max_content_length": 100 * 1024 * 1024,
                },
                "status": [],
                "collections": [{
                    "id": self.collection_id, "title": "bench", "description": "",
                    "can_read": True, "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [], "manifest": [],
                }],
            },
        }
        data_file = self.tmp / "data.json"
        data_file.write_bytes(orjson.dumps(data))
        config = {
            "backend": {"module": "medallion.backends.memory_backend",
                        "module_class": "MemoryBackend", "filename": str(data_file)},
            "users": {self.USER: self.PASSWORD},
            "taxii": {"max_page_size": self.max_page_size},
        }
        path = self.tmp / "config.json"
        path.write_bytes(orjson.dumps(config))
        return path

    stop_signal = signal.SIGTERM

    def command(self) -> tuple[list[str], Path, dict[str, str] | None]:
        config = self._write_config()
        return ([sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "ERROR", str(config)], self.tmp, None)

    def target(self) -> Target:
        """The TAXII endpoints of the collection, with HTTP Basic credentials."""
        basic = aiohttp.BasicAuth(self.USER, self.PASSWORD).encode()
        return Target("medallion", self.api_root, self.collection_id, {"Authorization": basic})


# --------------------------------------------------------------------------- facts


def machine_facts() -> dict[str, str]:
    """Cores, CPU, memory, OS and versions of this machine."""
    facts = {
        "cores": f"{os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})",
        "python": platform.python_version(),
        "os": platform.platform(),
        "aiohttp": aiohttp.__version__,
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        facts["memory"] = f"{kb / 1024 / 1024:.1f} GiB"
    return facts


def embedded_postgres_version() -> str:
    """The version of the PostgreSQL that pgserver embeds."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return "unknown"
    binary = Path(spec.origin).parent / "pginstall" / "bin" / "postgres"
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def print_facts(title: str, facts: dict[str, Any]) -> None:
    """One fact a line under a title."""
    print(f"{title}:")
    for key, value in facts.items():
        print(f"  {key:<22} {value}")


def describe_server(server: AccordServer) -> None:
    """Print the machine and the Accord server's settings."""
    print_facts("machine", machine_facts())
    settings = server.settings()
    if not server.database_url:
        settings["database"] += f", {embedded_postgres_version()}"
    shown = ("database", "validator", "max_content_length", "page_size", "max_page_size",
             "pool_min_size", "pool_max_size")
    print_facts("accord server", {"workers": server.workers,
                                  **{k: settings[k] for k in shown}})


# --------------------------------------------------------------------------- indicators

_TLDS = ("com", "net", "org", "info", "biz", "ru", "cn", "xyz", "top", "io")
_WORDS = ("secure", "login", "update", "cdn", "mail", "cloud", "pay", "account", "verify",
          "static", "api", "portal", "docs", "files", "sync", "auth")
_FAMILIES = ("emotet", "qakbot", "cobalt-strike", "icedid", "agent-tesla", "redline",
             "asyncrat", "lokibot", "formbook", "njrat")
_LABELS = ("malicious-activity", "anomalous-activity", "attribution", "compromised",
           "benign", "unknown")


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _pattern(kind: int, i: int, rng: random.Random) -> tuple[str, str]:
    """(pattern, what it matches) of one of five observable kinds, unique per i."""
    if kind == 0:
        address = 0x0B000000 + i * 7919 % 0xB0000000  # unique for i < 2**28, spread out
        ip = ".".join(str(address >> s & 255) for s in (24, 16, 8, 0))
        return f"[ipv4-addr:value = '{ip}']", f"address {ip}"
    if kind == 1:
        host = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}{i}.{rng.choice(_TLDS)}"
        return f"[domain-name:value = '{host}']", f"domain {host}"
    if kind == 2:
        url = (f"https://{rng.choice(_WORDS)}{i}.{rng.choice(_TLDS)}/{rng.choice(_WORDS)}/"
               f"{rng.getrandbits(40):010x}.php?id={i}")
        return f"[url:value = '{url}']", f"URL {url}"
    if kind == 3:
        sha = f"{rng.getrandbits(256):064x}"
        return f"[file:hashes.'SHA-256' = '{sha}']", f"file SHA-256 {sha[:16]}..."
    md5, sha1 = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(160):040x}"
    return (f"[file:hashes.MD5 = '{md5}' OR file:hashes.'SHA-1' = '{sha1}']",
            f"file MD5 {md5}")


def make_indicators(count: int, seed: int = 2101) -> list[dict[str, Any]]:
    """`count` distinct, valid STIX 2.1 indicators (ip, domain, url, file hashes)."""
    rng = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    objects = []
    for i in range(count):
        created = _stamp(base + timedelta(seconds=i * 3, milliseconds=rng.randrange(1000)))
        pattern, what = _pattern(i % 5, i, rng)
        family = rng.choice(_FAMILIES)
        objects.append({
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            "created": created,
            "modified": created,
            "name": f"{family} {what.split(' ')[0]} indicator #{i}",
            "description": f"Observed {what} in {family} infrastructure; seen in sandbox"
                           f" detonations and reported by partner sensors.",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "valid_from": created,
            "labels": sorted({rng.choice(_LABELS), family}),
            "confidence": rng.randrange(30, 101),
        })
    return objects


# --------------------------------------------------------------------------- real data

FIXTURES = ROOT / "tests" / "fixtures"
# Any STIX identifier inside the JSON text: renaming them all keeps every reference intact.
_STIX_ID = re.compile(rb"\b([a-z][a-z0-9-]*)--([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                      rb"-[0-9a-f]{12})\b")


def attack_objects() -> list[dict[str, Any]]:
    """ATT&CK for Mobile 17.1 then ICS 18.1, each in its file's order (tests/fixtures)."""
    mobile = orjson.loads(lzma.decompress(
        (FIXTURES / "attack" / "mobile-attack-17.1.json.xz").read_bytes()))["bundle"]["objects"]
    history = orjson.loads(lzma.decompress(
        (FIXTURES / "attack" / "ics-attack-releases.json.xz").read_bytes()))["releases"]
    current: dict[str, dict[str, Any]] = {}
    for release in history:
        current.update((obj["id"], obj) for obj in release["changed"])
    return mobile + [current[stix_id] for stix_id in history[-1]["order"]]


def renamed(objects: list[dict[str, Any]], round_tag: str) -> list[dict[str, Any]]:
    """The objects with every STIX id (and reference) replaced by a uuid5 of the round's tag,
    so each round posts objects the server has never seen, with the same shape and size."""
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"accord-bench-{round_tag}")
    cache: dict[bytes, bytes] = {}

    def new_id(match: re.Match[bytes]) -> bytes:
        whole = match.group(0)
        if whole not in cache:
            fresh = uuid.uuid5(namespace, whole.decode())
            cache[whole] = match.group(1) + b"--" + str(fresh).encode()
        return cache[whole]

    return orjson.loads(_STIX_ID.sub(new_id, orjson.dumps(objects)))


def as_own_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For servers whose rules refuse third-party exports (before issue 9): the objects
    without created_by_ref, as a member had to post them."""
    return [{k: v for k, v in obj.items() if k != "created_by_ref"} for obj in objects]


def with_markings(objects: list[dict[str, Any]], size: int) -> list[bytes]:
    """Envelopes of `size` objects, each led by the marking-definitions its objects use
    (for servers that refuse a marking reference not resolved in the envelope; each copy
    after the first is a duplicate, acknowledged and counted like any object)."""
    markings = {obj["id"]: obj for obj in objects if obj["type"] == "marking-definition"}
    bodies = []
    for i in range(0, len(objects), size):
        chunk = objects[i:i + size]
        inside = {obj["id"] for obj in chunk}
        used = sorted({ref for obj in chunk for ref in obj.get("object_marking_refs", ())
                       if ref in markings and ref not in inside})
        bodies.append(orjson.dumps({"objects": [markings[ref] for ref in used] + chunk}))
    return bodies


def envelopes(objects: list[dict[str, Any]], size: int) -> list[bytes]:
    """Serialised TAXII envelopes of `size` objects each (the last may be smaller)."""
    return [orjson.dumps({"objects": objects[i:i + size]})
            for i in range(0, len(objects), size)]


# --------------------------------------------------------------------------- client


@dataclass(frozen=True)
class Target:
    """A TAXII collection of one server, and the headers that authorise its use."""

    name: str
    api_root: str
    collection_id: str
    headers: dict[str, str]

    @property
    def objects_url(self) -> str:
        return f"{self.api_root}/collections/{self.collection_id}/objects/"

    def status_url(self, status_id: str) -> str:
        return f"{self.api_root}/status/{status_id}/"


class BenchError(RuntimeError):
    """A server answered something a benchmark cannot count."""


class TaxiiClient:
    """One aiohttp session (connection reuse, bounded connections and time) on a Target."""

    def __init__(self, target: Target, connections: int = 4, request_timeout_s: float = 300,
                 accept_encoding: str = "gzip, deflate"):
        self.target = target
        self.connections = connections
        self.timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        # What the clients in the field send: requests (taxii2-client, OpenCTI's connector,
        # XSOAR) `gzip, deflate`, Go (Elastic) `gzip`; "identity" measures uncompressed.
        self.accept_encoding = accept_encoding
        self.wire_bytes = 0  # GET response bodies as sent (compressed or not)
        self.body_bytes = 0  # the same bodies decoded
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.connections),
            timeout=self.timeout,
            headers={"Accept": TAXII, "Content-Type": TAXII,
                     "Accept-Encoding": self.accept_encoding, **self.target.headers},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use TaxiiClient as an async context manager"
        return self._session

    async def post(self, body: bytes) -> dict[str, Any]:
        """POST one envelope; the status resource of a 202."""
        async with self.session.post(self.target.objects_url, data=body) as resp:
            raw = await resp.read()
            if resp.status != 202:
                raise BenchError(f"{self.target.name} POST: {resp.status} {raw[:300]!r}")
        status: dict[str, Any] = orjson.loads(raw)
        return status

    async def get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """GET a TAXII resource; its JSON body."""
        async with self.session.get(url, params=params) as resp:
            raw = await resp.read()
            self.wire_bytes += int(resp.headers.get("Content-Length", len(raw)))
            self.body_bytes += len(raw)
            if resp.status != 200:
                raise BenchError(f"{self.target.name} GET {url}: {resp.status} {raw[:300]!r}")
        body: dict[str, Any] = orjson.loads(raw)
        return body

    async def until_complete(self, status: dict[str, Any], deadline: float,
                             polls: int = 1000) -> dict[str, Any]:
        """Poll a status resource until it is complete (bounded by polls and deadline)."""
        for _ in range(polls):
            if status.get("status") == "complete":
                return status
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
            status = await self.get(self.target.status_url(status["id"]))
        raise TimeoutError(f"{self.target.name}: status {status.get('id')} not complete")


@dataclass
class IngestResult:
    """What a timed series of POSTs stored, and how long it took."""

    objects: int = 0
    failures: int = 0
    seconds: float = 0.0
    bytes: int = 0  # request bodies POSTed
    latencies: list[float] = field(default_factory=list)
    first_failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0

    @property
    def megabytes_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) if lat else 0.0
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))] if lat else 0.0
        mb = f", {self.megabytes_per_s:.1f} MB/s" if self.bytes else ""
        return (f"{self.objects:,} objects in {self.seconds:.2f} s = {self.rate:,.0f} objects/s"
                f"{mb} (envelope latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
                f", {self.failures} failures)")


async def post_all(client: TaxiiClient, bodies: list[bytes], concurrency: int,
                   time_limit_s: float) -> IngestResult:
    """POST every envelope with `concurrency` workers until each status is complete."""
    result = IngestResult()
    queue: Iterator[bytes] = iter(bodies)
    deadline = time.monotonic() + time_limit_s

    async def worker() -> None:
        for body in queue:  # at most len(bodies) turns, shared by the workers
            if time.monotonic() > deadline:
                raise TimeoutError(f"{client.target.name}: ingest over {time_limit_s:.0f} s")
            sent = time.perf_counter()
            status = await client.post(body)
            result.bytes += len(body)
            if status.get("pending_count"):
                # Objects waiting for a marking-definition in a later envelope of the upload:
                # settled when it arrives, so read after every envelope is posted.
                waiting.append(status)
                continue
            status = await client.until_complete(status, deadline)
            result.latencies.append(time.perf_counter() - sent)
            count(status)

    def count(status: dict[str, Any]) -> None:
        result.objects += int(status.get("success_count", 0))
        result.failures += int(status.get("failure_count", 0))
        for failure in status.get("failures", [])[:3 - len(result.first_failures)]:
            result.first_failures.append(str(failure.get("message", failure)))

    waiting: list[dict[str, Any]] = []
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    for status in waiting:
        count(await client.until_complete(status, deadline))
    result.seconds = time.perf_counter() - start
    if result.first_failures:
        print(f"  {client.target.name} refused objects, e.g.: {result.first_failures}")
    return result


async def read_all(client: TaxiiClient, limit: int, expected: int,
                   time_limit_s: float) -> tuple[int, float]:
    """Read a whole collection page by page following `next`; (objects, seconds)."""
    deadline = time.monotonic() + time_limit_s
    params = {"limit": str(limit)}
    seen = 0
    start = time.perf_counter()
    for _ in range(expected // max(1, limit) + 10):  # a few pages more than needed at most
        if time.monotonic() > deadline:
            raise TimeoutError(f"{client.target.name}: read over {time_limit_s:.0f} s")
        page = await client.get(client.target.objects_url, params)
        seen += len(page.get("objects", []))
        if not page.get("more"):
            return seen, time.perf_counter() - start
        params = {"limit": str(limit), "next": str(page["next"])}
    raise BenchError(f"{client.target.name}: still `more` after {seen} objects")


def ratio(accord: float, medallion: float) -> str:
    """Accord/medallion as text."""
    return f"{accord / medallion:,.1f}x" if medallion else "n/a"


# --------------------------------------------------------------------------- where time goes


def _cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds used by the server, its embedded PostgreSQL and this client, over a span."""

    def __init__(self, server: AccordServer) -> None:
        self.server = server
        self.before: dict[str, float] = {}

    def _postgres_pids(self) -> list[int]:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pidfile = self.server.tmp / "data" / "pgdata" / "postmaster.pid"
            postmaster = int(pidfile.read_text().splitlines()[0])
            return [postmaster, *_children(postmaster)]
        return []

    def _sample(self) -> dict[str, float]:
        times = os.times()
        sample = {"client (this process)": times.user + times.system}
        if self.server.proc is not None:
            # With --workers N the parent starts N-1 worker processes: count them all.
            pids = [self.server.proc.pid, *_children(self.server.proc.pid)]
            if not self.server.database_url:
                pids = [p for p in pids if p not in self._postgres_pids()]
            sample["accord server processes"] = sum(map(_cpu_seconds, pids))
        if not self.server.database_url:
            # Backends come and go; idle ones are kept by the pool, so this is close.
            sample["embedded postgres"] = sum(map(_cpu_seconds, self._postgres_pids()))
        return sample

    def __enter__(self) -> Self:
        self.before = self._sample()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.start
        after = self._sample()
        print(f"CPU over {wall:.2f} s wall ({os.cpu_count()} cores):")
        for name, value in after.items():
            used = value - self.before.get(name, 0.0)
            print(f"  {name:<24} {used:6.2f} s = {used / wall:4.0%} of one core")


class PySpy:
    """`py-spy record` of a process (if py-spy is installed), writing collapsed stacks."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid, self.out = pid, out
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.proc = subprocess.Popen(
            [exe, "record", "--pid", str(self.pid), "--format", "raw", "--rate", "200",
             "--output", str(self.out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # let it attach
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            _stop(self.proc, signal.SIGINT)
        if self.out.exists():
            print_profile(self.out)


def print_profile(raw: Path, top: int = 25) -> None:
    """The functions with the largest inclusive share of samples in py-spy collapsed stacks."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        # "func (file.py:123)" -> "func (file.py)": one entry a function, not a line.
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    if not total:
        print(f"profile {raw}: no samples")
        return
    print(f"profile of the server ({total} samples; inclusive %, own %) in {raw}:")
    # Frames every sample shares (the event loop, the middlewares) say nothing: skip them.
    ranked = [kv for kv in sorted(inclusive.items(), key=lambda kv: -kv[1])
              if kv[1] < 0.9 * total]
    for frame, count in ranked[:top]:
        print(f"  {100 * count / total:5.1f}% {100 * own.get(frame, 0) / total:5.1f}%  {frame}")
    print("top own time:")
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top // 2]:
        print(f"  {100 * count / total:5.1f}%  {frame}")
