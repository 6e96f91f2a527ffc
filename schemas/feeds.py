"""Wire models of feeds: saved filters over what an organisation may see, and their webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from schemas.tlp import Tlp

ObservableKind = Literal["ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256"]
StixType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$")]
IdentityId = Annotated[str, StringConstraints(pattern=r"^identity--[0-9a-f-]{36}$")]
# NUL is refused: PostgreSQL cannot store it in text.
Short = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


TLP1_MARKINGS = (
    "Also serve, in every object's object_marking_refs, the TLP 1.0 marking id of the same or"
    " a stricter level (CLEAR->WHITE, GREEN->GREEN, AMBER and AMBER+STRICT->AMBER,"
    " RED->RED), for consumers that know only TLP 1.0 ids (Cortex XSOAR's TAXII 2 feed)."
)


class FeedFilter(BaseModel):
    """What a feed selects among the objects its organisation may see; unset means any."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _legacy_exclude(cls, data: object) -> object:
        """Accept and drop the former opt-out `exclude_warninglisted`. Leaving the listed
        values out is now the default, and `false` (the old default, written into every
        stored filter whether asked or not) is not read as asking for them, as migration
        0025 reads stored filters: only `include_warninglisted` puts values such as
        10.0.0.0/8 into a firewall's blocklist."""
        if isinstance(data, dict) and "exclude_warninglisted" in data:
            data = dict(data)
            if not isinstance(data.pop("exclude_warninglisted"), bool):
                raise ValueError("exclude_warninglisted (replaced by include_warninglisted)"
                                 " must be a boolean")
        return data

    collections: list[uuid.UUID] | None = Field(None, min_length=1, max_length=1000)
    groups: list[uuid.UUID] | None = Field(None, min_length=1, max_length=1000)
    types: list[StixType] | None = Field(None, min_length=1, max_length=100)
    indicator_types: list[Short] | None = Field(None, min_length=1, max_length=100)
    observable_kinds: list[ObservableKind] | None = Field(None, min_length=1)
    tlp_max: Tlp | None = Field(None, description="Most restrictive TLP level delivered.")
    min_confidence: StrictInt | None = Field(None, ge=0, le=100)
    producers: list[IdentityId] | None = Field(
        None, min_length=1, max_length=1000,
        description="created_by_ref identities; objects with withheld attribution carry"
        " their trust group's identity instead.",
    )
    labels: list[Short] | None = Field(None, min_length=1, max_length=100)
    valid_only: StrictBool = Field(
        False, description="Drop revoked and expired (valid_until) objects."
    )
    min_score: StrictInt | None = Field(
        None, ge=0, le=100,
        description="Drop indicators whose decay score (confidence, age by kind since"
        " valid_from or the last sighting, false-positive reports; README: the decay score)"
        " is below this; other objects pass.",
    )
    include_warninglisted: StrictBool = Field(
        False,
        description="Also deliver indicators whose values are on a shipped warninglist"
        " (private and documentation ranges, public resolvers, CDN and cloud ranges, top"
        " domains): values a member must never block blindly, so feeds and exports leave"
        " them out unless asked (issue 12).",
    )
    sightings_of_mine: StrictBool = Field(
        False,
        description="Only the sightings of your organisation's own indicators (feedback for"
        " a producer's SIEM: seen, false positive, expired), anonymous unless the sighter"
        " chose to be credited.",
    )


class WebhookSpec(BaseModel):
    """Where and how a feed pushes batches."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    max_attempts: StrictInt = Field(8, ge=1, le=100)


class FeedCreate(BaseModel):
    """Body of POST /api/v1/feeds."""

    model_config = ConfigDict(extra="forbid")

    name: Short
    filter: FeedFilter = Field(default_factory=FeedFilter)
    webhook: WebhookSpec | None = None
    tlp1_markings: StrictBool = Field(False, description=TLP1_MARKINGS)


class FeedUpdate(BaseModel):
    """Body of PATCH /api/v1/feeds/{id}: the fields given replace the stored ones."""

    model_config = ConfigDict(extra="forbid")

    name: Short | None = None
    filter: FeedFilter | None = None
    webhook: WebhookSpec | None = None
    remove_webhook: StrictBool = False
    rotate_secret: StrictBool = Field(False, description="Issue a new webhook signing secret.")
    tlp1_markings: StrictBool | None = Field(None, description=TLP1_MARKINGS)


class Feed(BaseModel):
    """A saved feed as its organisation sees it."""

    id: uuid.UUID
    name: str
    filter: FeedFilter
    webhook_url: str | None
    webhook_max_attempts: int
    tlp1_markings: bool = Field(False, description=TLP1_MARKINGS)
    created: datetime
    updated: datetime
    taxii_collection: str = Field(description="Path of the feed as a TAXII 2.1 collection.")
    stream: str = Field(description="Path of the Server-Sent Events stream.")


class FeedCreated(Feed):
    """A feed just created: the only time its webhook signing secret is shown."""

    webhook_secret: str | None


class Delivery(BaseModel):
    """One webhook batch in the delivery log."""

    id: uuid.UUID
    created: datetime
    objects: int
    attempts: int
    state: Literal["pending", "delivered", "dead"]
    next_attempt: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class FeedList(BaseModel):
    """The caller's organisation's feeds."""

    feeds: list[Feed]


class DeliveryList(BaseModel):
    """A feed's webhook delivery log, newest first."""

    deliveries: list[Delivery]
