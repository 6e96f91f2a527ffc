"""Personal-data screening of STIX objects: pure, no I/O, patterns compiled once.

Each finding names the property (a JSON path in the object) and the reason; never the value,
so findings can be logged, audited and shown without repeating what they flag. The free-text
patterns follow Microsoft Presidio's predefined recognisers (EmailRecognizer,
PhoneRecognizer's formats, IbanRecognizer's mod-97 check, CreditCardRecognizer's Luhn check,
UsSsnRecognizer's invalid ranges, UkNinoRecognizer's prefixes) without its NLP models, which
are too heavy for a 2-core server; the national identifiers screened are exactly
NATIONAL_IDS (README "Privacy").
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from server.privacy.rules import Network, in_ranges

# Reasons, as they appear in findings, audit entries and the review queue.
EMAIL = "email-address"
PHONE = "phone-number"
IBAN = "iban"
CARD = "payment-card"
POSTAL = "postal-address"
VICTIM_EMAIL = "victim-email-addr"
USER_ACCOUNT = "user-account"
INDIVIDUAL = "individual-identity"
EMAIL_BODY = "email-body"
X509_INDIVIDUAL = "x509-individual-subject"
VICTIM_IP = "victim-ip-addr"  # in an observed-data or sighting, in a group's victim ranges
# National identifier formats screened, by reason: the documented set (README "Privacy").
NATIONAL_IDS = {
    "national-id:us-ssn": "United States Social Security number (AAA-GG-SSSS, valid ranges)",
    "national-id:uk-nino": "United Kingdom National Insurance number (valid prefixes)",
    "national-id:fr-nir": "France NIR (numéro de sécurité sociale, with its 97 key)",
    "national-id:de-steuer-id": "Germany Steuer-IdNr (11 digits, ISO 7064 MOD 11,10 check)",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """Personal data found in one property of an object (the value is never kept)."""

    property: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"property": self.property, "reason": self.reason}


# --- free text -------------------------------------------------------------------------

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
# International (+CC ...), North American ((NPA) NXX-XXXX, NPA-NXX-XXXX) and European
# national forms with a trunk 0 and grouped digits; a digit count check follows.
_PHONE_RE = re.compile(
    r"(?<![\w+/.-])(?<!\d )(?:"
    r"\+\d{1,3}[ .-]?(?:\(0?\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}"
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"
    r"|\d{3}[.-]\d{3}[.-]\d{4}"
    r"|0[1-9](?:[ .]\d{2}){4}"
    r"|0\d{2,4}[ -]\d{3,4}[ -]?\d{3,4}"
    r")(?![\w/.-]*\d)(?! \d)")
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD_RE = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_SSN_RE = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w-])")
_NINO_RE = re.compile(
    r"\b([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_NINO_BAD_PREFIX = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})
_NIR_RE = re.compile(
    r"(?<![\w-])([12]) ?(\d{2}) ?(0[1-9]|1[0-2]|[2-9]\d) ?(\d{2}|2[AB]) ?(\d{3}) ?(\d{3}) ?(\d{2})"
    r"(?![\w-])")
_STEUER_RE = re.compile(r"(?<![\w-])([1-9]\d) ?(\d{3}) ?(\d{3}) ?(\d{3})(?![\w-])")
# Conservative: a house number and a street word (EN, FR) or a German street name and number.
_POSTAL_RE = re.compile(
    r"\b\d{1,5}[a-z]?,?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St\.|Avenue|Ave\.|Road|Rd\.|"
    r"Boulevard|Blvd\.|Lane|Ln\.|Drive|Dr\.|Court|Ct\.|Terrace|Place|Way)(?=[\s,.;]|$)"
    r"|\b\d{1,4}(?: ?bis| ?ter)?,?\s+(?:rue|avenue|boulevard|impasse|allée|chemin|place)"
    r"\s+(?:d[eu']\s?|des\s|la\s|l')?[A-ZÉ][\w'-]+"
    r"|\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|weg|platz|allee|gasse)\s+\d{1,4}[a-z]?\b")
_DIGITS_ONLY = re.compile(r"\D")
# One cheap scan decides whether the numbered patterns can match at all: each needs a run of
# at least eight digits and separators that starts a word (or an IBAN's country and check).
_NUMBER_LIKE = re.compile(r"[\d+(][\d ().-]{6,}\d|[A-Z]{2}\d\d")



def _luhn(digits: str) -> bool:
    total = 0
    for n, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if n % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(text: str) -> bool:
    digits = _DIGITS_ONLY.sub("", text)
    # Issuer prefixes of the schemes (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay).
    if not 13 <= len(digits) <= 19 or digits[0] not in "34562":
        return False
    if digits[0] == "2" and not "2221" <= digits[:4] <= "2720":
        return False
    return _luhn(digits)


def _iban(text: str) -> bool:
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def _ssn(m: re.Match[str]) -> bool:
    area, group, serial = m.groups()
    return (area not in ("000", "666") and area[0] != "9" and group != "00"
            and serial != "0000" and len(set(area + group + serial)) > 1)


def _nir(m: re.Match[str]) -> bool:
    sex, year, month, dept, commune, order, key = m.groups()
    body = sex + year + month + dept.replace("2A", "19").replace("2B", "18") + commune + order
    return 97 - int(body) % 97 == int(key)


def _steuer_id(m: re.Match[str]) -> bool:
    digits = "".join(m.groups())
    counts = sorted((digits[:10].count(d) for d in set(digits[:10])), reverse=True)
    # Of the first ten digits exactly one appears two or three times, the others at most once.
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] > 1):
        return False
    product = 10
    for ch in digits[:10]:
        total = (int(ch) + product) % 10 or 10
        product = total * 2 % 11
    return (11 - product) % 10 == int(digits[10])


_NUMBERED: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]], ...] = (
    (CARD, _CARD_RE, lambda m: _card(m.group())),
    (IBAN, _IBAN_RE, lambda m: _iban(m.group())),
    ("national-id:us-ssn", _SSN_RE, _ssn),
    ("national-id:uk-nino", _NINO_RE, lambda m: m.group(1) not in _NINO_BAD_PREFIX),
    ("national-id:fr-nir", _NIR_RE, _nir),
    ("national-id:de-steuer-id", _STEUER_RE, _steuer_id),
)


def _matches(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Each personal-data match in free text: its reason and span."""
    found: list[tuple[str, tuple[int, int]]] = []
    if "@" in text:
        found += [(EMAIL, m.span()) for m in _EMAIL_RE.finditer(text)]
    if _NUMBER_LIKE.search(text):
        # Spans already explained (or shaped like a bank account): not phone numbers too.
        taken = [m.span() for m in _IBAN_RE.finditer(text)]
        iban_shaped = len(taken)
        for reason, pattern, valid in _NUMBERED:
            spans = [m.span() for m in pattern.finditer(text) if valid(m) and (
                pattern is _IBAN_RE or not _overlaps(m, taken[:iban_shaped]))]
            found += [(reason, span) for span in spans]
            taken += spans
        found += [(PHONE, m.span()) for m in _PHONE_RE.finditer(text)
                  if _phone(m.group()) and not _overlaps(m, taken)]
    found += [(POSTAL, m.span()) for m in _POSTAL_RE.finditer(text)]
    return found


def screen_text(text: str) -> list[str]:
    """The reasons this free text holds personal data (each reason once)."""
    return list(dict.fromkeys(reason for reason, _ in _matches(text)))


def _overlaps(m: re.Match[str], spans: list[tuple[int, int]]) -> bool:
    return any(a < m.end() and m.start() < b for a, b in spans)


def _phone(text: str) -> bool:
    return 9 <= len(_DIGITS_ONLY.sub("", text)) <= 15


# Properties that are free text in the STIX 2.1 specification (plus every custom x_ string).
_FREE_TEXT = frozenset({"name", "description", "content", "abstract", "explanation",
                        "subject", "aliases", "roles", "contact_information", "objective",
                        "display_name", "x_opencti_description"})
# Never free text: the other standard STIX 2.1 properties (identifiers, references,
# timestamps, patterns, hashes, URLs, vocabularies). A key in neither set is custom.
_NOT_TEXT = frozenset({
    "id", "type", "spec_version", "created", "modified", "pattern", "pattern_type",
    "pattern_version", "valid_from", "valid_until", "indicator_types", "hashes",
    "external_references", "kill_chain_phases", "object_marking_refs", "granular_markings",
    "created_by_ref", "extensions", "value", "url", "labels", "lang", "confidence", "revoked",
    "published", "report_types", "object_refs", "first_seen", "last_seen", "identity_class",
    "sectors", "is_family", "malware_types", "tool_types", "relationship_type", "source_ref",
    "target_ref", "start_time", "stop_time", "first_observed", "last_observed",
    "number_observed", "count", "sighting_of_ref", "where_sighted_refs", "observed_data_refs",
    "opinion", "authors", "definition_type", "definition", "is_multipart", "to_refs",
    "cc_refs", "bcc_refs", "from_ref", "sender_ref", "date", "resolves_to_refs", "mime_type",
    "size", "defanged", "x_mitre_version", "x_mitre_domains", "x_mitre_modified_by_ref",
    "x_mitre_attack_spec_version", "x_mitre_platforms", "x_mitre_deprecated",
    "x_mitre_is_subtechnique", "x_mitre_data_sources", "x_mitre_tactic_type",
    "x_mitre_shortname", "x_mitre_contributors",
})
def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _strings(item, f"{path}[{n}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not key.endswith("_ref") and not key.endswith("_refs"):
                yield from _strings(item, f"{path}.{key}")


_KNOWN = _FREE_TEXT | _NOT_TEXT


def _free_text(obj: dict) -> list[tuple[str, str]]:
    # The standard free-text properties, and the custom (x_) ones among the keys the
    # specification does not define.
    wanted = sorted(_FREE_TEXT.intersection(obj))
    if not _KNOWN.issuperset(obj):
        wanted += sorted(k for k in obj if k.startswith("x_") and k not in _KNOWN)
    found = []
    for key in wanted:
        value = obj[key]
        if isinstance(value, str):  # the common case, without the walk
            found.append((key, value))
        elif not key.endswith(("_ref", "_refs")):
            found.extend(_strings(value, key))
    return found


# --- objects and properties that identify people ----------------------------------------

_SENDER_IN_PATTERN = re.compile(
    r"(?:from_ref|sender_ref)\.value\s*=\s*'([^']*)'|email-addr:value\s*=\s*'([^']*)'")
_X509_PERSONAL = re.compile(r"(?:^|[,/]\s*)(?:emailAddress|E|GN|SN|givenName|surname)\s*=",
                            re.IGNORECASE)
_X509_CN = re.compile(r"(?:^|[,/]\s*)CN\s*=\s*([^,/]+)", re.IGNORECASE)
_X509_ORG = re.compile(r"(?:^|[,/]\s*)O\s*=", re.IGNORECASE)
_PERSON_NAME = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ'-]+(?: [A-ZÀ-Ý][a-zà-ÿ'.-]+){1,3}$")


@dataclass(frozen=True, slots=True)
class EnvelopeRoles:
    """Who plays which part in an envelope: e-mail addresses as recipients and as senders."""

    recipients: frozenset[str]  # email-addr ids in to/cc/bcc of an email-message
    senders: frozenset[str]  # email-addr ids in from/sender of an email-message
    sender_values: frozenset[str]  # addresses an indicator pattern names as a sender


def roles_of(objects: Iterable[dict]) -> EnvelopeRoles:
    """The e-mail roles that the objects of one envelope give their email-addr objects."""
    recipients: set[str] = set()
    senders: set[str] = set()
    values: set[str] = set()
    for obj in objects:
        kind = obj.get("type")
        if kind == "email-message":
            for key in ("to_refs", "cc_refs", "bcc_refs"):
                refs = obj.get(key)
                if isinstance(refs, list):
                    recipients.update(r for r in refs if isinstance(r, str))
            for key in ("from_ref", "sender_ref"):
                ref = obj.get(key)
                if isinstance(ref, str):
                    senders.add(ref)
        elif kind == "indicator":
            pattern = obj.get("pattern")
            if isinstance(pattern, str) and "'" in pattern and (
                    "email" in pattern):
                for a, b in _SENDER_IN_PATTERN.findall(pattern):
                    values.add((a or b).lower())
    return EnvelopeRoles(frozenset(recipients), frozenset(senders), frozenset(values))


_NO_ROLES = EnvelopeRoles(frozenset(), frozenset(), frozenset())


def _x509_individual(subject: str) -> bool:
    if _X509_PERSONAL.search(subject):
        return True
    cn = _X509_CN.search(subject)
    return bool(cn and not _X509_ORG.search(subject) and _PERSON_NAME.match(cn.group(1).strip()))


_TYPED = frozenset({"email-addr", "user-account", "identity", "email-message",
                    "x509-certificate"})
# What the numbered patterns need: a run of eight digits and separators starting a word, or
# an IBAN's country and check digits. (E-mail addresses need an "@", postal addresses a
# street word; both are checked apart, as substrings.)
# (Dots only in the dotted phone forms: IP addresses, common in this field, do not trigger.)
# Each alternative starts with a character class and looks behind only once it matched
# (a lookbehind first costs a check at every position of every text).
_TRIGGER = re.compile(r"[\d+(](?<![\w.][\d+(])(?:[\d ()-]{6,}\d|\d\.\d\d\.\d\d\.\d\d"
                      r"|\d\d\.\d{3}\.\d{4})|[A-Z](?<![\w.][A-Z])[A-Z]\d\d")
_STREET_WORDS = frozenset({"street", "st.", "avenue", "ave.", "road", "rd.", "boulevard",
                           "blvd.", "lane", "ln.", "drive", "dr.", "court", "ct.", "terrace",
                           "place", "way", "rue", "impasse", "allée", "chemin"})
_STREET_SUFFIXES = ("straße", "strasse", "weg ", "platz", "allee", "gasse")
# Each free-text pattern needs one of these shapes, with the text's digits made "0" (and
# white space " "): a card, NIR or Steuer-ID a run of 11 digits or groups ("000 000", a
# group that no letter follows, unlike a hash's digits after "SHA-256 "); an SSN
# "000-00-0000"; an IBAN or NINO two capitals and two digits, or pairs ("00 00 00"); a
# phone "+" (tested apart), "(000)", groups, "0.000.0000" or five dotted pairs (never an
# IPv4 address: four groups); a postal address a house number before a capitalised word or
# a French street word, or a German street word before its number ("...weg 0").
_SHAPES = str.maketrans({chr(i): chr(i) for i in range(128)}
                        | {c: "0" for c in "0123456789"} | {c: " " for c in "\t\n\r\x0b\x0c"})
_FRENCH_STREET = r"(?:rue|avenue|boulevard|impasse|allée|chemin|place) "
_MARKS = re.compile(
    r"0(?:0(?:0{9}(?![A-Za-z])|[ -]000(?![0A-Za-z]*[A-Za-z])|-00-0000|(?<=[A-Z][A-Z]00)"
    r"|(?<=\(00)0\))"
    r"| (?:00 00| ?[A-Z]|(?:bis |ter )?" + _FRENCH_STREET + ")"
    r"|,(?: [A-Z]| " + _FRENCH_STREET + ")"
    r"|[a-z](?:,? [A-Z])"
    r"|(?:bis|ter),? " + _FRENCH_STREET
    + r"|\.(?:00\.00\.00\.00|000[.-]0000)"
    r"|(?<=[egz] 0))")


def _typed(obj: dict, roles: EnvelopeRoles) -> list[Finding]:
    kind = obj.get("type")
    found: list[Finding] = []
    if kind == "email-addr":
        value = obj.get("value")
        sender = obj.get("id") in roles.senders or (
            isinstance(value, str) and value.lower() in roles.sender_values)
        if obj.get("id") in roles.recipients and not sender:
            found.append(Finding("value", VICTIM_EMAIL))
        elif not sender:
            found.append(Finding("value", EMAIL))
        if isinstance(obj.get("display_name"), str) and not sender:
            found.append(Finding("display_name", VICTIM_EMAIL if obj.get("id")
                                 in roles.recipients else EMAIL))
    elif kind == "user-account":
        for key in ("user_id", "account_login", "display_name", "credential"):
            if isinstance(obj.get(key), str):
                found.append(Finding(key, USER_ACCOUNT))
    elif kind == "identity" and obj.get("identity_class") == "individual":
        found.append(Finding("name", INDIVIDUAL))
    elif kind == "email-message":
        if isinstance(obj.get("body"), str):
            found.append(Finding("body", EMAIL_BODY))
        parts = obj.get("body_multipart")
        if isinstance(parts, list):
            found.extend(Finding(f"body_multipart[{n}].body", EMAIL_BODY)
                         for n, p in enumerate(parts) if isinstance(p, dict)
                         and isinstance(p.get("body"), str))
    elif kind == "x509-certificate":
        subject = obj.get("subject")
        if isinstance(subject, str) and _x509_individual(subject):
            found.append(Finding("subject", X509_INDIVIDUAL))
    return found


# Joins a post's texts for the one _suspect scan. Not white space: _SHAPES makes white space
# " ", so "...#0" ending a name and "Observed ..." opening the description would read as a
# house number before a capitalised word (every bench indicator reached the full screen).
_TEXT_JOINER = "\x1f"


def _suspect(text: str) -> bool:
    """Whether any free-text pattern can match this text. One scan with a pattern that
    starts with a literal (which the regex engine finds at C speed) over the text with its
    digits made "0": a regular expression tried at every character costs more than the
    rest of ingest spends on an object."""
    return "@" in text or "+" in text or _MARKS.search(text.translate(_SHAPES)) is not None


@functools.lru_cache(maxsize=4096)
def _suspect_long(text: str) -> bool:
    return _suspect(text)


@functools.lru_cache(maxsize=8192)
def _reasons(text: str) -> tuple[str, ...]:
    # Real feeds repeat their texts (ATT&CK descriptions, a vendor's boilerplate): a text
    # already screened is looked up by its content, not screened again.
    return tuple(screen_text(text)) if len(text) >= 6 else ()


def _without_own_addresses(obj: dict, texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The texts without the addresses the indicator's own pattern detects: an indicator of
    a phishing sender names it in its name or description (importers write the value as
    the name), and that address is the attacker's, not a person's data."""
    pattern = obj.get("pattern")
    if obj.get("type") != "indicator" or not isinstance(pattern, str) or "@" not in pattern:
        return texts
    own = [a or b for a, b in _SENDER_IN_PATTERN.findall(pattern) if a or b]
    if not own:
        return texts
    strip = re.compile("|".join(map(re.escape, own)), re.IGNORECASE)
    return [(path, strip.sub(" ", text)) for path, text in texts]


def _screen_texts(found: list[Finding], texts: list[tuple[str, str]]) -> list[Finding]:
    flagged = {f.property for f in found}
    for path, text in texts:
        if path not in flagged:
            found.extend(Finding(path, reason) for reason in _reasons(text))
    return found


def screen_object(obj: dict, roles: EnvelopeRoles = _NO_ROLES) -> list[Finding]:
    """The personal data in one object: typed findings, then free-text ones (the quick
    scan first: only the objects it stops at are walked and screened in full)."""
    found = _typed(obj, roles) if obj.get("type") in _TYPED else []
    if suspect_text(obj):
        found = _screen_texts(found, _without_own_addresses(obj, _free_text(obj)))
    return found


def screen_envelope(objects: list[dict], victim_ranges: tuple[Network, ...] = ()
                    ) -> dict[str, list[Finding]]:
    """Findings per object id, for the objects of one envelope that have any; with
    `victim_ranges` (a trust group's), also the victim-side addresses it observed.

    The cost that matters is that of clean objects: their free-text values are gathered by
    set operations on their keys and tested once by _suspect; only the few it stops at are
    walked and screened in full.
    """
    roles = _NO_ROLES
    if any(o.get("type") == "email-addr" for o in objects):
        roles = roles_of(objects)
    out: dict[str, list[Finding]] = {}
    for obj in objects:
        if found := screen_object(obj, roles):
            out[str(obj.get("id"))] = found
    if victim_ranges:
        for stix_id, found in victim_ips(objects, victim_ranges).items():
            out.setdefault(stix_id, []).extend(found)
    return out


_OBSERVING = frozenset({"observed-data", "sighting"})
_IP_TYPES = frozenset({"ipv4-addr", "ipv6-addr"})
# Candidates only (ipaddress decides): a dotted quad, or hex groups with colons.
_IP_TOKEN = re.compile(r"(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}"
                       r"){2,7})(?:/\d{1,3})?(?![\w.:])")


def _observed_refs(obj: dict, by_id: dict[str, dict]) -> list[str]:
    """The SCOs an observed-data or a sighting observed (in this envelope): its object_refs,
    its observed-data's, and the ends of network traffic among them."""
    refs = list(obj.get("object_refs") or [])
    for od in obj.get("observed_data_refs") or []:
        refs += (by_id.get(od) or {}).get("object_refs") or []
    for ref in list(refs):
        sco = by_id.get(ref) if isinstance(ref, str) else None
        if sco is not None and sco.get("type") == "network-traffic":
            refs += [sco.get("src_ref"), sco.get("dst_ref")]
    return [r for r in refs if isinstance(r, str)]


def victim_ips(objects: list[dict], ranges: tuple[Network, ...]) -> dict[str, list[Finding]]:
    """Victim-side IP addresses: in the text of observed-data and sightings (the deprecated
    embedded `objects` too) and the ipv4-addr / ipv6-addr objects they observe, in ranges."""
    observing = [o for o in objects if o.get("type") in _OBSERVING]
    if not ranges or not observing:
        return {}
    by_id = {o["id"]: o for o in objects if isinstance(o.get("id"), str)}
    out: dict[str, list[Finding]] = {}
    observed: set[str] = set()
    for obj in observing:
        observed.update(_observed_refs(obj, by_id))
        found = [Finding(path, VICTIM_IP) for key, value in obj.items() if key != "id"
                 and not key.endswith(("_ref", "_refs")) for path, text in _strings(value, key)
                 if any(in_ranges(t, ranges) for t in _IP_TOKEN.findall(text))]
        if found:
            out[obj["id"]] = found
    for ref in sorted(observed):
        sco = by_id.get(ref)
        if sco is not None and sco.get("type") in _IP_TYPES and isinstance(
                sco.get("value"), str) and in_ranges(sco["value"], ranges):
            out.setdefault(ref, []).append(Finding("value", VICTIM_IP))
    return out


def _generalise(text: str, ranges: tuple[Network, ...]) -> str:
    """Each victim-side address in the text replaced by the victim range it lies in (so an
    ipv4-addr stays valid STIX: its value may be a CIDR)."""
    def one(m: re.Match[str]) -> str:
        for r in ranges:
            if in_ranges(m.group(), (r,)):
                return str(r)
        return m.group()
    return _IP_TOKEN.sub(one, text)


def suspect_text(obj: dict) -> bool:
    """Whether the object's free text may hold personal data, by one cheap scan: only the
    objects it stops at are screened in full (clean objects must not be, or ingest pays)."""
    # (A set's own methods iterate over the object's few keys; `keys() - set` would
    # iterate over the whole set.)
    wanted = _FREE_TEXT.intersection(obj)
    if not _KNOWN.issuperset(obj):
        wanted = wanted.union([k for k in obj if k.startswith("x_") and k not in _KNOWN])
    if not wanted:
        return False
    # Lists and objects (aliases, custom structures) are joined as their JSON-ish text: a
    # superset of their strings, enough to decide whether to walk them.
    text = _TEXT_JOINER.join([v if isinstance(v, str) else str(v)
                              for v in (obj[k] for k in wanted)])
    # Long texts (ATT&CK's techniques, reports, a vendor's boilerplate) come back again
    # and again: looked up by content, each is tested once.
    return _suspect_long(text) if len(text) > 256 else _suspect(text)


# --- redaction -----------------------------------------------------------------------------

# What a redacted value becomes (README "Privacy"): free text keeps its words around it.
PLACEHOLDER = "[personal data removed]"
_FREE_TEXT_REASONS = frozenset({EMAIL, PHONE, IBAN, CARD, POSTAL, *NATIONAL_IDS})
_PATH_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def text_spans(text: str) -> list[tuple[int, int, str]]:
    """Where free text holds personal data: (start, end, reason), in order, not overlapping
    (for a reviewer's highlighting)."""
    out: list[tuple[int, int, str]] = []
    for reason, (start, end) in sorted(_matches(text), key=lambda m: m[1]):
        if not out or start >= out[-1][1]:
            out.append((start, end, reason))
    return out


def redact_text(text: str) -> str:
    """Free text with every personal-data match replaced by PLACEHOLDER."""
    spans = sorted({span for _, span in _matches(text)})
    out, at = [], 0
    for start, end in spans:
        if start < at:  # overlapping matches: one placeholder covers both
            continue
        out += [text[at:start], PLACEHOLDER]
        at = end
    return "".join(out) + text[at:]


def redact(obj: dict, findings: Iterable[Finding], victim_ranges: tuple[Network, ...] = ()
           ) -> dict:
    """A copy of the object with the flagged values replaced: in free text only the matched
    spans, a property that identifies a person whole, a victim-side address by the victim
    range it lies in (README "Privacy")."""
    out = copy.deepcopy(obj)
    for finding in findings:
        keys: list[str | int] = [int(i) if i else k
                                 for k, i in _PATH_PART.findall(finding.property)]
        parent: Any = out
        try:
            for key in keys[:-1]:
                parent = parent[key]
            value = parent[keys[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # already redacted through an overlapping finding
        if not isinstance(value, str):
            continue
        if finding.reason == VICTIM_IP:
            parent[keys[-1]] = _generalise(value, victim_ranges)
            continue
        parent[keys[-1]] = (redact_text(value) if finding.reason in _FREE_TEXT_REASONS
                            else PLACEHOLDER)
    return out
