"""The README runs as written: every sh and python block, in order, on one fresh `accord serve`.

As a newcomer pastes them: one bash session (the venv's bin first on PATH, HOME a fresh
directory, the working directory a copy of the repository's examples/), the blocks in README
order, python blocks piped into `python3` in that same shell so they see its exported
variables. A block preceded by `<!-- readme-test: skip (why) -->` is not run (installs, the
server itself, cron scripts, commands that run until Ctrl-C).

What the test substitutes, and nothing else:
- the README's fixed `http://127.0.0.1:8000` becomes the free loopback port the server got;
- `<the platform-admin token it printed>` becomes the token this server printed;
- the shell gets ACCORD_DATABASE_URL of the server's fresh database, as a user's shell in the
  server's directory finds `./.accord` (the tour's `accord admin` commands act on it).

It fails on any non-zero exit (bash -e, pipefail, -u), on a TAXII/JSON error body (`curl -s`
exits 0 on a 404), on a CLI error line or traceback, and checks what each part must show.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import fresh_database
from tests.served import Served

ROOT = Path(__file__).resolve().parent.parent
README_URL = "http://127.0.0.1:8000"
TOKEN_PLACEHOLDER = "<the platform-admin token it printed>"
_BLOCK = re.compile(
    r"^(?P<indent>[ ]*)```(?P<lang>sh|python)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
_SKIP = re.compile(r"<!-- readme-test: skip \((?P<why>[^)]*)\) -->\s*$")


@dataclass
class Block:
    """A fenced code block of the README, with the line it starts on."""

    line: int
    lang: str
    body: str
    skip: str | None


def readme_blocks(text: str) -> list[Block]:
    """Every sh and python block, dedented, with its skip marker if the line before has one."""
    blocks = []
    for m in _BLOCK.finditer(text):
        indent = len(m["indent"])
        body = "".join(line[indent:] for line in m["body"].splitlines(keepends=True))
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = _SKIP.search(before)
        blocks.append(Block(text.count("\n", 0, m.start()) + 1, m["lang"], body,
                            skip["why"] if skip else None))
    return blocks


def script(blocks: list[Block], url: str, token: str) -> str:
    """One bash script pasting the runnable blocks in order, each announced by a marker line."""
    parts = ["set -eu -o pipefail", "exec 2>&1",
             "trap 'echo \"@@failed: $BASH_COMMAND (exit $?)\"' ERR"]
    for block in blocks:
        if block.skip is not None:
            continue
        body = block.body.replace(README_URL, url).replace(TOKEN_PLACEHOLDER, token)
        # A newline first: curl's JSON answers end without one.
        parts.append(f"printf '\\n@@block {block.line}\\n'")
        if block.lang == "python":
            parts.append(f"python3 - <<'ACCORD_README_PY'\n{body}ACCORD_README_PY")
        else:
            parts.append(body)
    return "\n".join(parts) + "\nprintf '\\n@@done\\n'\n"


def outputs(stdout: str) -> dict[int, str]:
    """What each block printed, by the README line it starts on."""
    pieces = re.split(r"\n@@block (\d+)\n", stdout)
    return {int(line): printed for line, printed in zip(pieces[1::2], pieces[2::2],
                                                        strict=True)}


def _section_of(text: str, line: int) -> str:
    heads = [(i + 1, h) for i, h in enumerate(text.splitlines()) if h.startswith("## ")]
    return [h for n, h in heads if n <= line][-1]


def test_readme_blocks_are_found_and_skips_say_why():
    text = (ROOT / "README.md").read_text()
    blocks = readme_blocks(text)
    sections = {_section_of(text, b.line) for b in blocks if b.skip is None}
    for part in ("## A five-minute tour", "## For members: pushing indicators",
                 "## For analysts: pull, follow, blocklists", "## For admins"):
        assert part in sections, f"no runnable block in {part}"
    assert all(b.skip for b in blocks if b.skip is not None)


async def test_readme_runs_as_written(admin_dsn, tmp_path):
    text = (ROOT / "README.md").read_text()
    blocks = readme_blocks(text)
    work = tmp_path / "clone"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    home = tmp_path / "home"
    home.mkdir()
    async with fresh_database(admin_dsn) as dsn:
        served = Served(dsn, cwd=work)
        try:
            token = served.admin_token()
            await served.ready(token)
            url = served.url
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ACCORD_", "XDG_"))}
            venv_bin = str(Path(sys.executable).parent)
            env.update(PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}", HOME=str(home),
                       ACCORD_DATABASE_URL=dsn, PYTHONUNBUFFERED="1")
            done = subprocess.run(["bash", "-c", script(blocks, url, token)], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=300)
        finally:
            served.stop()
    out = done.stdout
    assert done.returncode == 0 and out.endswith("@@done\n"), out[-4000:]
    for bad in ("Traceback", '"http_status"', "@@failed", "\naccord: "):
        assert bad not in out, f"{bad!r} in the README's output:\n{out[-4000:]}"
    by_line = outputs(out)

    def printed(first_line_contains: str) -> str:
        """The output of the runnable block whose text contains this string."""
        for block in blocks:
            if block.skip is None and first_line_contains in block.body:
                return by_line[block.line]
        raise AssertionError(f"no runnable README block contains {first_line_contains!r}")

    # The tour: the reader reads back the contributor's indicator, over curl and taxii2-client.
    assert "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" in printed("Read it back")
    assert "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f C2 server" in printed(
        "taxii2client")
    # Members: every push accepted everything it sent, and the summaries add up.
    pushed = printed("accord push examples/report.json")
    for line in ("examples/report.json: 4 object(s), 4 accepted, 0 refused",
                 "examples/more.jsonl: 2 object(s), 2 accepted, 0 refused",
                 "c2.txt: 3 value(s), 3 accepted, 0 refused",
                 "examples/blocklist.csv: 4 value(s), 4 accepted, 0 refused"):
        assert line in pushed, pushed
    assert "'Finance IOCs'" in printed("SyncAccordClient")
    # Analysts: the second pull finds nothing new.
    pulled = printed("accord pull")
    assert "pulled " in pulled and "nothing new in collection" in pulled, pulled
    # The CLI reference: the reader browses the tour's collection and exports its feed.
    browsed = printed("accord collections")
    assert "Finance IOCs" in browsed and "198.51.100.7" in browsed
    assert '"id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"' in browsed
    # Admins: a plain member of the confidential group sees only itself; the reader sees
    # the Grid collection.
    checks = printed("group members critical-infra")
    assert "the roster is confidential" in checks
    assert '"title": "Grid alerts"' in checks or '"title":"Grid alerts"' in checks, checks
