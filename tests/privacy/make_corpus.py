"""Build corpus.json, the labelled privacy corpus (run by hand: `python make_corpus.py`).

Synthetic, deterministic: phishing e-mails with victim recipients, incident reports naming
people (contact details, bank and card numbers, national identifiers, addresses), and clean
indicator sets with look-alike values (versions, ports, hashes, dates) that must not be
flagged. Each case is an envelope and the findings (id, property, reason) it must yield.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

RNG = random.Random(1414)
T = "2025-03-01T10:00:00.000Z"
FIRST = ["Alice", "Bruno", "Chloé", "Dieter", "Emma", "Farid", "Greta", "Hugo", "Ines", "Jonas"]
LAST = ["Martin", "Schmidt", "Dubois", "Okafor", "Rossi", "Novak", "Lindqvist", "Moreau"]
DOMAINS = ["examplebank.com", "city-hospital.org", "ministry.example.gov", "mail.example.net"]


def _id(kind: str) -> str:
    return f"{kind}--{uuid.UUID(int=RNG.getrandbits(128), version=4)}"


def _person() -> str:
    return f"{RNG.choice(FIRST)} {RNG.choice(LAST)}"


def _email(name: str) -> str:
    first, last = name.lower().replace("é", "e").split(" ")
    return f"{first}.{last}@{RNG.choice(DOMAINS)}"


def _luhn_complete(prefix: str, length: int) -> str:
    digits = prefix + "".join(str(RNG.randrange(10)) for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        total = 0
        for n, ch in enumerate(reversed(digits + check)):
            d = int(ch)
            if n % 2:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return digits + check
    raise AssertionError


def _card() -> str:
    number = _luhn_complete(RNG.choice(["4", "51", "55", "2221", "37", "6011"]), 16)
    style = RNG.randrange(3)
    if style == 0:
        return number
    sep = " " if style == 1 else "-"
    return sep.join(number[i:i + 4] for i in range(0, 16, 4))


def _iban() -> str:
    country, length = RNG.choice([("DE", 18), ("FR", 23), ("GB", 18), ("NL", 14), ("ES", 20)])
    bban = "".join(RNG.choice("0123456789") for _ in range(length))
    if country in ("GB", "NL"):
        bban = "".join(RNG.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + bban[4:]
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    iban = f"{country}{check:02d}{bban}"
    if RNG.randrange(2):
        return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    return iban


def _phone() -> str:
    return RNG.choice([
        lambda: f"+33 6 {RNG.randrange(10, 99)} {RNG.randrange(10, 99)} {RNG.randrange(10, 99)}"
                f" {RNG.randrange(10, 99)}",
        lambda: f"+49 30 {RNG.randrange(1000, 9999)} {RNG.randrange(1000, 9999)}",
        lambda: f"(212) {RNG.randrange(200, 999)}-{RNG.randrange(1000, 9999)}",
        lambda: f"415-{RNG.randrange(200, 999)}-{RNG.randrange(1000, 9999)}",
        lambda: f"+44 20 {RNG.randrange(1000, 9999)} {RNG.randrange(1000, 9999)}",
        lambda: f"06 {RNG.randrange(10, 99)} {RNG.randrange(10, 99)} {RNG.randrange(10, 99)}"
                f" {RNG.randrange(10, 99)}",
    ])()


def _ssn() -> str:
    return f"{RNG.randrange(1, 665):03d}-{RNG.randrange(1, 99):02d}-{RNG.randrange(1, 9999):04d}"


def _nino() -> str:
    return (RNG.choice(["AB", "CE", "JG", "PR", "WX"]) + f" {RNG.randrange(10, 99)}"
            f" {RNG.randrange(10, 99)} {RNG.randrange(10, 99)} " + RNG.choice("ABCD"))


def _nir() -> str:
    body = (f"{RNG.choice('12')}{RNG.randrange(40, 99)}{RNG.randrange(1, 12):02d}"
            f"{RNG.randrange(1, 95):02d}{RNG.randrange(1, 999):03d}{RNG.randrange(1, 999):03d}")
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def _steuer_id() -> str:
    while True:
        digits = [RNG.randrange(1, 10), *RNG.sample(range(10), 9)]
        digits[RNG.randrange(1, 10)] = digits[0]  # one digit twice
        if len(set(digits)) != 9:
            continue
        product = 10
        for d in digits:
            total = (d + product) % 10 or 10
            product = total * 2 % 11
        text = "".join(map(str, digits)) + str((11 - product) % 10)
        return f"{text[:2]} {text[2:5]} {text[5:8]} {text[8:]}"


def _address() -> str:
    return RNG.choice([
        lambda: f"{RNG.randrange(1, 999)} {RNG.choice(['Maple', 'Oak', 'Elm Park'])}"
                f" {RNG.choice(['Street', 'Avenue', 'Road', 'Lane'])}, Springfield",
        lambda: f"{RNG.randrange(1, 99)} rue de {RNG.choice(['Rivoli', 'Vaugirard', 'Paris'])},"
                " 75001 Paris",
        lambda: f"{RNG.choice(['Haupt', 'Linden', 'Goethe'])}straße {RNG.randrange(1, 200)},"
                " 10115 Berlin",
    ])()


PII = {
    "email-address": lambda: _email(_person()),
    "phone-number": _phone,
    "iban": _iban,
    "payment-card": _card,
    "national-id:us-ssn": _ssn,
    "national-id:uk-nino": _nino,
    "national-id:fr-nir": _nir,
    "national-id:de-steuer-id": _steuer_id,
    "postal-address": _address,
}
SENTENCES = [
    "During the incident response we interviewed {who}, who can be reached at {value}.",
    "The fraudulent transfer used the account details {value} supplied by the victim.",
    "Victim {who} reported the breach; record {value} was exposed in the dump.",
    "Contact for the affected branch: {value}.",
]


def phishing_cases() -> list[dict]:
    cases = []
    for n in range(40):
        sender = _id("email-addr")
        victims = [_id("email-addr") for _ in range(RNG.randrange(1, 4))]
        cc = [_id("email-addr")] if n % 3 == 0 else []
        message = _id("email-message")
        objects = [{"type": "email-addr", "spec_version": "2.1", "id": sender,
                    "value": f"billing{n}@secure-login-{n}.example"}]
        expected = []
        for ref in victims + cc:
            name = _person()
            obj = {"type": "email-addr", "spec_version": "2.1", "id": ref, "value": _email(name)}
            expected.append([ref, "value", "victim-email-addr"])
            if n % 2:
                obj["display_name"] = name
                expected.append([ref, "display_name", "victim-email-addr"])
            objects.append(obj)
        msg = {"type": "email-message", "spec_version": "2.1", "id": message,
               "is_multipart": False, "from_ref": sender, "to_refs": victims,
               "subject": f"Invoice {n} overdue"}
        if cc:
            msg["cc_refs"] = cc
        if n % 4 != 3:
            msg["body"] = "Dear customer, please confirm your password at the link below."
            expected.append([message, "body", "email-body"])
        objects.append(msg)
        if n % 5 == 0:  # the sender as an indicator: an attacker's address, not personal
            objects.append({"type": "indicator", "spec_version": "2.1", "id": _id("indicator"),
                            "created": T, "modified": T, "valid_from": T,
                            "pattern_type": "stix", "name": "Phishing sender",
                            "pattern": f"[email-message:from_ref.value = 'billing{n}"
                                       f"@secure-login-{n}.example']"})
        cases.append({"name": f"phishing-{n}", "objects": objects, "expected": expected})
    return cases


def incident_cases() -> list[dict]:
    cases = []
    for n in range(12 * len(PII)):
        reason = list(PII)[n % len(PII)]
        report = _id(RNG.choice(["report", "note", "opinion", "incident"]))
        kind = report.split("--")[0]
        text = RNG.choice(SENTENCES).format(who=_person(), value=PII[reason]())
        obj = {"type": kind, "spec_version": "2.1", "id": report, "created": T, "modified": T}
        prop = {"report": "description", "note": "content", "opinion": "explanation",
                "incident": "description"}[kind]
        if n % 7 == 0:
            prop = "x_case_notes"
        obj[prop] = text
        if kind == "report":
            obj.update(name=f"Incident {n}", published=T, object_refs=[_id("indicator")])
        if kind == "note":
            obj["object_refs"] = [_id("indicator")]
        if kind == "opinion":
            obj.update(opinion="agree", object_refs=[_id("indicator")])
        if kind == "incident":
            obj["name"] = f"Incident {n}"
        cases.append({"name": f"incident-{n}-{reason}", "objects": [obj],
                      "expected": [[report, prop, reason]]})
    people = []
    for n in range(20):
        ident, account, cert = _id("identity"), _id("user-account"), _id("x509-certificate")
        name = _person()
        people += [
            {"name": f"individual-{n}", "objects": [{
                "type": "identity", "spec_version": "2.1", "id": ident, "created": T,
                "modified": T, "name": name, "identity_class": "individual"}],
             "expected": [[ident, "name", "individual-identity"]]},
            {"name": f"account-{n}", "objects": [{
                "type": "user-account", "spec_version": "2.1", "id": account,
                "account_login": name.split(" ")[0].lower() + str(n)}],
             "expected": [[account, "account_login", "user-account"]]},
            {"name": f"x509-{n}", "objects": [{
                "type": "x509-certificate", "spec_version": "2.1", "id": cert,
                "subject": f"CN={name}" + (f", emailAddress={_email(name)}" if n % 2 else ""),
                "serial_number": f"{n:02x}:aa:bb"}],
             "expected": [[cert, "subject", "x509-individual-subject"]]},
        ]
    return cases + people


def clean_cases() -> list[dict]:
    cases = []
    for n in range(60):
        ip = f"198.51.{n}.{RNG.randrange(1, 254)}"
        objects = [
            {"type": "indicator", "spec_version": "2.1", "id": _id("indicator"), "created": T,
             "modified": T, "valid_from": T, "pattern_type": "stix",
             "name": f"C2 server {ip}:{RNG.choice([443, 8080, 4444])}",
             "description": RNG.choice([
                 "Beacon interval 300 s, version 4.2.1-build 20250301, port 8443.",
                 "Seen 2025-03-01 12:00:00 to 2025-03-05; CVE-2024-3400 exploited.",
                 "SHA-256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.",
                 "Campaign T1566.001 wave 17 of 2025, 1,234,567 messages sent.",
                 "The loader contacts update.example-cdn.net over TLS 1.3 every 3600 s.",
                 "Build id 1700000000123, stage 2 payload of 245760 bytes.",
             ]),
             "pattern": f"[ipv4-addr:value = '{ip}']"},
            {"type": "identity", "spec_version": "2.1", "id": _id("identity"), "created": T,
             "modified": T, "name": "ACME CERT", "identity_class": "organization"},
            {"type": "x509-certificate", "spec_version": "2.1", "id": _id("x509-certificate"),
             "subject": f"C=US, O=Example CA {n}, CN=www.example{n}.com"},
            {"type": "domain-name", "spec_version": "2.1", "id": _id("domain-name"),
             "value": f"login-{n}.example"},
        ]
        cases.append({"name": f"clean-{n}", "objects": objects, "expected": []})
    return cases


if __name__ == "__main__":
    corpus = phishing_cases() + incident_cases() + clean_cases()
    path = Path(__file__).with_name("corpus.json")
    path.write_text(json.dumps(corpus, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(corpus)} cases -> {path}")
