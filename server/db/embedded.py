"""The embedded PostgreSQL (pgserver) used when no ACCORD_DATABASE_URL is given."""

from __future__ import annotations

import warnings
from pathlib import Path


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL under data_dir and return its DSN."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, as on most servers.
        warnings.simplefilter("ignore")
        import pgserver

        pgdata = Path(data_dir).resolve() / "pgdata"
        pgdata.mkdir(parents=True, exist_ok=True)
        # pgserver counts the processes sharing the cluster and stops it with the last
        # one, so an admin command run beside `accord serve` joins rather than restarts.
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        return server.get_uri()
