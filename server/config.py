"""Settings: one pydantic model, read from ACCORD_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web
from pydantic import BaseModel, Field, SecretStr, field_validator

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseModel):
    """Everything the server needs to know about its deployment."""

    database_url: str | None = Field(
        None, description="PostgreSQL DSN; unset means an embedded PostgreSQL under data_dir."
    )
    data_dir: Path = Field(Path(".accord"), description="Where the embedded PostgreSQL lives.")
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, description="Port to listen on.")
    public_url: str | None = Field(
        None, description="External base URL (behind a proxy); else taken from the request."
    )
    max_content_length: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest accepted request body, in bytes."
    )
    body_timeout_s: float = Field(
        60.0, gt=0, description="A request body not received within this time is refused (408)."
    )
    header_timeout_s: float = Field(
        15.0, gt=0,
        description="A connection that has not sent a whole request head within this time"
        " (or stays idle this long between requests) is closed.",
    )
    page_size: int = Field(1000, ge=1, description="Objects per page when no limit is given.")
    max_page_size: int = Field(5000, ge=1, description="Largest page a client may ask for.")
    status_retention_hours: int = Field(
        24, ge=24, description="How long status resources stay readable."
    )
    expiry_interval_s: float = Field(
        60.0, ge=0, description="Seconds between runs that send a removal event for each"
        " indicator version whose valid_until passed since the last run (README, \"Removal"
        " events\"); 0: no process of this deployment runs them.")
    retention_interval_s: float = Field(
        3600.0, ge=0, description="Seconds between purges of object versions older than"
        " their collection's retention period; 0: no process of this deployment purges.")
    heartbeat_s: float = Field(15.0, gt=0, description="Idle time before a stream heartbeat.")
    stream_write_timeout_s: float = Field(
        30.0, gt=0, description="A stream client that cannot take an event this long is cut."
    )
    webhook_backoff_s: float = Field(
        2.0, gt=0, description="First webhook retry delay; doubles each attempt (max 1 h)."
    )
    webhook_allow_private: bool = Field(
        False, description="Allow webhook targets on loopback/private/link-local addresses."
    )
    webhook_batch: int = Field(500, ge=1, le=5000, description="Objects per webhook batch.")
    federation_poll_s: float = Field(
        5.0, gt=0, description="Seconds between polls of each federation pull agreement.")
    federation_batch: int = Field(
        500, ge=1, le=5000, description="Objects per federation page pulled or batch pushed.")
    federation_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Seconds one request to a peer may take, connection to"
        " last byte, before the page or batch counts as failed and is retried with back-off.")
    federation_ca_file: Path | None = Field(
        None, description="PEM file of certificate authorities trusted for peers' TLS"
        " certificates, besides the system's (a peer whose certificate a private CA issued).")
    withheld_release_s: float = Field(
        300.0, ge=0, description="Seconds between releases of withheld objects: they are"
        " served in batches mixed across producers, never with their post (README); 0: no"
        " process of this deployment releases them (tests release them themselves).")
    withheld_min_producers: int = Field(
        2, ge=1, description="A trust group's withheld objects are released once they come"
        " from this many producers (or have waited withheld_max_hold_s).")
    withheld_max_hold_s: float = Field(
        3600.0, ge=0, description="Longest wait of a withheld object for other producers'.")
    pattern_workers: int = Field(
        2, ge=0, le=64, description="Worker processes that check indicator patterns the fast"
        " recogniser misses, off the event loop, one chunk per organisation at a time; 0:"
        " check them in the server process.")
    gzip_level: int = Field(
        1, ge=0, le=9, description="gzip level of TAXII and JSON responses to clients that"
        " send Accept-Encoding: gzip (1 fastest, 9 smallest); 0 never compresses.",
    )
    pool_min_size: int = Field(2, ge=1)
    pool_max_size: int = Field(10, ge=1)
    title: str = Field("Accord", description="Title shown in TAXII discovery.")
    log_level: str = Field("INFO", description="Least severe level of Accord's log events.")
    # Off by default: the limit is per process (it multiplies with --workers and replicas),
    # and the test suite and bench/ post as fast as they can.
    rate_limit_per_s: float = Field(
        0.0, ge=0, description="Requests per second each API key may make; 0 disables limits."
    )
    # Verified keys are remembered per process so that a request does not pay a database
    # round trip to learn what the last one did; a revocation clears the memory at once in
    # every process that is listening (NOTIFY), and this bounds it when a NOTIFY is late.
    key_cache_s: float = Field(
        5.0, ge=0, le=60, description="Seconds a process may answer with a verified API key"
        " without asking the database again (revocations reach it at once through NOTIFY;"
        " this bounds the rest); 0 checks the database on every request.",
    )
    rate_limit_burst: int = Field(
        0, ge=0, description="Requests a key may make at once; 0 means one second's worth."
    )
    cursor_key: SecretStr | None = Field(
        None, description="Key that seals next tokens and stream event ids (16+ characters,"
        " the same in every process); unset: one kept in the database.",
        min_length=16,
    )
    metrics_token: SecretStr | None = Field(
        None, description="Bearer token that may read /metrics (platform-admin keys always may)."
    )

    # The web console (server/console): sessions, sign-in lockout, cookie flags.
    console_session_hours: int = Field(12, ge=1, description="Longest life of a console session.")
    console_idle_minutes: int = Field(60, ge=1, description="A session idle this long ends.")
    console_max_failures: int = Field(
        5, ge=1, description="Failed sign-ins in a row that lock an account for a while."
    )
    console_lock_minutes: int = Field(15, ge=1, description="How long a locked account waits.")
    console_secure_cookie: str = Field(
        "auto", pattern="^(auto|always|never)$",
        description="Secure flag of console cookies: always, never, or auto (when the request"
        " came over TLS, or X-Forwarded-Proto says so and console_trust_proxy is set).",
    )
    console_trust_proxy: bool = Field(
        False, description="Believe X-Forwarded-Proto (only behind a proxy that sets it)."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> object:
        level = str(value).strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"log_level must be one of {', '.join(_LOG_LEVELS)}")
        return level

    @field_validator("metrics_token")
    @classmethod
    def _strong_token(cls, value: SecretStr | None) -> SecretStr | None:
        # A guessable token would make the metrics world-readable after all.
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("metrics_token must be at least 16 characters")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ACCORD_<FIELD> variables, then apply explicit overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(f"ACCORD_{name.upper()}")
            if raw not in (None, ""):
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)


SETTINGS = web.AppKey("settings", Settings)
