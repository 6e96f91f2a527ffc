"""Structured logging: one JSON line per event, carrying the request id, never a secret."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable

import orjson

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REDACTED = "[redacted]"
# Query parameter names whose values are credentials (matched as substrings, lower case).
_SENSITIVE_NAMES = ("token", "key", "secret", "password", "passwd", "pwd", "sig", "auth",
                    "credential", "session", "code")
# Defence in depth: whatever a message or a field carries (an exception text, a URL, a
# header someone logged), these shapes of secret are scrubbed before the line is written.
_SCRUBS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values.
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), rf"\1 {REDACTED}"),
    # Accord API key tokens `<key id>.<secret>`: the key id is not secret, the rest is.
    (re.compile(r"\b(ak_[0-9a-f]{16})\.[A-Za-z0-9_\-]+"), rf"\1.{REDACTED}"),
    # Credentials in URL query strings.
    (re.compile(r"(?i)([?&;][a-z0-9_\-\[\]]*(?:token|key|secret|passw(?:or)?d|pwd|sig"
                r"|signature|auth|credential|session|code)[a-z0-9_\-\[\]]*=)[^&\s\"'#]*"),
     rf"\1{REDACTED}"),
    # Passwords in DSNs and URLs (postgresql://user:password@host).
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@]+:)[^\s@/]+@"), rf"\1{REDACTED}@"),
)
_MAX_QUERY_VALUE = 200


# What each pattern above needs, tested (in lower case) before it runs: an access line's
# fields pass none of these, and the expressions were a fifth of its cost. Under (?i) four
# letters beyond ASCII match ASCII ones (re's docs: U+0130, U+0131, U+017F long s, U+212A);
# they are folded first, so that a long-s `session=` is still seen.
_SECRET_WORDS = ("token", "key", "secret", "passw", "pwd", "sig", "auth", "credential",
                 "session", "code")
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_NEEDS: tuple[Callable[[str], bool], ...] = (
    lambda t: "bearer" in t or "basic" in t,
    lambda t: "ak_" in t and "." in t,
    lambda t: "=" in t and any(w in t for w in _SECRET_WORDS),
    lambda t: "://" in t,
)


def scrub(text: str) -> str:
    """The text with every recognisable secret replaced by a marker."""
    lowered = text.translate(_FOLD).lower() if not text.isascii() else text.lower()
    for (pattern, replacement), needs in zip(_SCRUBS, _NEEDS, strict=True):
        if needs(lowered):
            text = pattern.sub(replacement, text)
    return text


def _is_sensitive(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in _SENSITIVE_NAMES)


# Parameters whose values never carry an object's content or an observable's value; the
# others (match[...] filters, searches) are logged by name only (README "Privacy").
_PLAIN_PARAMS = frozenset({"limit", "added_after", "next", "since", "until", "format",
                           "offset", "after", "kind"})
WITHHELD = "[withheld]"


def redact_query(items: Iterable[tuple[str, str]]) -> str:
    """A query string fit for a log: credential-like parameters' values replaced, and any
    value that may be content (a filter's, a search's) withheld."""
    parts = []
    for name, value in items:
        shown = (REDACTED if _is_sensitive(name) else value[:_MAX_QUERY_VALUE]
                 if name in _PLAIN_PARAMS else WITHHELD)
        parts.append(f"{name}={shown}")
    return "&".join(parts)


def _clean(value: object) -> object:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line, secrets scrubbed."""

    _second: int | None = None
    _stamp = ""

    def _timestamp(self, record: logging.LogRecord) -> str:
        # Formatted once a second, not once a line (the access log writes one a request).
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", self.converter(second))
            self._second = second
        return self._stamp

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": request_id_var.get(),
            "msg": scrub(record.getMessage()),
        }
        for name, value in getattr(record, "fields", {}).items():
            event[name] = _clean(value)
        if record.exc_info:
            event["exc"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(event, default=str).decode()


def _embedded_to_debug(record: logging.LogRecord) -> bool:
    """pgserver narrates every start at INFO (initdb's "you can now start the database
    server using pg_ctl ...", port 5432 of no use here): that is DEBUG for Accord's users."""
    if record.levelno <= logging.INFO:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger("accord").isEnabledFor(logging.DEBUG)
    return True


def set_level(level: str) -> None:
    """Apply ACCORD_LOG_LEVEL to Accord's own loggers (`accord.*`) and the embedded database's."""
    logging.getLogger("accord").setLevel(level)
    embedded = logging.getLogger("pgserver")
    if _embedded_to_debug not in embedded.filters:
        embedded.addFilter(_embedded_to_debug)


def configure(level: str | None = None) -> None:
    """Send every logger's events to stderr as JSON lines."""
    # The line carries none of these, and each record would look them up (the logging
    # HOWTO's "Optimization"): the access log's record is written at every request.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Libraries stay at INFO; Accord's loggers follow the configured level (see set_level).
    root.setLevel("INFO")
    if level is not None:
        set_level(level)
