"""Wire models of sightings: `POST /api/v1/sightings` and the aggregates readers see."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SightingKind = Literal["seen", "false-positive", "expired"]


class SightingCreate(BaseModel):
    """A member's report that an indicator hit (or misfired on) its network."""

    model_config = ConfigDict(extra="forbid")
    indicator_id: str = Field(pattern=r"^indicator--[0-9a-fA-F-]{36}$", max_length=48)
    kind: SightingKind = "seen"
    count: int = Field(1, ge=1, le=1_000_000)
    first_seen: AwareDatetime | None = None
    last_seen: AwareDatetime | None = Field(None, description="Default: now.")
    credited: bool = Field(False, description="Name your organisation to the indicator's"
                                              " readers (its trust group); default anonymous.")

    @model_validator(mode="after")
    def _ordered(self) -> SightingCreate:
        if self.first_seen and self.last_seen and self.first_seen > self.last_seen:
            raise ValueError("first_seen is after last_seen")
        return self


class SightingRecorded(BaseModel):
    """The sighting as recorded."""

    indicator_id: str
    kind: SightingKind
    count: int
    last_seen: datetime
    credited: bool


class SightingSummary(BaseModel):
    """Aggregates of an indicator's sightings; who sighted is never shown unless credited."""

    organizations: int = Field(0, description="Distinct organisations that reported it seen.")
    count: int = Field(0, description="Total times seen.")
    last_seen: datetime | None = None
    false_positives: int = Field(0, description="Organisations reporting a false positive.")
    expired: int = Field(0, description="Organisations reporting it no longer valid.")
    credited: list[str] = Field(default_factory=list,
                                description="Sighters that chose to be named.")
