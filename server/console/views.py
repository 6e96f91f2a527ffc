"""Home, search, one object, sharing a file and its status, the stylesheet."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiohttp import web

from clients import intel, iocs
from schemas.principal import Role
from server import policy
from server.config import SETTINGS
from server.console.i18n import N_
from server.console.pages import (
    ROOT,
    field,
    form_of,
    not_found,
    page,
    render,
    session_of,
    table,
)
from server.db.pool import POOL
from server.errors import BadRequest, NotFound
from server.ingest.envelope import ingest_envelope
from server.ingest.patterns import PATTERNS
from server.store import collections, console, statuses

routes = table()
_STATIC = Path(__file__).parent / "static"
# htmx.min.js is htmx 2.0.11 as npm ships it (htmx.org, 0BSD: htmx.LICENSE beside it),
# vendored so that the console needs no build step and no third-party host.
_STATIC_FILES = {"console.css": "text/css", "htmx.min.js": "text/javascript",
                 "htmx.LICENSE": "text/plain"}
# TLP 2.0 badge colours (FIRST): each on black.
TLP_LABELS = {"clear": "TLP:CLEAR", "green": "TLP:GREEN", "amber": "TLP:AMBER",
              "amber+strict": "TLP:AMBER+STRICT", "red": "TLP:RED"}
_TOO_SLOW = N_(
    "The text search took too long: narrow it by type or label, or search an id or a value.")
_REF_KEYS = ("created_by_ref", "source_ref", "target_ref", "sighting_of_ref")
_REF_LISTS = ("object_refs", "where_sighted_refs", "observed_data_refs")


@routes.get(ROOT + "static/{name}")
@page(signed_in=False)
async def static(request: web.Request) -> web.StreamResponse:
    """The console's own stylesheet and script (a fixed list: no path from the request
    reaches disk)."""
    name = request.match_info["name"]
    if name not in _STATIC_FILES:
        raise not_found()
    response = web.Response(body=(_STATIC / name).read_bytes(),
                            content_type=_STATIC_FILES[name])
    return response


@routes.get(ROOT)
@page()
async def home(request: web.Request) -> web.Response:
    """What is new: the organisation's recent posts with their status, failures first."""
    session = session_of(request)
    async with request.app[POOL].acquire() as conn:
        posts = await console.recent_posts(conn, session.principal.org_id,
                                           request.app[SETTINGS].status_retention_hours)
        latest = await console.search(conn, session.principal, limit=10, shared_only=True)
    return render(request, "home.html", posts=posts, latest=latest, tlp_labels=TLP_LABELS)


@routes.get(ROOT + "search")
@page()
async def search_form(request: web.Request) -> web.Response:
    """The search form (its query is posted, so no value lands in a URL)."""
    return render(request, "search.html", results=None, q="", stix_type="", label="",
                  tlp_labels=TLP_LABELS, error=None)


@routes.post(ROOT + "search")
@page()
async def search(request: web.Request) -> web.Response:
    """Objects by id, type, label or text, through the visibility predicate."""
    q = field(request, "q", required=False, limit=200)
    stix_type = field(request, "type", required=False, limit=100)
    label = field(request, "label", required=False, limit=100)
    error = None
    async with request.app[POOL].acquire() as conn:
        try:
            results = await console.search(conn, session_of(request).principal,
                                           text=q or None, stix_type=stix_type or None,
                                           label=label or None)
        except console.SearchTooSlow:
            results, error = [], _TOO_SLOW
    return render(request, "search.html", results=results, q=q, stix_type=stix_type,
                  label=label, tlp_labels=TLP_LABELS, error=error)


def _refs(body: dict) -> list[str]:
    found = [body[k] for k in _REF_KEYS if isinstance(body.get(k), str)]
    for key in _REF_LISTS:
        found += [r for r in body.get(key) or () if isinstance(r, str)]
    return found[:200]


def safe_link(url: object) -> str | None:
    """An external reference URL worth linking: http(s) only; anything else shows as text."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return url
    return None


@routes.get(ROOT + "objects/{object_id}")
@page()
async def object_page(request: web.Request) -> web.Response:
    """A readable rendering of one object: a 404 alike for absent and hidden ones."""
    object_id = request.match_info["object_id"].lower()
    if len(object_id) > 300 or "--" not in object_id:
        raise not_found()
    principal = session_of(request).principal
    async with request.app[POOL].acquire() as conn:
        versions = await console.object_versions(conn, principal, object_id)
        if not versions:
            raise not_found()
        latest = versions[-1]
        body = orjson.loads(latest.body)
        related = await console.related(conn, principal, object_id, _refs(body))
        author = body.get("created_by_ref")
        names = await console.identity_names(conn, principal, [author]) if author else {}
    references = [
        {"source": r.get("source_name"), "id": r.get("external_id"),
         "url": r.get("url"), "link": safe_link(r.get("url"))}
        for r in body.get("external_references") or () if isinstance(r, dict)
    ]
    judge = (body.get("type") == "indicator" and latest.tlp != "red"
             and principal.has_role(Role.CONTRIBUTOR))
    return render(
        request, "object.html", body=body, latest=latest, versions=versions,
        related=[r for r in related if r.stix_id != object_id], author=author,
        author_name=names.get(author) if author else None, references=references,
        raw=orjson.dumps(body, option=orjson.OPT_INDENT_2).decode(), tlp_labels=TLP_LABELS,
        verdict_collections=await _verdict_targets(request, versions) if judge else [],
    )


async def _verdict_targets(request: web.Request, versions: list) -> list:
    """Collections a verdict may go to: writable ones of the trust groups the indicator was
    seen in (a sighting names the indicator: it never carries it into another group)."""
    principal = session_of(request).principal
    async with request.app[POOL].acquire() as conn:
        found = await collections.list_collections(conn, principal)
    seen_in = {v.collection_id for v in versions}
    groups = {c.group_id for c in found if c.id in seen_in}
    return [c for c in found if c.group_id in groups
            and policy.can_write_collection(principal, c.is_member, c.archived)]


def _verdict(object_id: str, verdict: str, tlp: str) -> dict:
    """The STIX 2.1 sighting a verdict on an indicator becomes (labelled `false-positive` for
    a false positive), at the indicator's TLP and anonymous, as `accord sight` posts it."""
    obj = intel.sighting(object_id, kind="seen" if verdict == "sighted" else "false-positive")
    # Never shared wider than the indicator it speaks of.
    obj["object_marking_refs"] = [iocs.TLP_MARKINGS[tlp]]
    return obj


@routes.post(ROOT + "objects/{object_id}/verdict")
@page(role=Role.CONTRIBUTOR)
async def verdict(request: web.Request) -> web.Response:
    """Sighted / false positive on a visible indicator: a sighting posted
    through the normal ingest, as the user's organisation, to a collection it writes to."""
    object_id = request.match_info["object_id"].lower()
    choice = field(request, "verdict", limit=20)
    if choice not in ("sighted", "false-positive"):
        raise BadRequest("choose sighted or false positive")
    principal = session_of(request).principal
    async with request.app[POOL].acquire() as conn:
        versions = await console.object_versions(conn, principal, object_id)
    if (not versions or orjson.loads(versions[-1].body).get("type") != "indicator"
            or versions[-1].tlp == "red"):
        raise not_found()  # hidden and absent alike
    try:
        collection_id = uuid.UUID(field(request, "collection", limit=40))
    except ValueError:
        raise BadRequest("choose a collection") from None
    target = next((c for c in await _verdict_targets(request, versions)
                   if c.id == collection_id), None)
    if target is None:
        raise NotFound("no such collection")
    obj = _verdict(object_id, choice, versions[-1].tlp)
    status = await ingest_envelope(request.app[POOL], principal, target,
                                   orjson.dumps({"objects": [obj]}))
    return render(request, "status.html", status=status, rejected=[],
                  complete=status.pending == 0)


async def _writable(request: web.Request) -> list:
    principal = session_of(request).principal
    async with request.app[POOL].acquire() as conn:
        found = await collections.list_collections(conn, principal)
    return [c for c in found if policy.can_write_collection(principal, c.is_member, c.archived)]


@routes.get(ROOT + "share")
@page(role=Role.CONTRIBUTOR)
async def share_form(request: web.Request) -> web.Response:
    """Upload a STIX bundle, a CSV or a TXT of IOCs to a collection."""
    return render(request, "share.html", collections=await _writable(request), error=None,
                  tlps=list(TLP_LABELS))


def _envelope(request: web.Request, name: str, data: bytes, tlp: str, confidence: int | None,
              labels: tuple[str, ...], withhold: bool) -> tuple[bytes, list[dict]]:
    """The envelope a file becomes, and the lines of an IOC list that were not IOCs.

    A bundle's objects get the chosen terms where they state none, as `accord push` does.
    """
    if name.endswith(".json"):
        if not (tlp or confidence is not None or labels or withhold):
            return data, []  # as posted: ingest reports every bad object itself
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise BadRequest("the file is not JSON") from None
        if not (isinstance(doc, dict) and isinstance(doc.get("objects"), list)):
            raise BadRequest("the file is not a STIX bundle")
        objects = iocs.apply_terms(doc["objects"], tlp or None, withhold, list(labels),
                                   confidence)
        return orjson.dumps({"objects": objects}), []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the file is not UTF-8 text") from None
    parsed = iocs.parse_csv(text) if name.endswith(".csv") else iocs.parse_text(text)
    rejected = [{"id": "", "message": f"line {line}: {why}"} for line, why in parsed.rejected]
    if not parsed.iocs:
        raise BadRequest("the file holds no indicator value")
    principal = session_of(request).principal
    ns = iocs.namespace(principal.key_id, hashlib.sha256(data).hexdigest())
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
    options = iocs.IndicatorOptions(tlp=tlp or None, confidence=confidence, labels=labels,
                                    withhold_attribution=withhold, source=name[:100])
    objects = list(iocs.indicators(parsed, ns, created, options))
    return orjson.dumps({"objects": objects}), rejected


@routes.post(ROOT + "share")
@page(role=Role.CONTRIBUTOR)
async def share(request: web.Request) -> web.Response:
    """Post the file through the same ingest function as a TAXII POST; then its status."""
    form = form_of(request)
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise BadRequest("choose a file")
    name = (upload.filename or "").lower()
    if not name.endswith((".json", ".csv", ".txt")):
        raise BadRequest("the file must be a STIX bundle (.json), a CSV or a TXT")
    try:
        collection_id = uuid.UUID(field(request, "collection", limit=40))
    except ValueError:
        raise BadRequest("choose a collection") from None
    target = next((c for c in await _writable(request) if c.id == collection_id), None)
    if target is None:
        raise NotFound("no such collection")
    tlp = field(request, "tlp", required=False, limit=20)
    if tlp and tlp not in TLP_LABELS:
        raise BadRequest("unknown TLP level")
    raw_confidence = field(request, "confidence", required=False, limit=3)
    confidence = int(raw_confidence) if raw_confidence.isdigit() else None
    if confidence is not None and confidence > 100:
        raise BadRequest("confidence is 0 to 100")
    labels = tuple(x.strip() for x in field(request, "labels", required=False).split(",")
                   if x.strip())
    withhold = form.get("attribution") == "withheld"
    data = upload.file.read(request.app[SETTINGS].max_content_length + 1)
    if len(data) > request.app[SETTINGS].max_content_length:
        raise web.HTTPRequestEntityTooLarge(max_size=0, actual_size=len(data))
    body, rejected = _envelope(request, name, data, tlp, confidence, labels, withhold)
    principal = session_of(request).principal
    status = await ingest_envelope(request.app[POOL], principal, target, body,
                                   request.app.get(PATTERNS))
    # Ingest is complete when it answers: the status is shown at once, with the lines of
    # an IOC list that were not IOCs (they never reached ingest, so only this page has them).
    return render(request, "status.html", status=status, rejected=rejected[:1000],
                  complete=status.pending == 0)


@routes.get(ROOT + "status/{status_id}")
@page()
async def status_page(request: web.Request) -> web.Response:
    """A post's status: refreshed until complete, with every per-object failure."""
    try:
        status_id = uuid.UUID(request.match_info["status_id"])
    except ValueError:
        raise not_found() from None
    async with request.app[POOL].acquire() as conn:
        status = await statuses.get_status(conn, session_of(request).principal, status_id,
                                           request.app[SETTINGS].status_retention_hours)
    return render(request, "status.html", status=status, rejected=[],
                  complete=status.pending == 0)
