"""`accord push | pull | follow | import misp`: the member and analyst commands.

Each command finds the server and key in --url/--key, else ACCORD_URL/ACCORD_KEY, else a
profile file (TOML: `[default]` or `[NAME]` tables with `url` and `key`) at --profile PATH,
ACCORD_PROFILE, or ~/.config/accord/profile.toml.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import os
import signal
import sys
import tempfile
import tomllib
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from clients import iocs
from clients.client import (
    ENVELOPE_OVERHEAD,
    AccordClient,
    ChunkResult,
    Failure,
    Page,
    server_base,
)
from clients.errors import AccordClientError, NotFound

_PULL_STATE = ".accord-pull.json"


class UsageError(AccordClientError):
    """A command line or input file the client cannot act on."""


# --- connection ------------------------------------------------------------------------------


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def _state_home() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")


def connection(args: argparse.Namespace) -> tuple[str, str]:
    """(url, key) from flags, then environment, then the profile file."""
    url = args.url or os.environ.get("ACCORD_URL")
    key = args.key or os.environ.get("ACCORD_KEY")
    if not (url and key):
        profile = _profile(args.profile or os.environ.get("ACCORD_PROFILE"))
        url = url or profile.get("url")
        key = key or profile.get("key")
    if not url:
        raise UsageError("no server: give --url, set ACCORD_URL, or write a profile file"
                         f" ({_config_home() / 'accord' / 'profile.toml'})")
    if not key:
        raise UsageError("no API key: give --key, set ACCORD_KEY, or put key = \"...\" in"
                         " the profile file")
    return server_base(str(url)), str(key)


def _profile(ref: str | None) -> dict[str, Any]:
    """The table of a profile: --profile is a file path, or a table name in the default file."""
    path, name = _config_home() / "accord" / "profile.toml", "default"
    if ref and (os.sep in ref or ref.endswith(".toml") or Path(ref).is_file()):
        path = Path(ref)
    elif ref:
        name = ref
    if not path.is_file():
        if ref and path != _config_home() / "accord" / "profile.toml":
            raise UsageError(f"no profile file {path}")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the profile file {path}: {exc}") from exc
    table = data.get(name)
    if table is None and name == "default" and ("url" in data or "key" in data):
        table = data  # a one-profile file without a table header
    if not isinstance(table, dict):
        raise UsageError(f"no profile [{name}] in {path}")
    return table


def _key_id(key: str) -> str:
    """The public part of a token (`<key id>.<secret>`), never the secret."""
    return key.split(".", 1)[0]


# --- small helpers -----------------------------------------------------------------------------


class Progress:
    """A plain-text progress bar on stderr (redrawn on a terminal, a line per 10% otherwise)."""

    def __init__(self, label: str, total: int, enabled: bool) -> None:
        self.label, self.total, self.done = label, total, 0
        self.enabled = enabled and total > 0
        self.tty = sys.stderr.isatty()
        self._shown = -1

    def add(self, count: int) -> None:
        """Count objects done and redraw."""
        self.done += count
        if not self.enabled:
            return
        percent = min(100, self.done * 100 // self.total)
        if self.tty:
            bar = "#" * (percent // 4) + "." * (25 - percent // 4)
            end = "\n" if self.done >= self.total else ""
            print(f"\r{self.label} [{bar}] {self.done}/{self.total} ({percent}%)", end=end,
                  file=sys.stderr, flush=True)
        elif percent // 10 != self._shown // 10 or self.done >= self.total:
            self._shown = percent
            print(f"{self.label}: {self.done}/{self.total} objects ({percent}%)",
                  file=sys.stderr, flush=True)


def _write_json(path: Path, data: Any) -> None:
    """Replace a state file atomically, so an interruption never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        os.replace(tmp, path)
    except BaseException:  # Ctrl-C between the two: no stray temporary file left behind
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"the state file {path} is damaged ({exc}); delete it to start"
                         " over") from exc


def _now() -> str:
    value = datetime.now(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _resume_hint(args: argparse.Namespace) -> str:
    """What an interrupted command can do next: resume only where state was kept."""
    if args.command == "follow" and not (args.out or args.state):
        return ("nothing was kept to resume from (give --out FILE, or --state FILE, to resume"
                " after the last object written)")
    if args.command in ("push", "import", "pull", "follow"):
        return "run the same command again to resume"
    return ""


def _run(body: Callable[[AccordClient, argparse.Namespace], Coroutine[Any, Any, int]]
         ) -> Callable[[argparse.Namespace, Any], int]:
    """A command: connect with the resolved URL and key, run, map interrupts to exit 130."""

    def run(args: argparse.Namespace, _settings: Any) -> int:
        url, key = connection(args)

        async def main() -> int:
            # Ctrl-C raises at once, wherever the command is: asyncio's own handler only
            # cancels the task at its next await, which a CPU-bound step may not reach soon.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            chunk = getattr(args, "chunk_objects", 1000)
            async with AccordClient(url, key, max_chunk_objects=chunk,
                                    in_flight=getattr(args, "in_flight", 1)) as client:
                return await body(client, args)

        try:
            return asyncio.run(main())
        except KeyboardInterrupt:
            hint = _resume_hint(args)
            print(f"accord: interrupted{'; ' + hint if hint else ''}", file=sys.stderr)
            # Leave at once. Everything to keep is on disk (state files are replaced
            # atomically); what remains is the interpreter freeing the heap, which for a
            # million-value list took 1.3 s of the 1.4 s from SIGINT to exit under load.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)

    return run


# --- push --------------------------------------------------------------------------------------


def _where(data: bytes, pos: int) -> str:
    """`line L, column C` of a byte offset, as an editor counts them (from 1)."""
    line = data.count(b"\n", 0, pos) + 1
    column = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    return f"line {line}, column {column}"


def _not_json(data: bytes, name: str, exc: orjson.JSONDecodeError, offset: int = 0) -> UsageError:
    reason = str(exc).split(": line ", 1)[0]
    hint = ""
    first = data.lstrip()[:1]
    if first not in (b"{", b"["):
        hint = (" (not STIX JSON: is it a CSV list? use --csv; one value a line? use --txt)")
    return UsageError(f"{name}: not JSON at {_where(data, offset + exc.pos)}: {reason}{hint}")


def read_objects(data: bytes, name: str) -> list[dict[str, Any]]:
    """STIX objects of a bundle, a TAXII envelope, a JSON array, one object, or JSON lines."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as whole:
        lines = data.splitlines(keepends=True)
        first = next((line for line in lines if line.strip()), b"")
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            # Not JSON lines either: the error is where the whole document broke.
            raise _not_json(data, name, whole) from None
        objects = []
        offset = 0
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    item = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise _not_json(data, name, exc, offset) from None
                objects.extend(_objects_of(item, f"{name}:{number}"))
            offset += len(line)
        return objects
    return _objects_of(doc, name)


def _objects_of(doc: Any, name: str) -> list[dict[str, Any]]:
    if isinstance(doc, list):
        return [o for item in doc for o in _objects_of(item, name)]
    if not isinstance(doc, dict):
        raise UsageError(f"{name}: expected a STIX bundle, a TAXII envelope or STIX objects")
    if doc.get("type") == "bundle" or ("objects" in doc and "type" not in doc):
        objects = doc.get("objects") or []
        if not isinstance(objects, list):
            raise UsageError(f"{name}: 'objects' is not a list")
        return objects
    if "type" in doc:
        return [doc]
    raise UsageError(f"{name}: expected a STIX bundle, a TAXII envelope or STIX objects")


class PushState:
    """What a push of one input has had acknowledged, kept in a small JSON file."""

    def __init__(self, path: Path, restart: bool) -> None:
        self.path = path
        self.data = {} if restart else _read_json(path)

    @property
    def created(self) -> str:
        """The fixed creation time of converted indicators (set once, then kept)."""
        if "created" not in self.data:
            self.data["created"] = _now()
            self.save()
        return self.data["created"]

    def acked(self, chunking: list[int]) -> set[int]:
        """Chunks already acknowledged under these limits (other limits: start over)."""
        if self.data.get("chunking") != chunking:
            self.data["chunking"], self.data["chunks"] = chunking, {}
        return {int(i) for i in self.data.get("chunks", {})}

    def record(self, chunk: ChunkResult) -> None:
        """Remember an acknowledged chunk with its failures, at once."""
        self.data.setdefault("chunks", {})[str(chunk.index)] = {
            "count": chunk.count, "status": chunk.status_id,
            "failures": [[f.id, f.version, f.message] for f in chunk.failures],
        }
        self.save()

    def acked_ranges(self) -> dict[int, int]:
        """{first: end} of the list values whose envelopes were acknowledged (a journal
        of another shape, from an older client, is dropped: resending duplicates is safe)."""
        if self.data.get("journal") != "ranges":
            self.data["journal"], self.data["chunks"] = "ranges", {}
        return {int(first): int(c["end"]) for first, c in self.data["chunks"].items()}

    def record_range(self, first: int, end: int, chunk: ChunkResult,
                     refused: list[Failure]) -> None:
        """Journal an acknowledged envelope of list values first..end-1, at once, with the
        values refused before sending and the server's failures."""
        self.data["chunks"][str(first)] = {
            "end": end, "count": chunk.count, "status": chunk.status_id,
            "failures": [[f.id, f.version, f.message] for f in [*refused, *chunk.failures]],
        }
        self.save()

    def failures(self) -> list[Failure]:
        """Failures of every acknowledged chunk, this run's and earlier runs'."""
        chunks = self.data.get("chunks", {})
        return [Failure(*f) for i in sorted(chunks, key=int) for f in chunks[i]["failures"]]

    def save(self) -> None:
        """Write the state file."""
        _write_json(self.path, self.data)


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir) if args.state_dir else _state_home() / "accord" / "push"


async def _push_objects(client: AccordClient, args: argparse.Namespace, label: str,
                        state: PushState, objects: list[dict[str, Any]],
                        local_failures: list[Failure]) -> int:
    """Post objects resumably, several envelopes in flight; print failures; 1 if any
    object was refused."""
    limit = await client.max_content_length()
    acked = state.acked([limit, client.max_chunk_objects])
    count = len(objects)
    progress = Progress(f"push {label}", count, not args.quiet)
    done_before = sum(c["count"] for c in state.data.get("chunks", {}).values())
    if acked and not args.quiet:
        print(f"{label}: resuming; {len(acked)} chunk(s), {done_before} object(s) were already"
              " acknowledged", file=sys.stderr)
    if done_before:
        progress.add(done_before)

    def on_chunk(chunk: ChunkResult) -> None:
        state.record(chunk)
        progress.add(chunk.count)

    result = await client.post_objects(args.collection, objects, skip=acked, on_chunk=on_chunk)
    state.data["complete"] = True
    state.save()
    # Server refusals of every run are in the state; objects too large to send are not.
    refused_now = {f for chunk in result.chunks for f in chunk.failures}
    too_large = [f for f in result.failures if f not in refused_now]
    failures = [*local_failures, *too_large, *state.failures()]
    for f in failures:
        version = f" (version {f.version})" if f.version else ""
        print(f"refused {f.id}{version}: {f.message}", file=sys.stderr)
    accepted = count - len(too_large) - len(state.failures())
    # Every item read is counted once: accepted + refused = the total.
    total = count + len(local_failures)
    print(f"{label}: {total} object(s), {accepted} accepted, {len(failures)} refused"
          f" -> collection {args.collection}")
    return 1 if failures else 0


async def push(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord push FILE...`."""
    args.collection = await client.find_collection(args.collection)
    await client.collection(args.collection)  # a clear 404/401 before any work
    options = iocs.IndicatorOptions(tlp=args.tlp, confidence=args.confidence,
                                    labels=tuple(args.label or ()),
                                    withhold_attribution=args.withhold_attribution)
    code = 0
    for name in args.files:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror}") from exc
        digest = hashlib.sha256(data).hexdigest()
        mode = "csv" if args.csv else "txt" if args.txt else "stix"
        # One state per (server, collection, key, content, options): a changed input or
        # option is a new push, the same one resumes.
        key = hashlib.sha256("|".join([client.url, str(args.collection), _key_id(client.key),
                                       digest, mode, options.fingerprint()]).encode()
                             ).hexdigest()[:32]
        state = PushState(_state_dir(args) / f"{key}.json", args.restart)
        state.data.setdefault("file", str(path.resolve()))
        if mode == "stix":
            objects = iocs.apply_terms(read_objects(data, name), args.tlp,
                                  args.withhold_attribution, args.label or [], args.confidence)
        else:
            text = data.decode("utf-8-sig", errors="replace")
            parsed = iocs.parse_csv(text) if mode == "csv" else iocs.parse_text(text)
            local = [Failure(f"{name}:{line}", "", message) for line, message in parsed.rejected]
            if not parsed.iocs and not local:
                print(f"{name}: no values", file=sys.stderr)
                continue
            code = max(code, await _push_list(client, args, name, state, parsed, digest,
                                              options, local))
            continue
        if not objects:
            print(f"{name}: no objects", file=sys.stderr)
            continue
        code = max(code, await _push_objects(client, args, name, state, objects, []))
    return code


async def _push_list(client: AccordClient, args: argparse.Namespace, name: str,
                     state: PushState, parsed: iocs.Parsed, digest: str,
                     options: iocs.IndicatorOptions, local: list[Failure]) -> int:
    """Push an IOC list, building its indicators as the envelopes go out, several in flight.

    The state journals each acknowledged envelope as the range of list values it covered,
    so a resume builds and sends only the values outside those ranges, whatever order the
    acknowledgements came in; Ctrl-C abandons what is in flight, unrecorded."""
    limit = await client.max_content_length()
    acked = state.acked_ranges()
    done = sum(end - first for first, end in acked.items())
    if acked and not args.quiet:
        sent = sum(c["count"] for c in state.data["chunks"].values())
        print(f"{name}: resuming; {len(acked)} chunk(s), {sent} object(s) were already"
              " acknowledged", file=sys.stderr)
        print(f"{name}: skipping the {done} acknowledged indicator(s) without building them",
              file=sys.stderr)
    builder = iocs.Builder(iocs.namespace(_key_id(client.key), digest), state.created, options)
    progress = Progress(f"push {name}", len(parsed.iocs), not args.quiet)
    if done:
        progress.add(done)
    # What each envelope out covers: the range of values and those refused before sending.
    covers: dict[int, tuple[int, list[Failure]]] = {}

    def on_ack(chunk: ChunkResult) -> None:
        end, refused = covers.pop(chunk.index)
        state.record_range(chunk.index, end, chunk, refused)
        progress.add(end - chunk.index)

    batches = _list_batches(parsed.iocs, acked, builder, limit, client.max_chunk_objects,
                            name, covers)
    await client.post_batches(args.collection, batches, on_ack)
    state.data["complete"] = True
    state.save()
    # Every value read is counted once: accepted + refused (+ repeated) = lines of values.
    failures = [*local, *state.failures()]
    for f in failures:
        version = f" (version {f.version})" if f.version else ""
        print(f"refused {f.id}{version}: {f.message}", file=sys.stderr)
    accepted = len(parsed.iocs) - len(state.failures())
    total = len(parsed.iocs) + len(local) + parsed.repeated
    again = f", {parsed.repeated} repeated (sent once)" if parsed.repeated else ""
    print(f"{name}: {total} value(s), {accepted} accepted, {len(failures)} refused{again}"
          f" -> collection {args.collection}")
    return 1 if failures else 0


def _list_batches(values: list[iocs.Ioc], acked: dict[int, int], builder: iocs.Builder,
                  max_bytes: int, max_count: int, name: str,
                  covers: dict[int, tuple[int, list[Failure]]]
                  ) -> Iterator[tuple[int, list[bytes]]]:
    """Envelopes of the values outside the acknowledged ranges, each (index of its first
    value, serialised indicators); `covers[first]` gets (end, values refused in it).

    An envelope never spans an acknowledged range, so every range journaled is exact."""
    starts = sorted(acked)
    at = 0
    while at < len(values):
        if at in acked:
            at = max(acked[at], at + 1)
            continue
        later = bisect.bisect_right(starts, at)
        stop = starts[later] if later < len(starts) else len(values)
        first, batch, refused, size = at, [], [], ENVELOPE_OVERHEAD
        while at < stop and len(batch) < max_count:
            try:
                raw = orjson.dumps(builder.build(values[at]))
            except iocs.IocError as exc:
                refused.append(Failure(f"{name}: value {at + 1}", "", str(exc)))
                at += 1
                continue
            if ENVELOPE_OVERHEAD + len(raw) > max_bytes:
                refused.append(Failure(f"{name}: value {at + 1}", "", (
                    f"the indicator is {len(raw)} bytes, more than the server accepts in one"
                    f" request (max_content_length {max_bytes})")))
                at += 1
                continue
            if batch and size + 1 + len(raw) > max_bytes:
                break  # this value starts the next envelope
            size += len(raw) + (1 if batch else 0)
            batch.append(raw)
            at += 1
        covers[first] = (at, refused)
        yield first, batch


# --- import misp -------------------------------------------------------------------------------


def misp_to_stix(data: bytes, name: str, withhold: bool = False) -> list[dict[str, Any]]:
    """STIX 2.1 objects of MISP event JSON, converted by misp-stix (clients.misp)."""
    try:
        import misp_stix_converter  # noqa: F401 - an optional heavy dependency, checked here
    except ImportError as exc:
        raise UsageError("accord import misp needs the misp-stix package:"
                         " pip install 'accord[misp]'") from exc
    from clients import misp

    try:
        return misp.misp_to_stix(data, withhold=withhold)
    except misp.MispError as exc:
        raise UsageError(f"{name}: {exc}") from exc


async def import_misp(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord import misp EVENT.json...`."""
    args.collection = await client.find_collection(args.collection)
    await client.collection(args.collection)
    code = 0
    for name in args.files:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror}") from exc
        withhold = args.withhold_attribution
        objects = iocs.apply_terms(misp_to_stix(data, name, withhold), args.tlp, withhold, [], None)
        key = hashlib.sha256("|".join([client.url, str(args.collection), _key_id(client.key),
                                       hashlib.sha256(data).hexdigest(), "misp",
                                       str(args.tlp), str(args.withhold_attribution)]).encode()
                             ).hexdigest()[:32]
        state = PushState(_state_dir(args) / f"{key}.json", args.restart)
        code = max(code, await _push_objects(client, args, name, state, objects, []))
    return code


# --- pull --------------------------------------------------------------------------------------


async def _source_kind(client: AccordClient, source: str, args: argparse.Namespace) -> str:
    if args.feed:
        await client.feed(source)
        return "feed"
    if args.collection_only:
        await client.collection(source)
        return "collection"
    try:
        await client.collection(source)
        return "collection"
    except NotFound:
        pass
    try:
        await client.feed(source)
        return "feed"
    except AccordClientError as exc:
        if exc.http_status in (400, 404):
            raise NotFound(404, "Not found", f"no collection or feed {source!r} visible to"
                           " this key") from None
        raise


class _Output:
    """Where pulled objects go: JSON lines appended to a file, or one file per object."""

    def __init__(self, target: str) -> None:
        path = Path(target)
        self.is_dir = path.is_dir() or target.endswith(("/", os.sep))
        if self.is_dir:
            path.mkdir(parents=True, exist_ok=True)
            self.state_path = path / _PULL_STATE
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.state_path = path.with_name(path.name + ".accord-state.json")
        self.path = path

    def write(self, objects: list[dict[str, Any]]) -> None:
        """Write a page of objects (durably, before the state moves past them)."""
        if self.is_dir:
            for obj in objects:
                target = self.path / f"{obj['id']}.json"
                if target.exists():
                    # Pages carry every version in date_added order; keep the newest.
                    old = orjson.loads(target.read_bytes())
                    if _version(old) > _version(obj):
                        continue
                target.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2))
            return
        with self.path.open("ab") as out:
            out.write(b"".join(orjson.dumps(o) + b"\n" for o in objects))
            out.flush()
            os.fsync(out.fileno())


def _version(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "")


async def pull(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord pull COLLECTION|FEED --out DIR|FILE`."""
    out = _Output(args.out)
    state = _read_json(out.state_path)
    if args.restart:
        state = {}
    if state and (state.get("source") != args.source or state.get("url") != client.url):
        raise UsageError(f"{args.out} holds a pull of {state.get('source')} from"
                         f" {state.get('url')}; choose another --out")
    kind = state.get("kind") or await _source_kind(client, args.source, args)
    state.update({"url": client.url, "source": args.source, "kind": kind})
    since = state.get("added_after")
    reader = client.feed_pages if kind == "feed" else client.pages
    pages: Any = reader(args.source, added_after=since, limit=args.limit,
                        params={"match[version]": "all"})
    count = 0
    page: Page
    async for page in pages:
        if page.objects:
            out.write(page.objects)
            count += len(page.objects)
        if page.date_added_last:
            # The page is written: only now move the resume point past it.
            state["added_after"] = page.date_added_last
        state["last_run"] = _now()
        _write_json(out.state_path, state)
        if not args.quiet and page.more:
            print(f"pull {args.source}: {count} object(s) so far", file=sys.stderr)
    if count:
        print(f"pulled {count} object version(s) from {kind} {args.source} into {args.out}")
    else:
        after = f" since {since}" if since else ""
        print(f"nothing new in {kind} {args.source}{after}")
    return 0


# --- follow ------------------------------------------------------------------------------------


async def follow(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord follow FEED [--out FILE]`."""
    state_path = Path(args.state) if args.state else (
        Path(args.out).with_name(Path(args.out).name + ".accord-state.json")
        if args.out else None)
    state = _read_json(state_path) if state_path else {}
    last = args.last_event_id or (state.get("last_event_id")
                                  if state.get("feed") == args.feed else None)
    out: TextIO
    out = open(args.out, "a", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    seen = 0
    try:
        async for event in client.stream(args.feed, last, from_beginning=args.from_beginning,
                                         reconnect_delay_s=args.reconnect_delay):
            out.write(orjson.dumps(event.data).decode() + "\n")
            out.flush()
            if state_path:
                # Written after the line, so a restart resumes after the last line written.
                _write_json(state_path, {"feed": args.feed, "last_event_id": event.id})
            seen += 1
            if args.count and seen >= args.count:
                break
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


# --- browsing: collections, objects, statuses, exports ----------------------------------


async def collections_command(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord collections`: what this key may read and post to."""
    found = await client.collections()
    if not found:
        print("no collections visible to this key (its organisation is in no trust group"
              " with a collection yet)")
    for c in found:
        rights = ("read+write" if c.get("can_write") else "read") if c.get("can_read") else "-"
        print(f"{c['id']}  {rights:<10}  {c.get('title', '')}")
    return 0


async def ls_command(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord ls COLLECTION [--type T] [--since TIME]`: one line per object (last version)."""
    collection = await client.find_collection(args.collection)
    params = {"match[type]": ",".join(args.type)} if args.type else None
    shown = 0
    async for page in client.pages(collection, added_after=args.since, params=params):
        for obj in page.objects:
            label = obj.get("name") or obj.get("value") or obj.get("pattern") or ""
            print(f"{obj.get('id')}  {obj.get('modified') or obj.get('created') or '-'}  {label}")
            shown += 1
            if args.limit and shown >= args.limit:
                return 0
    if not shown:
        what = f" of type {', '.join(args.type)}" if args.type else ""
        since = f" added after {args.since}" if args.since else ""
        print(f"no objects{what}{since} in collection {collection}")
    return 0


async def get_command(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord get ID`: the object's last version, its versions, who produced it."""
    if args.collection:
        places = [await client.find_collection(args.collection)]
    else:
        places = [str(c["id"]) for c in await client.collections() if c.get("can_read")]
    for collection in places:
        try:
            versions = await client.object_versions(collection, args.stix_id)
        except NotFound:
            continue
        if not versions:
            continue
        last = versions[-1]
        print(orjson.dumps(last, option=orjson.OPT_INDENT_2).decode())
        print(f"# collection {collection}; {len(versions)} version(s):"
              f" {', '.join(str(v.get('modified') or v.get('created')) for v in versions)}",
              file=sys.stderr)
        producer = last.get("created_by_ref")
        print(f"# producer: {producer or 'not stated (no created_by_ref)'}", file=sys.stderr)
        return 0
    raise NotFound(404, "Not found", f"no object {args.stix_id} in any collection this key"
                   " may read")


async def status_command(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord status ID`: a status resource of a post of this key's organisation."""
    found = await client.status(args.status_id)
    print(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
    return 0 if not found.get("failure_count") else 1


async def _feed_id(client: AccordClient, ref: str) -> str:
    """A feed's id from its id or its name (unambiguous among the organisation's feeds)."""
    feeds = await client.feeds()
    if any(str(f.id) == ref for f in feeds):
        return ref
    named = [f for f in feeds if f.name == ref]
    if len(named) == 1:
        return str(named[0].id)
    if named:
        raise UsageError(f"{len(named)} feeds are named {ref!r}: "
                         + ", ".join(str(f.id) for f in named) + "; give the id")
    return ref  # the server answers for an unknown id


async def feed_export(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord feed export FEED --format txt|csv|stix`: the feed's export on stdout."""
    found = await client.export(await _feed_id(client, args.feed), args.format,
                                kinds=args.kind or ())
    body = found.body or b""
    if args.out:
        Path(args.out).write_bytes(body)
        print(f"wrote {len(body)} bytes to {args.out} (ETag {found.etag})", file=sys.stderr)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0


# --- argument parsing --------------------------------------------------------------------------


def _connection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="server base URL (ACCORD_URL)")
    p.add_argument("--key", help="API key token (ACCORD_KEY)")
    p.add_argument("--profile", help="profile name in ~/.config/accord/profile.toml, or a"
                   " profile file path (ACCORD_PROFILE)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


# For the command modules beside this one (clients.intel).
connection_flags = _connection_flags
run_with = _run


def _push_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", required=True,
                   help="collection to post to: its id, or its title if no other has it")
    p.add_argument("--tlp", choices=list(iocs.TLP_MARKINGS),
                   help="TLP 2.0 marking for objects without one")
    p.add_argument("--withhold-attribution", action="store_true",
                   help="serve the objects with the trust group's identity, not yours")
    p.add_argument("--state-dir", help="where resumable push state is kept"
                   " (default ~/.local/state/accord/push)")
    p.add_argument("--restart", action="store_true",
                   help="ignore the saved state of an earlier push of the same input")
    p.add_argument("--chunk-objects", type=int, default=1000,
                   help="most objects per request (also cut to max_content_length)")
    p.add_argument("--in-flight", type=_in_flight, default=3, metavar="N",
                   help="requests awaiting the server's answer at once, 1 to 8 (default 3);"
                        " after a 429 all of them wait out its Retry-After")


def _in_flight(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 8:
        raise argparse.ArgumentTypeError("--in-flight is 1 to 8")
    return number


def _confidence(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 100:
        raise argparse.ArgumentTypeError("confidence is 0 to 100")
    return number


def add_commands(commands: Any) -> None:
    """Register push, pull, follow and import on the `accord` subcommand parser."""
    p = commands.add_parser(
        "push", help="post STIX files or IOC lists to a collection",
        description="Post STIX bundles, TAXII envelopes or JSON lines (or, with --csv/--txt,"
                    " IOC lists turned into STIX indicators). Resumable: run the same command"
                    " again after an interruption and acknowledged chunks are skipped.")
    p.add_argument("files", nargs="+", metavar="FILE")
    _connection_flags(p)
    _push_flags(p)
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--csv", action="store_true",
                      help="CSV of IOCs (a value/indicator column, else the first)")
    kind.add_argument("--txt", action="store_true", help="one IOC per line")
    p.add_argument("--confidence", type=_confidence, help="confidence 0-100 of indicators")
    p.add_argument("--label", action="append", help="label for indicators (repeatable)")
    p.set_defaults(run=_run(push))

    p = commands.add_parser(
        "pull", help="incremental sync of a collection or feed into a directory or file",
        description="Fetch what was added since the last pull. FILE gets JSON lines appended"
                    " (state in FILE.accord-state.json); a DIR (existing, or ending in /) gets"
                    " one JSON file per object, the newest version (state in"
                    f" DIR/{_PULL_STATE}).")
    p.add_argument("source", metavar="COLLECTION|FEED", help="collection id or feed id")
    p.add_argument("--out", required=True, metavar="DIR|FILE")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--feed", action="store_true", help="SOURCE is a feed id")
    which.add_argument("--collection", dest="collection_only", action="store_true",
                       help="SOURCE is a collection id")
    p.add_argument("--limit", type=int, default=1000, help="objects per page")
    p.add_argument("--restart", action="store_true", help="forget where the last pull stopped")
    _connection_flags(p)
    p.set_defaults(run=_run(pull))

    p = commands.add_parser(
        "follow", help="a feed's live stream as JSON lines",
        description="Print every new object of a feed, one JSON line each, reconnecting and"
                    " resuming (Last-Event-ID) after a drop. With --out, lines are appended to"
                    " FILE and a restart resumes after the last line written.")
    p.add_argument("feed", metavar="FEED", help="feed id")
    p.add_argument("--out", metavar="FILE", help="append to FILE instead of stdout")
    p.add_argument("--state", metavar="FILE", help="where to keep the last event id"
                   " (default FILE.accord-state.json with --out)")
    p.add_argument("--last-event-id", help="resume after this event id")
    p.add_argument("--from-beginning", action="store_true",
                   help="replay everything the feed selects first")
    p.add_argument("--count", type=int, help="stop after this many objects")
    p.add_argument("--reconnect-delay", type=float, help="seconds before reconnecting"
                   " (default: the server's retry hint)")
    _connection_flags(p)
    p.set_defaults(run=_run(follow))

    p = commands.add_parser(
        "collections", help="the collections this key may read (and post to)",
        description="List the TAXII collections this key sees: id, rights, title.",
        epilog="example: accord collections --url http://127.0.0.1:8000 --key \"$READER\"")
    _connection_flags(p)
    p.set_defaults(run=_run(collections_command))

    p = commands.add_parser(
        "ls", help="list a collection's objects, one line each",
        description="One line per object version served (id, modified, name or pattern),"
                    " in the order they were added.",
        epilog="example: accord ls \"Finance IOCs\" --type indicator --since"
               " 2026-11-01T00:00:00Z")
    p.add_argument("collection", metavar="COLLECTION", help="collection id or title")
    p.add_argument("--type", action="append", help="only this STIX type (repeatable)")
    p.add_argument("--since", metavar="TIME",
                   help="only objects added after this time (TAXII added_after)")
    p.add_argument("--limit", type=int, help="stop after this many lines")
    _connection_flags(p)
    p.set_defaults(run=_run(ls_command))

    p = commands.add_parser(
        "get", help="one object: its last version, its versions and producer",
        description="Print an object's last version as JSON on stdout; its collection,"
                    " versions and producer (created_by_ref) on stderr. Looks in every"
                    " collection the key reads unless --collection names one.",
        epilog="example: accord get indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    p.add_argument("stix_id", metavar="ID", help="STIX id, e.g. indicator--<uuid>")
    p.add_argument("--collection", help="look only in this collection (id or title)")
    _connection_flags(p)
    p.set_defaults(run=_run(get_command))

    p = commands.add_parser(
        "status", help="a post's status resource (successes, failures)",
        description="Print a TAXII status resource of your organisation's post; exit 1 if"
                    " it lists failures.",
        epilog="example: accord status 2d1c3e0a-...  (the id a POST answered with)")
    p.add_argument("status_id", metavar="ID", help="status id")
    _connection_flags(p)
    p.set_defaults(run=_run(status_command))

    imports = commands.add_parser("import", help="convert and post other formats") \
        .add_subparsers(dest="format", required=True)
    p = imports.add_parser("misp", help="MISP event JSON, converted to STIX 2.1 by misp-stix")
    p.add_argument("files", nargs="+", metavar="EVENT.json")
    _connection_flags(p)
    _push_flags(p)
    p.set_defaults(run=_run(import_misp))


# --- feeds -------------------------------------------------------------------------------------


def _feed_filter(args: argparse.Namespace) -> dict[str, Any]:
    """The filter from --filter JSON, completed by the shorthand flags."""
    spec: dict[str, Any] = orjson.loads(args.filter) if args.filter else {}
    for flag, key in (("collection", "collections"), ("type", "types"),
                      ("kind", "observable_kinds"), ("label", "labels")):
        if getattr(args, flag):
            spec[key] = getattr(args, flag)
    if args.tlp_max:
        spec["tlp_max"] = args.tlp_max
    if args.min_confidence is not None:
        spec["min_confidence"] = args.min_confidence
    if args.valid_only:
        spec["valid_only"] = True
    if args.include_warninglisted:
        spec["include_warninglisted"] = True
    return spec


def _print_model(model: Any) -> None:
    print(model.model_dump_json(indent=2, exclude_none=True))


async def feed_command(client: AccordClient, args: argparse.Namespace) -> int:
    """`accord feed create|list|show|update|delete|deliveries`."""
    if args.action == "create":
        webhook = {"url": args.webhook} if args.webhook else None
        same = [f for f in await client.feeds() if f.name == args.name]
        made = await client.create_feed(args.name, _feed_filter(args), webhook,
                                        tlp1_markings=bool(args.tlp1_markings))
        if same:
            print(f"accord: warning: your organisation already has {len(same)} feed(s) named"
                  f" {args.name!r} ({', '.join(str(f.id) for f in same)}); names are not"
                  " unique, ids are", file=sys.stderr)
        _print_model(made)
    elif args.action == "list":
        feeds = await client.feeds()
        if not feeds:
            print("no feeds yet (accord feed create NAME ...)")
        for feed in feeds:
            print(f"{feed.id}  {feed.name}")
    elif args.action == "show":
        _print_model(await client.feed(args.feed))
    elif args.action == "update":
        changes: dict[str, Any] = {"name": args.name, "remove_webhook": args.remove_webhook}
        new_filter = _feed_filter(args)
        if new_filter:
            changes["filter"] = new_filter
        if args.webhook:
            changes["webhook"] = {"url": args.webhook}
        if args.tlp1_markings is not None:
            changes["tlp1_markings"] = args.tlp1_markings
        _print_model(await client.update_feed(args.feed, **changes))
    elif args.action == "delete":
        await client.delete_feed(args.feed)
        print(f"deleted feed {args.feed}")
    else:
        deliveries = await client.deliveries(args.feed)
        if not deliveries:
            print(f"no webhook deliveries for feed {args.feed}")
        for delivery in deliveries:
            print(f"{delivery.created.isoformat()}  {delivery.state:9}  {delivery.objects:5}"
                  f" objects  {delivery.attempts} attempt(s)  {delivery.last_error or ''}")
    return 0


def add_feed_commands(commands: Any) -> None:
    """`accord feed ...`: an organisation's saved feeds."""
    feeds = commands.add_parser("feed", help="create, list, change and delete saved feeds") \
        .add_subparsers(dest="action", required=True)

    def filter_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--filter", help="the filter as JSON (README: feeds)")
        p.add_argument("--collection", action="append", help="collection id (repeatable)")
        p.add_argument("--type", action="append", help="STIX type (repeatable)")
        p.add_argument("--kind", action="append", help="observable kind: ipv4, ipv6, domain,"
                       " url, email, md5, sha1, sha256 (repeatable)")
        p.add_argument("--label", action="append", help="label (repeatable)")
        p.add_argument("--tlp-max", choices=list(iocs.TLP_MARKINGS),
                       help="most restrictive TLP delivered: clear, green, amber,"
                            " amber+strict or red")
        p.add_argument("--min-confidence", type=_confidence)
        p.add_argument("--valid-only", action="store_true",
                       help="drop revoked and expired objects")
        p.add_argument("--include-warninglisted", action="store_true",
                       help="also deliver values on a shipped warninglist (left out by"
                       " default: private ranges, public resolvers, top domains)")
        p.add_argument("--webhook", metavar="URL", help="push batches to this URL")
        p.add_argument("--tlp1-markings", action=argparse.BooleanOptionalAction,
                       help="also serve each object's TLP 1.0 marking id (for consumers that"
                       " know only TLP 1.0 ids, such as Cortex XSOAR)")
        _connection_flags(p)

    p = feeds.add_parser("create", help="save a feed (a webhook's secret is shown once)")
    p.add_argument("name")
    filter_flags(p)
    p = feeds.add_parser("update", help="change a feed's name, filter or webhook")
    p.add_argument("feed", metavar="FEED")
    p.add_argument("--name")
    p.add_argument("--remove-webhook", action="store_true")
    filter_flags(p)
    for action, text in (("list", "your organisation's feeds"), ("show", "one feed"),
                         ("delete", "delete a feed"), ("deliveries", "webhook delivery log")):
        p = feeds.add_parser(action, help=text)
        if action != "list":
            p.add_argument("feed", metavar="FEED")
        _connection_flags(p)
    for parser in feeds.choices.values():
        parser.set_defaults(run=_run(feed_command))
    p = feeds.add_parser(
        "export", help="a feed's values (txt, csv) or objects (stix) on stdout",
        description="The feed's export: txt (one value a line), csv (kind, value, indicator,"
                    " tlp, confidence, valid_until) or stix (a bundle).",
        epilog="example: accord feed export \"C2 for the SIEM\" --format csv --kind ipv4")
    p.add_argument("feed", metavar="FEED", help="feed id or name")
    p.add_argument("--format", choices=["txt", "csv", "stix"], default="txt",
                   help="txt (default), csv or stix")
    p.add_argument("--kind", action="append", help="only this observable kind (repeatable)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    _connection_flags(p)
    p.set_defaults(run=_run(feed_export))
