"""The import graph of `server/` packages follows the arrows of DESIGN.md, and SQL lives
only in `server/store/` and `server/db/`.

The graph is built from the AST of every module (no import is executed): a node is a
package of `server/` (`taxii`, `store`, ...) or a module of its root (`app`, `policy`, ...).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "server"

# The root's foundation modules: settings, domain errors, logging. Anything may use them,
# and they use nothing of ours but each other.
_BASE = {"config", "errors", "logs"}
# DESIGN.md: `taxii`, `admin`, `feeds` -> `ingest` -> `policy`, `store`; `store` -> `db`;
# everything may import `schemas`; `policy` imports nothing of ours but `schemas`. Arrows
# point down: each layer may import what lies below it. `web` (the HTTP edge: parsing,
# responses, auth) and `ops` (probes, metrics, rate limits) serve the handlers and sit
# just below them; the TAXII view of saved feeds reads through `feeds`, a delivery channel.
ALLOWED: dict[str, set[str]] = {
    "policy": set(),
    "privacy": set(),  # the personal-data screen: pure, like policy
    "db": {"config"},
    "store": {"db", "errors"},
    "ingest": {"policy", "privacy", "store", "db"} | _BASE,
    "web": {"store", "db"} | _BASE,
    "ops": {"web", "store", "db"} | _BASE,
    "admin": {"ingest", "policy", "store", "db", "web", "ops"} | _BASE,
    "feeds": {"ingest", "policy", "store", "db", "web", "ops"} | _BASE,
    "taxii": {"feeds", "ingest", "policy", "store", "db", "web", "ops"} | _BASE,
    # Federation pulls through ingest and pushes through the store's visibility predicate,
    # with the webhook channel's target checks; only the app and the CLI use it.
    "federation": {"admin", "feeds", "ingest", "policy", "store", "db", "web", "ops"} | _BASE,
    # The web console: pages over the same services, store reads and ingest as the APIs.
    "console": {"admin", "feeds", "ingest", "policy", "store", "db", "web", "ops"} | _BASE,
    # The analyst lookup reads what ingest extracted, beside the feeds.
    "intel": {"ingest", "policy", "store", "db", "web", "ops"} | _BASE,
    "app": {"console", "admin", "feeds", "federation", "intel", "taxii", "ingest", "policy",
            "store", "db", "web", "ops"} | _BASE,
    "cli": {"app", "admin", "federation", "ingest", "intel", "store", "db"} | _BASE,
    "config": set(),
    "errors": set(),
    "logs": set(),
}
# Statement shapes, not bare words: DELETE is also an HTTP method, "select" plain English.
# Upper-case clause words count alone too: an f-string splits a statement into pieces.
_SQL = re.compile(
    r"\b(?:SELECT|WHERE|RETURNING|TRUNCATE)\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b"
    r"|\bDELETE FROM\b|\bLOCK TABLE\b|\b(?:CREATE|ALTER|DROP)(?: TEMP)? TABLE\b"
    r"|\bON CONFLICT\b|\bpg_notify\b",
)


def _node(module: str) -> str | None:
    """The graph node of an absolute module name, or None if it is not ours."""
    parts = module.split(".")
    if parts[0] != "server" or len(parts) == 1:
        return None
    return parts[1]


def _imports(path: Path) -> set[str]:
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from server import policy` imports the module `server.policy`.
            names = ([f"server.{alias.name}" for alias in node.names]
                     if node.module == "server" else [node.module])
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}: relative import; spell it out")
        else:
            continue
        targets |= {t for t in map(_node, names) if t is not None}
    return targets


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SERVER.rglob("*.py")):
        rel = path.relative_to(SERVER).parts
        if rel == ("__init__.py",):
            continue
        found.append((rel[0].removesuffix(".py"), path))
    return found


def graph() -> dict[str, set[str]]:
    """Package -> the packages of ours it imports (itself left out)."""
    edges: dict[str, set[str]] = {}
    for node, path in _modules():
        edges.setdefault(node, set()).update(_imports(path) - {node})
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, if it has any."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_sees_every_package_and_the_known_arrows():
    # Guards the builder itself: a graph that saw nothing would pass everything below.
    edges = graph()
    assert {"taxii", "admin", "feeds", "ingest", "policy", "store", "db", "web"} <= set(edges)
    assert {"ingest", "store", "web"} <= edges["taxii"]
    assert "policy" in edges["ingest"] and "db" in edges["web"]


def test_no_package_cycle():
    assert _cycle(graph()) is None, " -> ".join(_cycle(graph()) or [])


def test_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_imports_follow_the_design_arrows():
    wrong = {(source, target) for source, targets in graph().items() for target in targets
             if target not in ALLOWED.get(source, set())}
    assert not wrong, f"imports against DESIGN.md's arrows: {sorted(wrong)}"


def test_policy_imports_only_schemas():
    path = SERVER / "policy.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert not node.module.startswith(("server", "asyncpg", "aiohttp")), node.module


def _sql_literals(path: Path) -> list[tuple[int, str]]:
    hits = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and _SQL.search(node.value)):
            hits.append((node.lineno, node.value[:80]))
    return hits


def test_sql_pattern_recognises_statements_and_not_methods():
    assert _SQL.search("SELECT o.body FROM objects o") and _SQL.search("LOCK TABLE api_keys")
    assert _SQL.search("UPDATE feeds SET name = $1") and _SQL.search("DELETE FROM feeds")
    assert _SQL.search(" WHERE o.seq = ") and _SQL.search("SELECT ")  # f-string pieces
    assert not _SQL.search("DELETE") and not _SQL.search("what a feed's filter selects")


def test_sql_only_in_store_and_db():
    outside = {}
    for _, path in _modules():
        rel = path.relative_to(SERVER).parts
        if rel[0] in ("store", "db"):
            continue
        if hits := _sql_literals(path):
            outside[str(path.relative_to(SERVER))] = hits
    assert not outside, f"SQL outside server/store and server/db: {outside}"
    # The scan finds the store's statements, so it is looking at the right thing.
    assert _sql_literals(SERVER / "store" / "objects.py")
