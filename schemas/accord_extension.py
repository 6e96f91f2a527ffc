"""The Accord STIX 2.1 property extension: how a producer states sharing terms over TAXII.

Carried in an object's `extensions` under ACCORD_EXTENSION_ID:
`attribution` ("credited" | "withheld"), `releasable_to_sectors` (sectors), `recipients`
(identity ids of member organisations, required for TLP:RED).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.principal import Sector

ACCORD_EXTENSION_ID = "extension-definition--0b92d48b-501d-4dce-923c-b5de58c317f9"
IdentityId = Annotated[
    str,
    StringConstraints(
        pattern=r"^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    ),
]


class AccordTerms(BaseModel):
    """The extension's properties; anything unknown or malformed is refused, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    extension_type: Literal["property-extension"] = "property-extension"
    attribution: Literal["credited", "withheld"] | None = None
    releasable_to_sectors: list[Sector] | None = Field(None, min_length=1, max_length=4)
    recipients: list[IdentityId] | None = Field(None, min_length=1, max_length=1000)


def extension_schema() -> dict:
    """JSON Schema of the extension's properties (published in the extension-definition)."""
    schema = AccordTerms.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Accord sharing terms"
    return schema


def extension_definition(created_by_ref: str) -> dict:
    """The STIX extension-definition object the server publishes for this extension."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": ACCORD_EXTENSION_ID,
        "created_by_ref": created_by_ref,
        "created": "2026-11-29T00:00:00.000Z",
        "modified": "2026-11-29T00:00:00.000Z",
        "name": "Accord sharing terms",
        "description": "Attribution, sector releasability and TLP:RED recipients of an object"
        " shared through Accord.",
        # STIX allows the schema as plain text; the JSON Schema is served by every server.
        "schema": "JSON Schema at /api/v1/schemas/accord-extension.json on the Accord server"
        " (schemas/accord-extension.schema.json in its source).",
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    }


SCHEMA_FILE = Path(__file__).with_name("accord-extension.schema.json")


def schema_text() -> str:
    """The generated JSON Schema as the committed file holds it."""
    return json.dumps(extension_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
