"""check_pattern's fast path against stix2-patterns (the ANTLR reference grammar)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from schemas import stix_pattern
from schemas.stix_pattern import check_pattern, pattern_error

SHA256 = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"

COMMON_PATTERNS = [
    "[ipv4-addr:value = '198.51.100.7']",
    "[ipv4-addr:value = '198.51.100.0/24']",
    "[ipv6-addr:value = '2001:db8::1']",
    "[domain-name:value = 'evil.example']",
    "[url:value = 'https://evil.example/login?a=1&b=\\'2\\'']",
    "[email-addr:value = 'ceo@bank.example']",
    f"[file:hashes.'SHA-256' = '{SHA256}']",
    f"[file:hashes.MD5 = '{MD5}']",
    f"[file:hashes.MD5 = '{MD5}' OR file:hashes.'SHA-256' = '{SHA256}']",
    f"[file:name = 'invoice.exe' AND file:hashes.'SHA-1' = '{'a' * 40}']",
    "[file:size > 1024 AND file:size <= 2048]",
    "[mutex:name = 'Global\\\\evil']",
    "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software\\\\Run']",
    "[network-traffic:dst_port = 443 AND network-traffic:protocols[*] = 'tcp']",
    "[network-traffic:dst_ref.type = 'domain-name' AND "
    "network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 180 SECONDS",
    f"([file:hashes.MD5 = '{MD5}'] FOLLOWEDBY "
    "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 300 SECONDS",
    "[domain-name:value IN ('a.example', 'b.example')]",
    "[url:value LIKE '%.evil.example/%'] OR [domain-name:value MATCHES '^c2\\\\.']",
    "[process:command_line NOT LIKE '%svchost%']",
    "[email-message:subject = 'Invoice' AND email-message:from_ref.value = 'a@b.example']",
    "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.5]",
    "[x509-certificate:serial_number = '36:f7:d4']",
    "[user-account:account_login = 'admin' AND user-account:is_privileged = true]",
    "[artifact:payload_bin = b'aGVsbG8=']",
    "[file:magic_number_hex = h'4d5a']",
    "[process:created_time > t'2024-01-01T00:00:00Z'] "
    "START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00.000Z'",
    "[ipv4-addr:value = '198.51.100.7'] AND [domain-name:value = 'evil.example']",
    "[software:name = 'Word' AND software:version != '16']",
]


def _reference_ok(pattern: str) -> bool:
    """stix2-patterns' verdict; a crash (it has some) counts as a refusal."""
    try:
        return not run_validator(pattern, stix_version="2.1")
    except Exception:
        return False


@pytest.fixture
def fallback_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record every pattern that reaches the stix2-patterns fallback."""
    calls: list[str] = []

    def counting(real: Callable[[str], str | None]) -> Callable[[str], str | None]:
        def wrapper(pattern: str) -> str | None:
            calls.append(pattern)
            return real(pattern)
        return wrapper

    monkeypatch.setattr(stix_pattern, "_slow_check", counting(stix_pattern._slow_check))
    monkeypatch.setattr(stix_pattern, "_slow_names_check",
                        counting(stix_pattern._slow_names_check))
    yield calls


def test_common_patterns_take_the_fast_path(fallback_calls: list[str]) -> None:
    for pattern in COMMON_PATTERNS:
        assert _reference_ok(pattern), pattern
        assert check_pattern(pattern) is None, pattern
        assert pattern_error(pattern) is None, pattern
    assert fallback_calls == []


def test_unusual_patterns_fall_back(fallback_calls: list[str]) -> None:
    unusual = [
        "[file:name = 'a' /* comment */]",
        "[(file:name = 'a' OR file:name = 'b') AND file:size = 1]",
        "[file:name='a']AND[file:size=1]",
        "[file:hashes.MD5 = 'not-a-hash']",
        "[file:name = 'a'",
    ]
    for pattern in unusual:
        assert (check_pattern(pattern) is None) is _reference_ok(pattern), pattern
    assert len(fallback_calls) == len(unusual)


def test_validator_name_rules() -> None:
    # Valid grammar, refused by stix2-validator: property names under 3 characters.
    assert check_pattern("[file:ab = 'x']") is None
    assert pattern_error("[file:ab = 'x']") is not None
    assert pattern_error("[file:id = 'x']") is None
    assert pattern_error("[x-acme:id = 'x']") is not None


def test_non_string_and_empty() -> None:
    assert check_pattern(None) is not None  # type: ignore[arg-type]
    assert check_pattern("") is not None
    assert check_pattern("   ") is not None


# --- Generated patterns: valid ones and subtly broken ones ------------------------------------

def _mostly(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """Draw a well-formed piece most of the time, a subtly broken one sometimes."""
    return st.sampled_from(good * 8 + bad)


_TYPES = _mostly(
    ["file", "ipv4-addr", "domain-name", "x-acme-thing", "network-traffic", "url"],
    ["IPV4", "ab", "file-", "true", "a_b", "x--y", "9file", "AND"],
)
_PATH_STEPS = _mostly(
    [".name", ".value", ".hashes", ".'SHA-256'", ".MD5", ".SHA1", "[*]", "[0]", ".dst_ref",
     ".'a\\'b'"],
    ["[-1]", "[01]", ".x-y", ".OR", ". name", "[ 1 ]", ".9", ".true"],
)
_FIRST = _mostly(
    ["name", "value", "hashes", "size", "dst_port", "extensions", "x_acme_score", "_abc"],
    ["id", "ab", "'name'", "Name", "NOT", "na-me"],
)
_OPS = _mostly(
    ["=", "==", "!=", "<>", "<", ">", "<=", ">=", "NOT =", "IN", "NOT IN", "LIKE", "NOT LIKE",
     "MATCHES", "ISSUBSET", "ISSUPERSET"],
    ["===", "=<", "in", "like", "NOT NOT =", "!"],
)
_VALUES = _mostly(
    ["'abc'", "'a\\'b'", "'a\\\\b'", "''", f"'{MD5}'", f"'{SHA256}'", "'ABCDEF'", "5", "-5",
     "+5", "0", "1.5", "-.5", "true", "false", "t'2024-01-01T00:00:00Z'",
     "t'2024-02-30T00:00:00.5Z'", "h'00ff'", "b'aGVsbG8='", "('a', 'b')", "()", "(1, 'x')"],
    ["'a\\b'", "'unterminated", "\"dq\"", "01", "1.", "True", "t'2024-13-01T00:00:00Z'",
     "t'2024-01-01T00:00:00'", "h'0'", "b'a'", "b''", "('a',)", "('a' 'b')"],
)
_JOINERS = _mostly([" AND ", " OR ", "  OR\t", "\nAND "], [" and ", " FOLLOWEDBY ", "AND"])
_OBS_JOINERS = _mostly([" AND ", " OR ", " FOLLOWEDBY "], [" followedby ", "", " ANDOR "])
_QUALIFIERS = _mostly(
    ["", "", "", " WITHIN 5 SECONDS", " WITHIN 1.5 SECONDS", " REPEATS 3 TIMES",
     " START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'",
     " REPEATS 2 TIMES WITHIN 5 SECONDS", " WITHIN 5 SECONDS REPEATS 2 TIMES"],
    [" WITHIN -5 SECONDS", " REPEATS 0 TIMES", " REPEATS 1.5 TIMES",
     " START '2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'",
     " WITHIN 5 SECONDS WITHIN 6 SECONDS", " WITHIN 5 SECONDS REPEATS 2 TIMES WITHIN 1 SECONDS",
     " WITHIN5 SECONDS"],
)
_SPACES = _mostly(["", " ", "  ", "\t", "\n"], ["\u00a0", "\u2003"])


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    path = draw(_TYPES) + ":" + draw(_FIRST) + "".join(draw(st.lists(_PATH_STEPS, max_size=3)))
    op = draw(_OPS)
    value = draw(_VALUES)
    space = draw(_SPACES)
    return f"{path}{space or ' '}{op}{draw(_SPACES)}{value}" if draw(st.booleans()) else (
        f"{path} {op} {value}")


@st.composite
def observations(draw: st.DrawFn) -> str:
    parts = draw(st.lists(comparisons(), min_size=1, max_size=3))
    body = parts[0]
    for part in parts[1:]:
        body += draw(_JOINERS) + part
    opening, closing = draw(st.sampled_from([("[", "]")] * 30 + [("", "]"), ("[", ""),
                                                                  ("(", ")"), ("[", "]]")]))
    return opening + draw(_SPACES) + body + draw(_SPACES) + closing + draw(_QUALIFIERS)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    observed = draw(st.lists(observations(), min_size=1, max_size=3))
    text = observed[0]
    for part in observed[1:]:
        text += draw(_OBS_JOINERS) + part
    if draw(st.integers(0, 3)) == 0:
        text = "(" + text + ")" + draw(_QUALIFIERS)
    return draw(_SPACES) + text + draw(_SPACES)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns())
def test_fast_path_agrees_with_stix2_patterns(pattern: str) -> None:
    reference = _reference_ok(pattern)
    if stix_pattern._fast_valid(pattern):
        assert reference, f"fast path accepted a pattern stix2-patterns refuses: {pattern!r}"
        assert stix_pattern._slow_names_check(pattern) is None, pattern
    assert (check_pattern(pattern) is None) is reference, pattern


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="[]():'=<>!.*,-+ abfhtxAND ORIN0123456789\\\t", max_size=40))
def test_fast_path_never_accepts_noise_the_grammar_refuses(pattern: str) -> None:
    reference = _reference_ok(pattern)
    # Asserted for every draw, whichever path judged it (the fast path rarely accepts noise,
    # and a test that asserted only then would pass having checked nothing).
    assert (check_pattern(pattern) is None) is reference, pattern
    assert not stix_pattern._fast_valid(pattern) or reference, pattern
