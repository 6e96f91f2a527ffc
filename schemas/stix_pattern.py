"""STIX 2.1 patterning syntax check (STIX 2.1 Part 9, "STIX Patterning").

`check_pattern` answers the same question as `stix2patterns.validator.run_validator`
(stix_version="2.1"), whose ANTLR parser costs ~400 us per pattern. A regular-expression
recogniser covers the shapes real indicators use — observation expressions of
`[object-type:path OP literal (AND|OR ...)]` joined by AND/OR/FOLLOWEDBY, one level of
parentheses and WITHIN/REPEATS/START-STOP qualifiers — and only ever answers "valid";
anything it does not recognise (including every broken pattern) goes to the ANTLR parser.

The recogniser is deliberately stricter than the grammar (ASCII whitespace only, whitespace
around keywords, lowercase STIX type names, no comments, no EXISTS, no comparison-level
parentheses) so it never accepts a pattern the grammar would refuse. It also applies the
pattern rules stix2-validator adds on top (valid object type and property names), so
`pattern_error` can use the same fast answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from itertools import permutations

# stix2-patterns' v21 object validator rejects malformed hash values for these algorithm
# names; the table is reused verbatim so both sides agree on its regex quirks.
from stix2patterns.v21.object_validator import HASHES_REGEX

__all__ = ["KNOWN_ANSWERS", "check_pattern", "needs_slow_check", "pattern_error",
           "pattern_errors"]

# Answers of `pattern_error` worked out elsewhere (server/ingest/patterns.py: in worker
# processes, off the event loop), for the validation running in this context to look up.
KNOWN_ANSWERS: ContextVar[Mapping[str, str | None] | None] = ContextVar(
    "stix_pattern_known_answers", default=None)

# --- Lexical pieces, transcribed from the STIXPattern.g4 (v2.1) lexer rules. -------------------

_WS0 = r"[ \t\r\n]*"
_WS1 = r"[ \t\r\n]+"
_KEYWORDS = (
    "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUPERSET", "ISSUBSET", "EXISTS",
    "LAST", "IN", "START", "STOP", "SECONDS", "true", "false", "WITHIN", "REPEATS", "TIMES",
)
# The lexer turns a keyword into its own token, never an identifier.
_NOT_KEYWORD = r"(?!(?:" + "|".join(_KEYWORDS) + r")(?![A-Za-z0-9_-]))"
# An identifier must not be followed by a character that would extend the lexer's token.
_END_IDENT = r"(?![A-Za-z0-9_-])"
# Unrolled `'(?:[^'\\]|\\['\\])*'`: the same language, without per-character alternation.
_STRING = r"'[^'\\]*(?:\\['\\][^'\\]*)*'"
_IDENT = _NOT_KEYWORD + r"[A-Za-z_][A-Za-z0-9_]*" + _END_IDENT
# stix2-validator: a pattern's object type is 3-250 characters of a STIX type name, and the
# first path component a property name of 3-250 [a-z0-9_] (only `id` is shorter).
_OBJECT_TYPE = r"(?=[a-z0-9-]{3,250}:)(?!(?:true|false):)[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
_FIRST_PROPERTY = _NOT_KEYWORD + r"[a-z_][a-z0-9_]{2,249}" + _END_IDENT
# The grammar allows `[-1]`, but stix2-patterns then crashes: leave those to it.
_INDEX = r"\[(?:\+?(?:0|[1-9][0-9]*)|\*)\]"
_PATH = (
    _OBJECT_TYPE + ":" + _FIRST_PROPERTY
    + r"(?:\.(?:" + _IDENT + "|" + _STRING + ")|" + _INDEX + ")*"
)

_INT_POS = r"\+?(?:0|[1-9][0-9]*)"
_FLOAT_POS = r"\+?[0-9]*\.[0-9]+"
_INT = r"[+-]?(?:0|[1-9][0-9]*)"
_FLOAT = r"[+-]?[0-9]*\.[0-9]+"
_TIMESTAMP = (
    r"t'[0-9]{4}-(?:0[1-9]|1[012])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?Z'"
)
_HEX = r"h'(?:[0-9A-Fa-f]{2})*'"
_BINARY = (
    r"b'(?:[A-Za-z0-9+/]{4})*"
    r"(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)'"
)
_BOOL = r"(?:true|false)" + _END_IDENT
# Float before int: the lexer takes the longest match, so `1.5` is one float token.
_ORDERABLE = "(?:" + "|".join((_STRING, _TIMESTAMP, _HEX, _BINARY, _FLOAT, _INT)) + ")"
_PRIMITIVE = "(?:" + _ORDERABLE + "|" + _BOOL + ")"
_SET = r"\(" + _WS0 + "(?:" + _PRIMITIVE + "(?:" + _WS0 + "," + _WS0 + _PRIMITIVE + ")*)?" \
    + _WS0 + r"\)"

_NOT = "(?:NOT" + _WS1 + ")?"
_OPERATION = (
    "(?:" + _WS0 + _NOT + "(?:==|=|!=|<>)" + _WS0 + _PRIMITIVE
    + "|" + _WS0 + _NOT + "(?:<=|>=|<|>)" + _WS0 + _ORDERABLE
    + "|" + _WS1 + _NOT + "IN" + _WS0 + _SET
    + "|" + _WS1 + _NOT + "(?:LIKE|MATCHES|ISSUBSET|ISSUPERSET)" + _WS0 + _STRING
    + ")"
)
_COMPARISON = _PATH + _OPERATION
_OBSERVATION = (
    r"\[" + _WS0 + _COMPARISON
    + "(?:" + _WS1 + "(?:AND|OR)" + _WS1 + _COMPARISON + ")*" + _WS0 + r"\]"
)

# stix2-patterns refuses the same qualifier twice on one observation; every ordering of
# distinct qualifiers is listed so a duplicate never matches.
_QUALIFIERS = (
    "WITHIN" + _WS1 + "(?:" + _FLOAT_POS + "|" + _INT_POS + ")" + _WS1 + "SECONDS",
    "REPEATS" + _WS1 + _INT_POS + _WS1 + "TIMES",
    "START" + _WS1 + _TIMESTAMP + _WS1 + "STOP" + _WS1 + _TIMESTAMP,
)
_QUALIFIED = "(?:" + "|".join(
    "".join(_WS1 + q for q in chosen)
    for size in (3, 2, 1)
    for chosen in permutations(_QUALIFIERS, size)
) + ")?"
_OBS_OP = _WS1 + "(?:AND|OR|FOLLOWEDBY)" + _WS1
_SIMPLE = _OBSERVATION + _QUALIFIED
_GROUP = r"\(" + _WS0 + _SIMPLE + "(?:" + _OBS_OP + _SIMPLE + ")*" + _WS0 + r"\)" + _QUALIFIED
_ANY_OBS = "(?:" + _SIMPLE + "|" + _GROUP + ")"

_FAST = re.compile(_WS0 + _ANY_OBS + "(?:" + _OBS_OP + _ANY_OBS + ")*" + _WS0)

# Used only when a recognised pattern mentions `hashes`, to find each comparison's path and
# value: outside comparisons a recognised pattern has only upper-case keywords, punctuation,
# numbers and timestamps, so the scan skips those in runs.
_COMPARISON_PARTS = re.compile(
    _OBJECT_TYPE + ":(?P<first>" + _FIRST_PROPERTY + ")"
    + r"(?P<steps>(?:\.(?:" + _IDENT + "|" + _STRING + ")|" + _INDEX + ")*)"
    + "(?:" + _WS0 + _NOT + "(?:==|=|!=|<>|<=|>=|<|>)" + _WS0 + "(?P<value>" + _PRIMITIVE + ")"
    + "|" + _WS1 + _NOT + "(?P<set>IN)" + _WS0 + _SET
    + "|" + _WS1 + _NOT + "(?:LIKE|MATCHES|ISSUBSET|ISSUPERSET)" + _WS0
    + "(?P<string>" + _STRING + "))"
    + "|" + _TIMESTAMP + "|[^a-z']+"
)
_PATH_STEP = re.compile(r"\.(?:(" + _IDENT + ")|(" + _STRING + "))|" + r"\[([^\]]*)\]")
# The common hash indicator, `[file:hashes.'SHA-256' = 'ab..' OR file:hashes.MD5 = 'cd..']`,
# read without the general scan (the values are hex, so no escapes to undo).
_HASH_TERM = r"file:hashes\.(?:'([A-Za-z0-9-]+)'|([A-Za-z_][A-Za-z0-9_]*)) = '([0-9A-Fa-f]*)'"
_HASH_CHAIN = re.compile(r"\[" + _HASH_TERM + r"(?: (?:OR|AND) " + _HASH_TERM + r")*\]")
_HASH_TERMS = re.compile(_HASH_TERM)
_HASH_CHECKS = {name: re.compile(regex) for name, (regex, _) in HASHES_REGEX.items()}

# stix2-validator's extra rules for pattern object types and property names (v21/musts.py).
_SCO_TYPES = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
    "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
    "network-traffic", "process", "software", "url", "user-account",
    "windows-registry-key", "x509-certificate",
})
_VALIDATOR_TYPE = re.compile(r"^\-?[a-z0-9]+(-[a-z0-9]+)*\-?$")
_VALIDATOR_PROPERTY = re.compile(r"^[a-z0-9_]{3,250}$")


def _unquote(literal: str) -> str:
    """A path StringLiteral as stix2-patterns converts it (quotes off, two escapes undone)."""
    return literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")


def _hashes_agree(pattern: str) -> bool:
    """Mirror stix2patterns.v21.object_validator on a recognised pattern; False if unsure.

    For any comparison whose path contains `hashes`, stix2-patterns matches the literal's text
    (quotes stripped) against the algorithm's regex named by the last path step.
    """
    if _HASH_CHAIN.fullmatch(pattern):
        for quoted, ident, value in _HASH_TERMS.findall(pattern):
            check = _HASH_CHECKS.get((quoted or ident).upper().replace("-", ""))
            if check is not None and not check.match(value):
                return False
        return True
    for match in _COMPARISON_PARTS.finditer(pattern):
        first = match.group("first")
        if first is None:
            continue
        steps_text = match.group("steps")
        if first != "hashes" and "hashes" not in steps_text:
            continue
        steps = [first]
        for ident, quoted, index in _PATH_STEP.findall(steps_text):
            steps.append(ident or (_unquote(quoted) if quoted else "[" + index + "]"))
        if "hashes" not in steps:
            continue
        if steps_text.endswith("]"):
            # A numeric index crashes stix2-patterns and `[*]` is skipped: let it decide.
            return False
        check = _HASH_CHECKS.get(steps[-1].upper().replace("-", "").replace("'", ""))
        if check is None:
            continue
        if match.group("set"):  # the set's token text is not worth rebuilding
            return False
        value = match.group("value") or match.group("string")
        if not check.match(value.replace("'", "")):
            return False
    return True


def _fast_valid(pattern: str) -> bool:
    """True only if the pattern is certainly valid for stix2-patterns and stix2-validator."""
    if _FAST.fullmatch(pattern) is None:
        return False
    return "hashes" not in pattern or _hashes_agree(pattern)


@lru_cache(maxsize=2048)
def _slow_check(pattern: str) -> str | None:
    """The reference answer: the ANTLR grammar of stix2-patterns (cached; it is slow)."""
    from stix2patterns.validator import run_validator

    try:
        errors = run_validator(pattern, stix_version="2.1")
    except Exception as exc:  # stix2-patterns crashes on some inputs, e.g. `hashes[0]`
        return f"pattern could not be checked: {type(exc).__name__}"
    if not errors:
        return None
    return str(errors[0]).removeprefix("FAIL: ")


@lru_cache(maxsize=2048)
def _slow_names_check(pattern: str) -> str | None:
    """stix2-validator's object type / property name rules on a pattern the grammar accepts."""
    from stix2patterns.v21.pattern import Pattern

    for object_type, comparisons in Pattern(pattern).inspect().comparisons.items():
        if object_type not in _SCO_TYPES and (
            not _VALIDATOR_TYPE.match(object_type) or not 3 <= len(object_type) <= 250
        ):
            return f"'{object_type}' is not a valid observable type name"
        for path, _op, _value in comparisons:
            prop = path[0]
            if not isinstance(prop, str) or not (
                _VALIDATOR_PROPERTY.match(prop) or (prop == "id" and object_type in _SCO_TYPES)
            ):
                return f"'{prop}' is not a valid observable property name"
    return None


def check_pattern(pattern: str) -> str | None:
    """Return None if the STIX 2.1 pattern is syntactically valid, else an error message.

    Agrees with `stix2patterns.validator.run_validator(pattern, stix_version="2.1")`.
    """
    if not isinstance(pattern, str):
        return "pattern must be a string"
    if _fast_valid(pattern):
        return None
    if not pattern.strip():
        return "pattern is empty"
    return _slow_check(pattern)


def needs_slow_check(pattern: object) -> bool:
    """Whether `pattern_error` would ask the (slow) ANTLR parser about this pattern."""
    return isinstance(pattern, str) and bool(pattern.strip()) and not _fast_valid(pattern)


def pattern_errors(patterns: Iterable[str]) -> list[str | None]:
    """`pattern_error` of each pattern (what a worker process answers for a batch)."""
    return [pattern_error(p) for p in patterns]


def pattern_error(pattern: str) -> str | None:
    """check_pattern plus stix2-validator's rules on object type and property names."""
    known = KNOWN_ANSWERS.get()
    if known is not None and isinstance(pattern, str) and pattern in known:
        return known[pattern]  # the fast recogniser's "valid" too: not asked twice
    if isinstance(pattern, str) and _fast_valid(pattern):
        return None
    error = check_pattern(pattern)
    if error is not None:
        return error
    return _slow_names_check(pattern)
