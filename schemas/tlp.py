"""TLP marking-definition ids: TLP 2.0 (extension-based) and TLP 1.0 (statement-based)."""

from __future__ import annotations

from enum import StrEnum

import orjson


class Tlp(StrEnum):
    """TLP 2.0 levels, least restrictive first."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"


TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

TLP2_IDS: dict[str, Tlp] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.RED,
}

# STIX 2.1 section 7.2.1.4: the TLP 1.0 marking definitions, mapped onto TLP 2.0.
TLP1_IDS: dict[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,  # WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}

TLP_LEVELS: dict[str, Tlp] = {**TLP2_IDS, **TLP1_IDS}

TLP2_ID_OF: dict[Tlp, str] = {level: ref for ref, level in TLP2_IDS.items()}


def tlp2_marking_definition(level: Tlp) -> dict:
    """The TLP 2.0 marking-definition object of a level (FIRST's TLP 2.0 extension)."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_ID_OF[level],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{level.value.upper()}",
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level.value},
        },
    }


# TLP 1.0 has no AMBER+STRICT: AMBER is the nearest TLP 1.0 level (the TLP 2.0 id stays).
TLP1_ID_OF: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    Tlp.GREEN: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    Tlp.AMBER: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    Tlp.AMBER_STRICT: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    Tlp.RED: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}


def tlp1_marking_definitions() -> list[dict]:
    """The four TLP 1.0 marking-definition objects, as STIX 2.1 s7.2.1.4 (and stix2) give them."""
    return [
        {
            "type": "marking-definition", "spec_version": "2.1", "id": TLP1_ID_OF[level],
            "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp",
            "name": f"TLP:{name.upper()}", "definition": {"tlp": name},
        }
        for level, name in ((Tlp.CLEAR, "white"), (Tlp.GREEN, "green"), (Tlp.AMBER, "amber"),
                            (Tlp.RED, "red"))
    ]


_REFS = '"object_marking_refs":['


def with_tlp1_marking(body: str, level: str) -> str:
    """Stored canonical JSON with the TLP 1.0 id of `level` first in object_marking_refs.

    Bodies are stored with sorted keys and no whitespace, and ingest always writes the
    object's TLP 2.0 id into its top-level object_marking_refs; so when that key occurs
    once, and its list holds the level's TLP 2.0 id and not yet the TLP 1.0 one, the id is
    spliced in as text, with no parse. Anything else (the key nested in a property too, say)
    takes the exact path: parse, insert, serialise canonically again.
    """
    # Tlp is a StrEnum: its members hash and compare as their values, so the stored level
    # text looks them up directly (an Enum call costs more than the splice).
    ref = TLP1_ID_OF[level]  # type: ignore[index]
    at = body.find(_REFS)
    if at >= 0 and body.find(_REFS, at + 1) < 0:
        at += len(_REFS)
        end = body.find("]", at)  # ids hold no "]": the list ends here
        if (end > 0 and body.find(TLP2_ID_OF[level], at, end) >= 0  # type: ignore[index]
                and body.find(ref, at, end) < 0):
            return f'{body[:at]}"{ref}",{body[at:]}'
    obj = orjson.loads(body)
    refs = obj.get("object_marking_refs")
    if not isinstance(refs, list) or ref in refs:
        return body
    obj["object_marking_refs"] = [ref, *refs]
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
