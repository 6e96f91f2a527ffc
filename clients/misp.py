"""MISP event JSON to STIX 2.1 for `accord import misp`, converted by misp-stix.

misp-stix is made deterministic here, so importing an event again (or another member
importing it) posts byte-identical objects: Accord counts them as duplicates, never as new
versions or as conflicting content.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

# The version given to the identities of MISP organisations (an event's creator, its
# sighters): one fixed time, so the identity misp-stix builds for an organisation is the same
# object in every event and for every member who imports one.
ORG_IDENTITY_TIME = "1970-01-01T00:00:00.000Z"
# A timestamp this close to the conversion is misp-stix's clock, not the event's data.
_CLOCK_SLACK = timedelta(seconds=2)


class MispError(ValueError):
    """The input is not MISP event JSON misp-stix can convert; the message says why."""


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event_time(event: dict[str, Any]) -> str:
    """The event's own time: its `timestamp` (last change), else its `date`, else the epoch."""
    for key in ("timestamp", "publish_timestamp"):
        try:
            return _stamp(datetime.fromtimestamp(int(event[key]), UTC))
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            pass
    try:
        return f"{date.fromisoformat(str(event['date'])).isoformat()}T00:00:00.000Z"
    except (KeyError, ValueError):
        return ORG_IDENTITY_TIME


def _org_uuids(value: object, found: set[str]) -> set[str]:
    """UUIDs of every organisation the event names (Org, Orgc, a sighting's Organisation)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("Org", "Orgc", "Organisation") and isinstance(item, dict):
                uuid = item.get("uuid")
                if isinstance(uuid, str):
                    found.update((uuid, uuid.lower()))
            _org_uuids(item, found)
    elif isinstance(value, list):
        for item in value:
            _org_uuids(item, found)
    return found


def make_deterministic(objects: list[dict[str, Any]], event: dict[str, Any],
                       started: datetime, finished: datetime) -> list[dict[str, Any]]:
    """Replace the conversion time misp-stix stamps on some objects by the event's time,
    and version the identities of MISP organisations at ORG_IDENTITY_TIME."""
    when = event_time(event)
    window = (started - _CLOCK_SLACK, finished + _CLOCK_SLACK)
    orgs = {f"identity--{uuid}" for uuid in _org_uuids(event, set())}
    for obj in objects:
        if obj.get("type") == "identity" and obj.get("id") in orgs:
            obj["created"] = obj["modified"] = ORG_IDENTITY_TIME
            continue
        for prop in ("created", "modified"):
            stamped = _parse(obj.get(prop))
            if stamped is not None and window[0] <= stamped <= window[1]:
                obj[prop] = when
        created, modified = _parse(obj.get("created")), _parse(obj.get("modified"))
        if created and modified and modified < created:
            obj["modified"] = obj["created"]
    return objects


def misp_events(data: bytes) -> list[dict[str, Any]]:
    """The events of MISP JSON: an {"Event": ...} export, a list, or a {"response": [...]}."""
    try:
        content = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MispError(f"not JSON: {exc}") from exc
    events = content if isinstance(content, list) else content.get("response", [content]) \
        if isinstance(content, dict) else None
    if not events:
        raise MispError("no MISP event")
    found = []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("Event", event), dict):
            raise MispError("not a MISP event")
        found.append(event if "Event" in event else {"Event": event})
    return found


def misp_to_stix(data: bytes, *, withhold: bool = False) -> list[dict[str, Any]]:
    """STIX 2.1 objects of MISP event JSON (misp-stix's MISPtoSTIX21Parser), deterministic.

    `created_by_ref` names the MISP creator organisation, whose identity is posted with the
    event: it is the author's claim, kept as posted. With `withhold` the MISP organisations
    are left out (they are often the poster's own), so nothing ties the post to its producer.
    """
    from misp_stix_converter import MISPtoSTIX21Parser  # optional, heavy: loaded when used

    objects: list[dict[str, Any]] = []
    for event in misp_events(data):
        parser = MISPtoSTIX21Parser()
        started = datetime.now(UTC)
        try:
            parser.parse_misp_event(event)
        except (KeyError, TypeError, ValueError) as exc:
            raise MispError(f"misp-stix could not convert the event: {exc!r}") from exc
        converted = orjson.loads(parser.bundle.serialize())["objects"]
        objects += make_deterministic(converted, event["Event"], started, datetime.now(UTC))
    if withhold:
        orgs = {f"identity--{uuid}" for uuid in _org_uuids(misp_events(data), set())}
        objects = [o for o in objects if o.get("id") not in orgs]
        for obj in objects:
            if obj.get("created_by_ref") in orgs:
                del obj["created_by_ref"]
    return objects
