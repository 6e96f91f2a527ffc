"""deploy/ checked without a container engine: compose, Caddy, Dockerfile, systemd, env file.

`docker compose config` needs the compose plugin, which this machine and CI lack; the
compose file is parsed here instead and its shape asserted.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from server.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
REPLICAS = ("accord-1", "accord-2")


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _settings_vars() -> set[str]:
    return {f"ACCORD_{name.upper()}" for name in Settings.model_fields}


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_compose_runs_two_replicas_on_one_postgresql_behind_a_tls_proxy():
    services = _compose()["services"]
    assert set(services) == {"db", *REPLICAS, "proxy"}
    db = services["db"]
    assert db["image"].startswith("postgres:") and "pg_isready" in str(db["healthcheck"]["test"])
    for name in REPLICAS:
        replica = services[name]
        assert replica["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert replica["command"][:3] == ["serve", "--host", "0.0.0.0"]
        assert "/healthz" in " ".join(replica["healthcheck"]["test"])
        assert replica["depends_on"]["db"]["condition"] == "service_healthy"
        env = replica["environment"]
        assert "@db:5432/" in env["ACCORD_DATABASE_URL"]
        assert set(env) <= _settings_vars(), set(env) - _settings_vars()
        assert "ports" not in replica  # reachable only through the proxy
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    assert all(proxy["depends_on"][r]["condition"] == "service_healthy" for r in REPLICAS)


def test_caddy_balances_on_readiness_streams_events_and_hides_metrics():
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy accord-1:8000 accord-2:8000 \{", caddyfile)
    for directive in ("health_uri /readyz", "flush_interval -1", "respond @internal 404",
                      "read_header 10s"):
        assert directive in caddyfile


def test_image_is_multi_stage_non_root_health_checked_and_runs_accord_serve():
    steps = _instructions((DEPLOY / "Dockerfile").read_text())
    stages = [args for word, args in steps if word == "FROM"]
    assert len(stages) >= 2 and stages[-1].endswith("AS runtime")
    runtime = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM"):]
    users = [args for word, args in runtime if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = [args for word, args in runtime if word == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0]
    entrypoint = json.loads(next(args for word, args in runtime if word == "ENTRYPOINT"))
    cmd = json.loads(next(args for word, args in runtime if word == "CMD"))
    assert entrypoint + cmd == ["accord", "serve", "--host", "0.0.0.0"]
    # The image's `accord` is the console script the package declares ...
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"accord": "server.cli:main"}
    # ... and `accord serve` with the image's arguments is a command it knows.
    done = subprocess.run([sys.executable, "-c", "from server.cli import main; main()",
                           *cmd[:1], "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--host" in done.stdout, done.stderr


def test_image_context_ships_what_the_wheel_needs():
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    copied = [args.split()[0] for word, args in
              _instructions((DEPLOY / "Dockerfile").read_text()) if word == "COPY"
              and not args.startswith("--")]
    assert copied, "the Dockerfile copies nothing from the context"
    for source in copied:
        assert f"!{source.rstrip('/')}/" in ignore or f"!{source}" in ignore, source


def test_systemd_unit_runs_accord_serve_unprivileged():
    unit = (DEPLOY / "accord.service").read_text()
    assert re.search(r"^ExecStart=\S+/accord serve$", unit, re.MULTILINE)
    assert re.search(r"^User=accord$", unit, re.MULTILINE)
    assert "EnvironmentFile=/etc/accord/accord.env" in unit and "NoNewPrivileges=true" in unit


def test_every_setting_is_in_the_env_example_and_the_readme():
    example = (DEPLOY / "accord.env.example").read_text()
    named = set(re.findall(r"^#?(ACCORD_[A-Z0-9_]+)=", example, re.MULTILINE))
    assert named == _settings_vars(), named ^ _settings_vars()
    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `(ACCORD_[A-Z0-9_]+)`", readme, re.MULTILINE))
    rows |= set(re.findall(r"^\| `ACCORD_[A-Z0-9_]+` / `(ACCORD_[A-Z0-9_]+)`", readme,
                           re.MULTILINE))
    assert _settings_vars() <= rows, _settings_vars() - rows
