"""Wire models of the analyst lookup: `GET/POST /api/v1/lookup`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_VALUES = 10_000
MAX_EXCLUSIONS = 10_000
# The decay score's half-life by observable kind, in days (README: the decay score):
# addresses churn in days, file hashes stay bad for years. Read by server.intel.score and
# by the feeds' `min_score` filter in SQL, so both score alike.
HALF_LIFE_DAYS = {"ipv4": 14.0, "ipv6": 14.0, "domain": 90.0, "url": 60.0, "email": 120.0,
                  "md5": 730.0, "sha1": 730.0, "sha256": 730.0}
DEFAULT_HALF_LIFE = 90.0
DEFAULT_CONFIDENCE = 50


class LookupQuery(BaseModel):
    """The query string of a single lookup."""

    model_config = ConfigDict(extra="forbid")
    value: str = Field(min_length=1, max_length=2048, description="The value to look up.")


class LookupRequest(BaseModel):
    """A bulk lookup."""

    model_config = ConfigDict(extra="forbid")
    values: list[str] = Field(min_length=1, max_length=MAX_VALUES,
                              description="Up to 10,000 values, each looked up alone.")


class SightingSummary(BaseModel):
    """Aggregates of an indicator's sightings that the reader can see; who sighted is never
    shown unless the sighter chose to be credited."""

    organizations: int = Field(0, description="Distinct organisations that reported it seen"
                                              " (anonymous ones counted, never named).")
    count: int = Field(0, description="Total times seen (the sightings' `count`).")
    last_seen: datetime | None = None
    false_positives: int = Field(0, description="Organisations reporting a false positive.")
    expired: int = Field(0, description="Organisations reporting it no longer valid.")
    credited: list[str] = Field(default_factory=list,
                                description="Sighters that chose to be named.")


class CollectionRef(BaseModel):
    """A collection a matching object appears in."""

    id: str
    title: str


class Match(BaseModel):
    """One visible, current object whose observables match the value."""

    id: str
    type: str
    match: Literal["exact", "range", "parent"] = Field(
        description="exact: the value itself; range: a stored CIDR range holding the address;"
                    " parent: a parent domain of the value (context).")
    matched_value: str
    producer: str = Field(description="The member organisation that posted it, or 'withheld'.")
    tlp: str
    confidence: int | None
    valid_from: str | None
    valid_until: datetime | None
    revoked: bool
    labels: list[str]
    collections: list[CollectionRef]
    sightings: SightingSummary = Field(description="Over the sightings of it you can see.")
    score: int = Field(description="Decay score 0-100 now: confidence, age by kind since"
                                   " valid_from or the last sighting, false-positive reports"
                                   " (README: the decay score).")


class LookupResult(BaseModel):
    """What is known, and visible to the caller, of one looked-up value."""

    value: str
    kind: str | None = Field(description="ipv4, ipv6, domain, url, email, md5, sha1, sha256,"
                                          " sha512; null if the value is none of these.")
    matches: list[Match]
    warninglists: list[str] = Field(
        description="Shipped warninglists holding the value (private ranges, public"
                    " resolvers, CDN and cloud ranges, top domains): never block it blindly.")
    producers: int = Field(description="Corroboration: distinct organisations whose visible"
                                       " objects match the value itself (exact or range);"
                                       " withheld producers are counted, never named.")
    excluded: bool = Field(False, description="On your organisation's exclusion list: your"
                                              " feeds and exports leave out the indicators"
                                              " holding it.")


class LookupResponse(BaseModel):
    """The results, in the order the values were given."""

    results: list[LookupResult]


class ExclusionIn(BaseModel):
    """One value your organisation must never block."""

    model_config = ConfigDict(extra="forbid")
    value: str = Field(min_length=1, max_length=2048,
                       description="An address or CIDR range (excludes every value overlapping"
                                   " it), a domain (and its subdomains), a URL, an e-mail"
                                   " address or a hash.")
    note: str | None = Field(None, max_length=500, description="Why (for your colleagues).")


class ExclusionsPut(BaseModel):
    """Your organisation's whole exclusion list (replaces the one stored)."""

    model_config = ConfigDict(extra="forbid")
    entries: list[ExclusionIn] = Field(max_length=MAX_EXCLUSIONS,
                                       description=f"Up to {MAX_EXCLUSIONS:,} entries.")


class Exclusion(BaseModel):
    """One stored entry, as ingest spells values."""

    kind: str
    value: str
    note: str | None
    created: datetime


class ExclusionList(BaseModel):
    """Your organisation's exclusion list: its feeds and exports leave out every indicator
    with a matching value, and its lookups flag such values (`excluded`)."""

    entries: list[Exclusion]
