"""A corpus of valid and broken STIX 2.1 objects for the validator tests.

Valid objects are built with the reference `stix2` library where it knows the type, so they
are what real producers send; broken ones are single mutations of valid ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import stix2

Obj = dict[str, Any]
DELETE = object()

T0 = "2024-03-01T10:00:00.000Z"
T1 = "2024-03-02T11:30:00.123Z"


def uid(type_: str, n: int, version: int = 4) -> str:
    """A deterministic identifier `<type>--<UUID of the given version>`."""
    return f"{type_}--{uuid.UUID(int=0x1234_5678_9ABC_DEF0 * (n + 1) + n, version=version)}"


IDENTITY = uid("identity", 1)
MARKING = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"  # TLP:GREEN
STATEMENT = uid("marking-definition", 2)
SHA256 = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _lib(cls: Callable[..., Any], n: int, **props: Any) -> Obj:
    """Serialise a stix2 library object with a deterministic id (and times for SDOs)."""
    type_ = cls._type  # type: ignore[attr-defined]
    if type_ not in _SCO_LIB:
        props.setdefault("created", T0)
        if type_ != "marking-definition":
            props.setdefault("modified", T0)
    props.setdefault("id", uid(type_, n))
    return orjson.loads(cls(**props).serialize())


_SCO_LIB = {
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
}


def mutate(base: Obj, **changes: Any) -> Obj:
    """A copy of `base` with properties replaced, added, or removed (value DELETE)."""
    obj = dict(base)
    for key, value in changes.items():
        if value is DELETE:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


def _sdo(type_: str, n: int, **props: Any) -> Obj:
    """A hand-built SDO-like object (for types and shapes stix2 does not build)."""
    return {"type": type_, "spec_version": "2.1", "id": uid(type_, n), "created": T0,
            "modified": T0, **props}


def _sco(type_: str, n: int, **props: Any) -> Obj:
    return {"type": type_, "spec_version": "2.1", "id": uid(type_, n), **props}


def build_valid() -> dict[str, Obj]:
    """Named valid objects: several of every STIX 2.1 type."""
    kcp = [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]
    v: dict[str, Obj] = {}
    # --- SDOs (s4) -------------------------------------------------------------------------
    v["attack-pattern"] = _lib(stix2.AttackPattern, 1, name="Spearphishing")
    v["attack-pattern-capec"] = _lib(
        stix2.AttackPattern, 2, name="Phishing", kill_chain_phases=kcp,
        external_references=[{"source_name": "capec", "external_id": "CAPEC-98"}])
    v["campaign"] = _lib(stix2.Campaign, 1, name="Op Dusk", created_by_ref=IDENTITY)
    v["campaign-seen"] = _lib(stix2.Campaign, 2, name="Op Dawn", first_seen=T0, last_seen=T1,
                              aliases=["Dawn"], objective="money")
    v["course-of-action"] = _lib(stix2.CourseOfAction, 1, name="Block port 445")
    v["course-of-action-desc"] = _lib(stix2.CourseOfAction, 2, name="Patch",
                                      description="Apply MS17-010", labels=["patch"])
    v["grouping"] = _lib(stix2.Grouping, 1, context="suspicious-activity",
                         object_refs=[uid("indicator", 1), uid("malware", 1)])
    v["grouping-named"] = _lib(stix2.Grouping, 2, name="G", context="unspecified",
                               object_refs=[uid("ipv4-addr", 1)])
    v["identity"] = _lib(stix2.Identity, 1, name="CERT-EU", identity_class="organization")
    v["identity-sectors"] = _lib(stix2.Identity, 2, name="Bank", sectors=["financial-services"],
                                 contact_information="soc@bank.example", roles=["soc"])
    v["incident"] = _lib(stix2.Incident, 1, name="Breach 42")
    v["incident-kcp"] = _lib(stix2.Incident, 2, name="Breach 43", kill_chain_phases=kcp)
    v["indicator"] = _lib(stix2.Indicator, 1, name="C2", pattern_type="stix",
                          pattern="[ipv4-addr:value = '198.51.100.7']", valid_from=T0)
    v["indicator-hash"] = _lib(
        stix2.Indicator, 2, pattern_type="stix", valid_from=T0, valid_until=T1,
        pattern=f"[file:hashes.'SHA-256' = '{SHA256}' OR file:hashes.MD5 = '{MD5}']",
        indicator_types=["malicious-activity"], created_by_ref=IDENTITY, confidence=90,
        object_marking_refs=[MARKING], lang="en")
    v["indicator-qualified"] = _lib(
        stix2.Indicator, 3, pattern_type="stix", valid_from=T0,
        pattern="([network-traffic:dst_port = 443 AND network-traffic:protocols[*] = 'tcp'] "
                "FOLLOWEDBY [domain-name:value LIKE '%.evil.example']) WITHIN 600 SECONDS")
    v["indicator-snort"] = _lib(stix2.Indicator, 4, pattern_type="snort", valid_from=T0,
                                pattern="alert tcp any any -> any 80 (msg:\"x\"; sid:1;)")
    v["indicator-yara"] = _lib(stix2.Indicator, 5, pattern_type="yara", valid_from=T0,
                               pattern="rule x { condition: true }", pattern_version="4.0")
    v["indicator-fallback"] = _lib(  # a comment: only the full grammar takes it
        stix2.Indicator, 6, pattern_type="stix", valid_from=T0,
        pattern="[url:value = 'http://x.example/' /* c2 */]")
    v["infrastructure"] = _lib(stix2.Infrastructure, 1, name="Botnet C2",
                               infrastructure_types=["command-and-control"])
    v["infrastructure-seen"] = _lib(stix2.Infrastructure, 2, name="Staging", first_seen=T0,
                                    last_seen=T0)
    v["intrusion-set"] = _lib(stix2.IntrusionSet, 1, name="APT-X", goals=["espionage"])
    v["intrusion-set-motiv"] = _lib(stix2.IntrusionSet, 2, name="APT-Y",
                                    primary_motivation="ideology", resource_level="government")
    v["location-region"] = _lib(stix2.Location, 1, region="northern-europe")
    v["location-country"] = _lib(stix2.Location, 2, country="BE", city="Brussels")
    v["location-latlon"] = _lib(stix2.Location, 3, latitude=50.85, longitude=4.35,
                                precision=1000.0)
    v["malware"] = _lib(stix2.Malware, 1, name="Emotet", is_family=True,
                        malware_types=["trojan"])
    v["malware-sample"] = _lib(stix2.Malware, 2, is_family=False,
                               sample_refs=[uid("file", 1)], first_seen=T0, last_seen=T1)
    v["malware-analysis"] = _lib(stix2.MalwareAnalysis, 1, product="cuckoo", result="malicious")
    v["malware-analysis-scos"] = _lib(stix2.MalwareAnalysis, 2, product="vt",
                                      analysis_sco_refs=[uid("file", 2)],
                                      sample_ref=uid("artifact", 1), submitted=T0)
    v["note"] = _lib(stix2.Note, 1, content="Seen on our perimeter",
                     object_refs=[uid("indicator", 1)])
    v["note-abstract"] = _lib(stix2.Note, 2, abstract="FP?", content="Probably benign",
                              authors=["ana"], object_refs=[uid("malware", 1)])
    v["observed-data"] = _lib(stix2.ObservedData, 1, first_observed=T0, last_observed=T1,
                              number_observed=3, object_refs=[uid("ipv4-addr", 1)])
    v["observed-data-rel"] = _lib(stix2.ObservedData, 2, first_observed=T0, last_observed=T0,
                                  number_observed=1,
                                  object_refs=[uid("file", 1), uid("relationship", 1)])
    v["opinion"] = _lib(stix2.Opinion, 1, opinion="agree", object_refs=[uid("indicator", 1)])
    v["opinion-explained"] = _lib(stix2.Opinion, 2, opinion="strongly-disagree",
                                  explanation="FP", object_refs=[uid("report", 1)])
    v["report"] = _lib(stix2.Report, 1, name="Weekly", published=T1,
                       object_refs=[uid("indicator", 1)])
    v["report-typed"] = _lib(stix2.Report, 2, name="APT-X", published=T0,
                             report_types=["threat-actor"], object_refs=[uid("threat-actor", 1)])
    v["threat-actor"] = _lib(stix2.ThreatActor, 1, name="Evil Corp",
                             threat_actor_types=["crime-syndicate"])
    v["threat-actor-roles"] = _lib(stix2.ThreatActor, 2, name="Lone", roles=["agent"],
                                   sophistication="expert", first_seen=T0)
    v["tool"] = _lib(stix2.Tool, 1, name="Mimikatz", tool_types=["credential-exploitation"])
    v["tool-version"] = _lib(stix2.Tool, 2, name="nmap", tool_version="7.94", kill_chain_phases=kcp)
    v["vulnerability"] = _lib(
        stix2.Vulnerability, 1, name="Log4Shell",
        external_references=[{"source_name": "cve", "external_id": "CVE-2021-44228"}])
    v["vulnerability-plain"] = _lib(stix2.Vulnerability, 2, name="Weak password")
    # --- SROs (s5) -------------------------------------------------------------------------
    v["relationship"] = _lib(stix2.Relationship, 1, relationship_type="indicates",
                             source_ref=uid("indicator", 1), target_ref=uid("malware", 1))
    v["relationship-times"] = _lib(stix2.Relationship, 2, relationship_type="uses",
                                   source_ref=uid("threat-actor", 1), target_ref=uid("tool", 1),
                                   start_time=T0, stop_time=T1, description="seen")
    v["sighting"] = _lib(stix2.Sighting, 1, sighting_of_ref=uid("indicator", 1))
    v["sighting-full"] = _lib(stix2.Sighting, 2, sighting_of_ref=uid("malware", 1), count=4,
                              first_seen=T0, last_seen=T1, where_sighted_refs=[IDENTITY],
                              observed_data_refs=[uid("observed-data", 1)], summary=False)
    # --- SCOs (s6) -------------------------------------------------------------------------
    v["artifact"] = _lib(stix2.Artifact, 1, payload_bin="aGVsbG8=", mime_type="text/plain")
    v["artifact-url"] = _lib(stix2.Artifact, 2, url="https://x.example/a.bin",
                             hashes={"SHA-256": SHA256})
    v["autonomous-system"] = _lib(stix2.AutonomousSystem, 1, number=64500, name="Example")
    v["directory"] = _lib(stix2.Directory, 1, path="C:\\Windows")
    v["directory-times"] = _lib(stix2.Directory, 2, path="/tmp", ctime=T0, mtime=T1)
    v["domain-name"] = _lib(stix2.DomainName, 1, value="evil.example")
    v["domain-name-resolves"] = _lib(stix2.DomainName, 2, value="c2.evil.example",
                                     resolves_to_refs=[uid("ipv4-addr", 1)])
    v["email-addr"] = _lib(stix2.EmailAddress, 1, value="ceo@bank.example", display_name="CEO")
    v["email-message"] = _lib(stix2.EmailMessage, 1, is_multipart=False, subject="Invoice",
                              from_ref=uid("email-addr", 1), body="pay now")
    v["email-message-multi"] = _lib(
        stix2.EmailMessage, 2, is_multipart=True, to_refs=[uid("email-addr", 1)],
        body_multipart=[{"body": "hi", "content_type": "text/plain"},
                        {"body_raw_ref": uid("artifact", 1)}])
    v["file"] = _lib(stix2.File, 1, name="invoice.exe", size=1024)
    v["file-hashes"] = _lib(stix2.File, 2, hashes={"MD5": MD5, "SHA-256": SHA256},
                            magic_number_hex="4D5A")
    v["ipv4-addr"] = _lib(stix2.IPv4Address, 1, value="198.51.100.7")
    v["ipv4-cidr"] = _lib(stix2.IPv4Address, 2, value="198.51.100.0/24")
    v["ipv6-addr"] = _lib(stix2.IPv6Address, 1, value="2001:db8::1")
    v["mac-addr"] = _lib(stix2.MACAddress, 1, value="00:11:22:33:44:55")
    v["mutex"] = _lib(stix2.Mutex, 1, name="Global\\x")
    v["network-traffic"] = _lib(stix2.NetworkTraffic, 1, protocols=["tcp"], dst_port=443,
                                dst_ref=uid("ipv4-addr", 1))
    v["network-traffic-active"] = _lib(stix2.NetworkTraffic, 2, protocols=["udp"],
                                       src_ref=uid("ipv6-addr", 1), is_active=True, start=T0)
    v["process"] = _lib(stix2.Process, 1, pid=4242, command_line="evil.exe -x")
    v["software"] = _lib(stix2.Software, 1, name="Word", vendor="Microsoft", version="16")
    v["url"] = _lib(stix2.URL, 1, value="https://evil.example/login")
    v["user-account"] = _lib(stix2.UserAccount, 1, user_id="1001", account_login="bob")
    v["windows-registry-key"] = _lib(stix2.WindowsRegistryKey, 1,
                                     key="HKEY_LOCAL_MACHINE\\Software\\Run")
    v["x509-certificate"] = _lib(stix2.X509Certificate, 1, serial_number="36:f7:d4",
                                 issuer="CN=Evil CA")
    v["sco-no-spec-version"] = {"type": "ipv4-addr", "id": uid("ipv4-addr", 9),
                                "value": "192.0.2.1"}
    v["sco-uuid5"] = _sco("domain-name", 9, value="v5.example") | {
        "id": uid("domain-name", 9, version=5)}
    # --- Meta objects (s7) -----------------------------------------------------------------
    v["marking-tlp-green"] = orjson.loads(stix2.TLP_GREEN.serialize())
    v["marking-tlp-red"] = orjson.loads(stix2.TLP_RED.serialize())
    v["marking-statement"] = _lib(stix2.MarkingDefinition, 2, definition_type="statement",
                                  definition={"statement": "Copyright ACME"}, created=T0)
    v["language-content"] = _lib(stix2.LanguageContent, 1, object_ref=uid("campaign", 1),
                                 object_modified=T0,
                                 contents={"fr": {"name": "Op Crépuscule"}})
    v["extension-definition"] = _lib(
        stix2.ExtensionDefinition, 1, name="acme-ext", schema="https://acme.example/s.json",
        version="1.0", extension_types=["property-extension"], created_by_ref=IDENTITY)
    v["extension-definition-top"] = _sdo(
        "extension-definition", 2, name="top", schema="s", version="1",
        extension_types=["toplevel-property-extension"], extension_properties=["acme_x"])
    # --- Common properties, markings and custom content ------------------------------------
    v["granular-markings"] = _sdo(
        "identity", 5, name="Granular", object_marking_refs=[MARKING],
        granular_markings=[{"selectors": ["name"], "marking_ref": STATEMENT},
                           {"selectors": ["name"], "marking_ref": MARKING}])
    v["revoked-modified"] = _sdo("tool", 5, name="old", revoked=True, modified=T1)
    v["custom-property"] = _sdo("tool", 6, name="t", x_acme_score=7)
    v["custom-object"] = _sdo("x-acme-widget", 1, size=3)
    v["custom-sco"] = _sco("x-acme-thing", 1, value="z")
    v["extension-instance"] = _sdo("identity", 6, name="Ext", extensions={
        uid("extension-definition", 1): {"extension_type": "property-extension", "rank": 2}})
    v["leap-day"] = _sdo("vulnerability", 7, name="leap", created="2024-02-29T00:00:00.000Z",
                         modified="2024-02-29T00:00:00.000Z")
    v["nanoseconds"] = _sdo("vulnerability", 8, name="ns", created="2024-02-29T00:00:00.123456789Z",
                            modified="2024-02-29T00:00:00.1234567891Z")
    return v


VALID = build_valid()


def _broken() -> dict[str, tuple[Any, str | None, str]]:
    """Named broken objects -> (object, property we name, reason code)."""
    v = VALID
    ind = v["indicator"]
    b: dict[str, tuple[Any, str | None, str]] = {}

    def add(name: str, obj: Any, prop: str | None, reason: str) -> None:
        b[name] = (obj, prop, reason)

    add("not-a-dict", [ind], None, "type")
    add("string", "indicator", None, "type")
    # Common properties of every SDO/SRO (s3.2).
    for key in ("type", "id", "spec_version", "created", "modified"):
        add(f"indicator-missing-{key}", mutate(ind, **{key: DELETE}), key, "missing")
    for key in ("pattern", "pattern_type", "valid_from"):
        add(f"indicator-missing-{key}", mutate(ind, **{key: DELETE}), key, "missing")
    add("type-uppercase", mutate(ind, type="Indicator"), "type", "format")
    add("type-too-short", mutate(ind, type="ab", id=uid("ab", 1)), "type", "format")
    add("type-underscore", mutate(ind, type="x_thing", id=uid("x_thing", 1)), "type", "format")
    add("type-not-string", mutate(ind, type=7), "type", "type")
    add("id-wrong-prefix", mutate(ind, id=uid("malware", 1)), "id", "format")
    add("id-no-uuid", mutate(ind, id="indicator--1234"), "id", "format")
    add("id-bad-uuid-version", mutate(ind, id="indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"),
        "id", "format")
    add("id-bad-uuid-variant", mutate(ind, id="indicator--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f"),
        "id", "format")
    add("id-single-dash", mutate(ind, id=ind["id"].replace("--", "-")), "id", "format")
    add("id-not-string", mutate(ind, id=12), "id", "format")
    add("spec-version-2.0", mutate(ind, spec_version="2.0"), "spec_version", "spec_version")
    add("spec-version-number", mutate(ind, spec_version=2.1), "spec_version", "spec_version")
    add("created-no-z", mutate(ind, created="2024-03-01T10:00:00.000"), "created", "timestamp")
    add("created-offset", mutate(ind, created="2024-03-01T10:00:00.000+01:00"), "created",
        "timestamp")
    add("created-no-millis", mutate(ind, created="2024-03-01T10:00:00Z"), "created", "timestamp")
    add("created-feb-30", mutate(ind, created="2021-02-30T10:00:00.000Z",
                                 modified="2021-03-30T10:00:00.000Z"), "created", "timestamp")
    add("created-apr-31", mutate(ind, created="2021-04-31T10:00:00.000Z",
                                 modified="2021-05-30T10:00:00.000Z"), "created", "timestamp")
    add("created-feb-29-non-leap", mutate(ind, created="2023-02-29T10:00:00.000Z"), "created",
        "timestamp")
    add("created-month-13", mutate(ind, created="2021-13-01T10:00:00.000Z"), "created",
        "timestamp")
    add("created-hour-24", mutate(ind, created="2021-01-01T24:00:00.000Z"), "created",
        "timestamp")
    add("created-date-only", mutate(ind, created="2021-01-01"), "created", "timestamp")
    add("created-space", mutate(ind, created="2021-01-01 10:00:00.000Z"), "created", "timestamp")
    add("created-number", mutate(ind, created=1700000000), "created", "timestamp")
    add("modified-before-created", mutate(ind, modified="2024-02-01T10:00:00.000Z"), "modified",
        "timestamp")
    add("valid-from-bad", mutate(ind, valid_from="yesterday"), "valid_from", "timestamp")
    add("valid-until-before-from", mutate(ind, valid_until="2024-01-01T00:00:00Z"), "valid_until",
        "timestamp")
    add("valid-until-equals-from", mutate(ind, valid_until=ind["valid_from"]), "valid_until",
        "timestamp")
    add("created-by-ref-not-identity", mutate(ind, created_by_ref=uid("malware", 1)),
        "created_by_ref", "reference")
    add("created-by-ref-garbage", mutate(ind, created_by_ref="me"), "created_by_ref", "reference")
    add("object-marking-refs-not-list", mutate(ind, object_marking_refs=MARKING),
        "object_marking_refs", "type")
    add("object-marking-refs-empty", mutate(ind, object_marking_refs=[]), "object_marking_refs",
        "type")
    add("object-marking-refs-bad-id", mutate(ind, object_marking_refs=["marking-definition--x"]),
        "object_marking_refs", "reference")
    add("granular-no-selectors", mutate(ind, granular_markings=[{"marking_ref": MARKING}]),
        "granular_markings", "missing")
    add("granular-no-ref", mutate(ind, granular_markings=[{"selectors": ["name"]}]),
        "granular_markings", "missing")
    add("granular-bad-ref", mutate(ind, granular_markings=[
        {"selectors": ["name"], "marking_ref": IDENTITY}]), "granular_markings", "reference")
    add("granular-empty-selectors", mutate(ind, granular_markings=[
        {"selectors": [], "marking_ref": MARKING}]), "granular_markings", "missing")
    add("external-ref-no-source", mutate(ind, external_references=[{"url": "https://x.example"}]),
        "external_references", "missing")
    add("external-ref-only-source", mutate(ind, external_references=[{"source_name": "x"}]),
        "external_references", "missing")
    add("external-ref-bad-cve", mutate(v["vulnerability"], external_references=[
        {"source_name": "cve", "external_id": "CVE-21-1"}]), "external_references", "format")
    add("external-ref-not-list", mutate(ind, external_references={"source_name": "x"}),
        "external_references", "type")
    add("labels-not-list", mutate(ind, labels="c2"), "labels", "type")
    add("labels-not-strings", mutate(ind, labels=[1, 2]), "labels", "type")
    add("labels-empty", mutate(ind, labels=[]), "labels", "type")
    add("confidence-101", mutate(ind, confidence=101), "confidence", "range")
    add("confidence-negative", mutate(ind, confidence=-1), "confidence", "range")
    add("confidence-string", mutate(ind, confidence="high"), "confidence", "type")
    add("confidence-float", mutate(ind, confidence=50.5), "confidence", "type")
    add("lang-number", mutate(ind, lang=1), "lang", "format")
    add("lang-garbage", mutate(ind, lang="english language"), "lang", "format")
    add("revoked-string", mutate(ind, revoked="yes"), "revoked", "type")
    add("extensions-not-dict", mutate(ind, extensions=["x"]), "extensions", "type")
    add("extensions-empty", mutate(ind, extensions={}), "extensions", "type")
    add("extensions-bad-key", mutate(ind, extensions={"acme": {"a": 1}}), "extensions", "format")
    add("extension-no-type", mutate(ind, extensions={uid("extension-definition", 1): {"a": 1}}),
        "extensions.extension-definition--" + uid("extension-definition", 1).split("--")[1]
        + ".extension_type", "enum")
    add("reserved-severity", mutate(ind, severity="high"), "severity", "reserved")
    add("custom-property-uppercase", mutate(ind, x_Acme=1), "x_Acme", "format")
    add("custom-property-short", mutate(ind, xy=1), "xy", "format")
    add("custom-property-null", mutate(ind, x_acme=None), "x_acme", "type")
    add("custom-property-empty-list", mutate(ind, x_acme_list=[]), "x_acme_list", "type")
    add("custom-property-bad-bin", mutate(ind, x_acme_bin="!!"), "x_acme_bin", "format")
    add("name-not-string", mutate(ind, name=["C2"]), "name", "type")
    # Patterns (s4.7 and Part 9).
    for name, pattern in {
        "pattern-missing-bracket": "[ipv4-addr:value = '1.2.3.4'",
        "pattern-no-brackets": "ipv4-addr:value = '1.2.3.4'",
        "pattern-bad-quote": "[ipv4-addr:value = '1.2.3.4]",
        "pattern-double-quotes": '[ipv4-addr:value = "1.2.3.4"]',
        "pattern-bad-operator": "[ipv4-addr:value === '1.2.3.4']",
        "pattern-bad-escape": "[file:name = 'a\\b']",
        "pattern-bad-md5": "[file:hashes.MD5 = 'xyz']",
        "pattern-bad-sha256-case": f"[file:hashes.'SHA-256' = '{SHA256[:-1]}']",
        "pattern-lowercase-and": "[file:name = 'a' and file:size = 1]",
        "pattern-bad-type-name": "[IPV4:value = '1.2.3.4']",
        "pattern-short-property": "[file:ab = 'x']",
        "pattern-duplicate-qualifier": "[file:name = 'a'] WITHIN 1 SECONDS WITHIN 2 SECONDS",
        "pattern-empty": "",
        "pattern-bad-timestamp": "[file:name = 'a'] START t'2021-13-01T00:00:00Z' "
                                 "STOP t'2022-01-01T00:00:00Z'",
        "pattern-trailing-garbage": "[file:name = 'a'] ]",
    }.items():
        add(name, mutate(ind, pattern=pattern), "pattern", "pattern")
    add("pattern-not-string", mutate(ind, pattern=["[file:name = 'a']"]), "pattern", "type")
    add("pattern-type-number", mutate(ind, pattern_type=1), "pattern_type", "type")
    # Type-specific rules (s4, s5).
    add("attack-pattern-no-name", mutate(v["attack-pattern"], name=DELETE), "name", "missing")
    add("attack-pattern-bad-kcp", mutate(v["attack-pattern"], kill_chain_phases=[
        {"kill_chain_name": "x"}]), "kill_chain_phases", "missing")
    add("campaign-last-before-first", mutate(v["campaign-seen"], last_seen="2020-01-01T00:00:00Z"),
        "last_seen", "timestamp")
    add("course-of-action-action", mutate(v["course-of-action"], action="block"), "action",
        "reserved")
    add("grouping-no-context", mutate(v["grouping"], context=DELETE), "context", "missing")
    add("grouping-no-refs", mutate(v["grouping"], object_refs=DELETE), "object_refs", "missing")
    add("grouping-empty-refs", mutate(v["grouping"], object_refs=[]), "object_refs", "type")
    add("identity-no-name", mutate(v["identity"], name=DELETE), "name", "missing")
    add("incident-no-name", mutate(v["incident"], name=DELETE), "name", "missing")
    add("infrastructure-no-name", mutate(v["infrastructure"], name=DELETE), "name", "missing")
    add("intrusion-set-no-name", mutate(v["intrusion-set"], name=DELETE), "name", "missing")
    add("location-nothing", mutate(v["location-country"], country=DELETE), "region", "missing")
    add("location-lat-only", mutate(v["location-latlon"], longitude=DELETE), "longitude",
        "missing")
    add("location-lat-range", mutate(v["location-latlon"], latitude=91.0), "latitude", "range")
    add("location-precision-alone", mutate(v["location-region"], precision=10.0), "precision",
        "missing")
    add("malware-no-is-family", mutate(v["malware"], is_family=DELETE), "is_family", "missing")
    add("malware-family-no-name", mutate(v["malware"], name=DELETE), "name", "missing")
    add("malware-is-family-string", mutate(v["malware"], is_family="true"), "is_family", "type")
    add("malware-sample-ref-type", mutate(v["malware-sample"], sample_refs=[uid("url", 1)]),
        "sample_refs", "reference")
    add("malware-analysis-no-product", mutate(v["malware-analysis"], product=DELETE), "product",
        "missing")
    add("malware-analysis-no-result", mutate(v["malware-analysis"], result=DELETE), "result",
        "missing")
    add("note-no-content", mutate(v["note"], content=DELETE), "content", "missing")
    add("note-no-refs", mutate(v["note"], object_refs=DELETE), "object_refs", "missing")
    add("observed-data-no-count", mutate(v["observed-data"], number_observed=DELETE),
        "number_observed", "missing")
    add("observed-data-count-zero", mutate(v["observed-data"], number_observed=0),
        "number_observed", "range")
    add("observed-data-count-huge", mutate(v["observed-data"], number_observed=1_000_000_000),
        "number_observed", "range")
    add("observed-data-last-before-first", mutate(
        v["observed-data"], last_observed="2020-01-01T00:00:00Z"), "last_observed", "timestamp")
    add("observed-data-sdo-ref", mutate(v["observed-data"], object_refs=[uid("malware", 1)]),
        "object_refs", "reference")
    add("observed-data-no-refs", mutate(v["observed-data"], object_refs=DELETE), "object_refs",
        "missing")
    add("opinion-bad-enum", mutate(v["opinion"], opinion="maybe"), "opinion", "enum")
    add("opinion-no-refs", mutate(v["opinion"], object_refs=DELETE), "object_refs", "missing")
    add("report-no-published", mutate(v["report"], published=DELETE), "published", "missing")
    add("report-empty-refs", mutate(v["report"], object_refs=[]), "object_refs", "type")
    add("report-bad-ref", mutate(v["report"], object_refs=["indicator"]), "object_refs",
        "reference")
    add("report-no-name", mutate(v["report"], name=DELETE), "name", "missing")
    add("threat-actor-no-name", mutate(v["threat-actor"], name=DELETE), "name", "missing")
    add("tool-no-name", mutate(v["tool"], name=DELETE), "name", "missing")
    add("vulnerability-no-name", mutate(v["vulnerability"], name=DELETE), "name", "missing")
    add("relationship-no-type", mutate(v["relationship"], relationship_type=DELETE),
        "relationship_type", "missing")
    add("relationship-no-target", mutate(v["relationship"], target_ref=DELETE), "target_ref",
        "missing")
    add("relationship-bad-type", mutate(v["relationship"], relationship_type="Indicates"),
        "relationship_type", "format")
    add("relationship-to-marking", mutate(v["relationship"], target_ref=MARKING), "target_ref",
        "reference")
    add("relationship-stop-before-start", mutate(
        v["relationship-times"], stop_time=T0), "stop_time", "timestamp")
    add("sighting-no-of-ref", mutate(v["sighting"], sighting_of_ref=DELETE), "sighting_of_ref",
        "missing")
    add("sighting-of-relationship", mutate(v["sighting"], sighting_of_ref=uid("relationship", 1)),
        "sighting_of_ref", "reference")
    add("sighting-where-malware", mutate(v["sighting-full"], where_sighted_refs=[
        uid("malware", 1)]), "where_sighted_refs", "reference")
    add("sighting-count-negative", mutate(v["sighting-full"], count=-1), "count", "range")
    add("sighting-observed-bad", mutate(v["sighting-full"], observed_data_refs=[IDENTITY]),
        "observed_data_refs", "reference")
    # SCOs (s6).
    add("ipv4-no-value", mutate(v["ipv4-addr"], value=DELETE), "value", "missing")
    add("ipv4-bad-value", mutate(v["ipv4-addr"], value="300.1.2.3"), "value", "format")
    add("ipv6-bad-value", mutate(v["ipv6-addr"], value="2001:db8::zz"), "value", "format")
    add("mac-uppercase", mutate(v["mac-addr"], value="00:11:22:AA:BB:CC"), "value", "format")
    add("domain-bad", mutate(v["domain-name"], value="-bad-.example"), "value", "format")
    add("email-addr-bad", mutate(v["email-addr"], value="not an email"), "value", "format")
    add("url-bad", mutate(v["url"], value="not a url"), "value", "format")
    add("url-missing", mutate(v["url"], value=DELETE), "value", "missing")
    add("sco-spec-version-2.0", mutate(v["ipv4-addr"], spec_version="2.0"), "spec_version",
        "spec_version")
    add("sco-id-wrong-prefix", mutate(v["url"], id=uid("file", 3)), "id", "format")
    add("file-no-name-or-hashes", mutate(v["file"], name=DELETE), "hashes", "missing")
    add("file-bad-md5", mutate(v["file-hashes"], hashes={"MD5": "abc"}), "hashes", "format")
    add("file-negative-size", mutate(v["file"], size=-1), "size", "range")
    add("file-bad-magic-hex", mutate(v["file-hashes"], magic_number_hex="4D5"),
        "magic_number_hex", "format")
    add("artifact-both", mutate(v["artifact"], url="https://x.example/a"), "payload_bin",
        "missing")
    add("artifact-url-no-hashes", mutate(v["artifact-url"], hashes=DELETE), "hashes", "missing")
    add("artifact-bad-base64", mutate(v["artifact"], payload_bin="a"), "payload_bin", "format")
    add("autonomous-system-no-number", mutate(v["autonomous-system"], number=DELETE), "number",
        "missing")
    add("directory-no-path", mutate(v["directory"], path=DELETE), "path", "missing")
    add("email-message-no-multipart", mutate(v["email-message"], is_multipart=DELETE),
        "is_multipart", "missing")
    add("email-message-body-and-multipart", mutate(v["email-message-multi"], body="x"), "body",
        "conflict")
    add("mutex-no-name", mutate(v["mutex"], name=DELETE), "name", "missing")
    add("network-traffic-no-protocols", mutate(v["network-traffic"], protocols=DELETE),
        "protocols", "missing")
    add("network-traffic-no-endpoints", mutate(v["network-traffic"], dst_ref=DELETE), "src_ref",
        "missing")
    add("network-traffic-port-range", mutate(v["network-traffic"], dst_port=70000), "dst_port",
        "range")
    add("network-traffic-active-with-end", mutate(v["network-traffic-active"], end=T1), "end",
        "conflict")
    add("process-uuid5", mutate(v["process"], id=uid("process", 1, version=5)), "id", "format")
    add("process-empty", {"type": "process", "id": uid("process", 3)}, "pid", "missing")
    add("software-no-name", mutate(v["software"], name=DELETE), "name", "missing")
    add("user-account-empty", {"type": "user-account", "id": uid("user-account", 3)}, None,
        "missing")
    add("registry-key-abbrev", mutate(v["windows-registry-key"], key="HKLM\\Software"), "key",
        "format")
    add("x509-empty", {"type": "x509-certificate", "id": uid("x509-certificate", 3)}, None,
        "missing")
    # Meta objects (s7).
    add("marking-no-definition", mutate(v["marking-statement"], definition=DELETE), "definition",
        "missing")
    add("marking-statement-empty", mutate(v["marking-statement"], definition={}), "definition",
        "missing")
    add("marking-fake-tlp", mutate(v["marking-tlp-green"], name="TLP:PURPLE"), "definition",
        "invalid")
    add("marking-no-created", mutate(v["marking-statement"], created=DELETE), "created",
        "missing")
    add("language-content-no-contents", mutate(v["language-content"], contents=DELETE),
        "contents", "missing")
    add("language-content-bad-key", mutate(v["language-content"], contents={
        "fr": {"Name!": "x"}}), "contents", "format")
    add("extension-definition-no-schema", mutate(v["extension-definition"], schema=DELETE),
        "schema", "missing")
    add("extension-definition-bad-type", mutate(v["extension-definition"],
                                                extension_types=["new-thing"]),
        "extension_types", "enum")
    add("extension-definition-props-not-toplevel", mutate(
        v["extension-definition"], extension_properties=["a_b"]), "extension_properties",
        "conflict")
    add("custom-object-no-modified", mutate(v["custom-object"], modified=DELETE), "modified",
        "missing")
    return b


BROKEN = _broken()
