"""The privacy review page: the objects the personal-data screen held, with the findings
highlighted; release, release redacted or reject them with a reason. The same service, and
so the same authorisation, as /api/v1/review (README "Privacy")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson
from aiohttp import web
from pydantic import ValidationError

from schemas import admin as api
from schemas.principal import Role
from server.admin import service
from server.console.i18n import N_
from server.console.pages import ROOT, field, not_found, page, redirect, render, session_of, table
from server.db.pool import POOL
from server.errors import BadRequest
from server.ingest import review as reasons
from server.ingest.review import DECISIONS

routes = table()

# What each reason reads as on the page (the API and the CLI show the reason itself).
REASONS = {
    reasons.EMAIL: N_("e-mail address"), reasons.PHONE: N_("phone number"),
    reasons.IBAN: N_("IBAN"), reasons.CARD: N_("payment card number"),
    reasons.POSTAL: N_("postal address"), reasons.VICTIM_EMAIL: N_("victim's e-mail address"),
    reasons.USER_ACCOUNT: N_("user account"), reasons.INDIVIDUAL: N_("a named individual"),
    reasons.EMAIL_BODY: N_("e-mail body"),
    reasons.X509_INDIVIDUAL: N_("an individual's certificate subject"),
    reasons.VICTIM_IP: N_("victim-side IP address"),
    **{reason: N_("national identifier") for reason in reasons.NATIONAL_IDS},
}
_FREE_TEXT = frozenset({reasons.EMAIL, reasons.PHONE, reasons.IBAN, reasons.CARD,
                        reasons.POSTAL, *reasons.NATIONAL_IDS})


@dataclass(frozen=True, slots=True)
class Row:
    """One top-level property of a held object as the reviewer sees it: its text cut into
    (text, reason or None) segments, and the findings within it."""

    name: str
    segments: list[tuple[str, str | None]]
    findings: list[api.ReviewFinding]


def _top(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def rows(obj: dict, findings: list[api.ReviewFinding]) -> list[Row]:
    """The object's properties, flagged ones first, their personal data marked: the
    matched spans of free text, a value that identifies a person whole."""
    out = []
    for name, value in obj.items():
        mine = [f for f in findings if _top(f.property) == name]
        text = value if isinstance(value, str) else orjson.dumps(
            value, option=orjson.OPT_INDENT_2).decode()
        segments: list[tuple[str, str | None]] = [(text, None)]
        whole = [f.reason for f in mine if f.reason not in _FREE_TEXT]
        if whole:
            segments = [(text, whole[0])]
        elif mine and isinstance(value, str):
            segments, at = [], 0
            for start, end, reason in reasons.text_spans(value):
                segments += [(value[at:start], None), (value[start:end], reason)]
                at = end
            segments.append((value[at:], None))
        elif mine:  # free text nested in a list or an object: the whole value
            segments = [(text, mine[0].reason)]
        out.append(Row(name, [s for s in segments if s[0]], mine))
    return sorted(out, key=lambda r: not r.findings)


def _held_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["held_id"])
    except ValueError:
        raise not_found() from None


@routes.get(ROOT + "review")
@page(role=Role.ORG_ADMIN)
async def queue(request: web.Request) -> web.Response:
    """The review queue the organisation may decide, oldest first, with the findings."""
    found = await service.review_queue(request.app[POOL], session_of(request).principal,
                                       api.ReviewQuery(limit=200))
    return render(request, "review.html", held=found.objects, reasons=REASONS,
                  done=request.query.get("done", "")[:20])


@routes.get(ROOT + "review/{held_id}")
@page(role=Role.ORG_ADMIN)
async def show(request: web.Request) -> web.Response:
    """One held object with its personal data highlighted, and the decision forms."""
    held = await service.review_show(request.app[POOL], session_of(request).principal,
                                     _held_id(request))
    return render(request, "review_object.html", held=held, reasons=REASONS,
                  rows=rows(held.object, held.findings), decisions=DECISIONS)


@routes.post(ROOT + "review/{held_id}")
@page(role=Role.ORG_ADMIN)
async def decide(request: web.Request) -> web.Response:
    """Release, redact or reject the held object, with the reviewer's reason."""
    held_id = _held_id(request)
    decision = field(request, "decision", limit=20)
    if decision not in DECISIONS:
        raise BadRequest("choose release, redact or reject")
    try:
        reason = api.ReviewDecisionRequest(reason=field(request, "reason", limit=500)).reason
    except ValidationError:
        raise BadRequest("give the reason in a line (1 to 500 characters)") from None
    await service.review_decide(request.app[POOL], session_of(request).principal, held_id,
                                decision, reason)
    return redirect(f"{ROOT}review?done={decision}")
