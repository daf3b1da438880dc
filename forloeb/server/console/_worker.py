"""The worker's pages: "Mine forløb" (overdue first, then by stage), the intake
queue with "take", and starting a new engagement from a referral."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import cast

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from forloeb.engine import ForloebError, Lang

from .._http import context
from ._frame import Form, guarded, in_thread, look, one, posted, read_form
from ._render import page
from ._session import Viewer
from ._views import Card, card

router = APIRouter(include_in_schema=False)
PAGE = 100  # engagements per list page: a page stays fast however large the caseload
WORKERS = ("worker",)
PURPOSE = "webkonsol"


@router.get("/mine")
@guarded
def mine(request: Request, cursor: str | None = None) -> Response:
    """The viewer's own open engagements: overdue ones first, the rest by stage."""
    who = look(request, *WORKERS)
    engine = context(request).engine
    now = datetime.now(UTC)
    overdue = (
        []
        if cursor
        else engine.list(assignee=who.actor.id, stale=True, limit=PAGE, actor=who.actor, purpose=PURPOSE)
    )
    listed = engine.list(assignee=who.actor.id, limit=PAGE, cursor=cursor, actor=who.actor, purpose=PURPOSE)
    cards = [card(engine, e, who.lang, now) for e in listed]
    late = [c for c in (card(engine, e, who.lang, now) for e in overdue) if c.open]
    shown = {c.e.id for c in late}
    rest = [c for c in cards if c.e.id not in shown and c.open]
    groups: dict[str, list[Card]] = {}
    for c in sorted(rest, key=lambda c: (c.workflow, c.stage, c.e.id)):
        groups.setdefault(f"{c.workflow} · {c.stage}", []).append(c)
    return page(
        request, who, "mine.html", lang=who.lang, late=late, groups=groups, next_cursor=listed.next_cursor
    )


@router.get("/intake")
@guarded
def intake(request: Request) -> Response:
    who = look(request, *WORKERS)
    engine = context(request).engine
    now = datetime.now(UTC)
    cards = [card(engine, e, who.lang, now) for e in engine.caseload.intake(actor=who.actor, limit=PAGE)]
    return page(
        request, who, "intake.html", lang=who.lang, cards=cards, flash=request.query_params.get("taken")
    )


@router.post("/engagements/{engagement_id}/take")
async def take(engagement_id: int, request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_take, request, engagement_id, form)


@guarded
def _take(request: Request, engagement_id: int, form: Form) -> Response:
    who = posted(request, form, *WORKERS)
    context(request).engine.caseload.take(engagement_id, actor=who.actor)
    return RedirectResponse(f"/engagements/{engagement_id}", status_code=303)


# -- a new engagement -------------------------------------------------------------------


def _start_page(
    request: Request, who: Viewer, values: Form, error: str | None = None, status: int = 200
) -> Response:
    engine = context(request).engine
    lang = cast(Lang, who.lang)
    workflows = [(n, engine.workflow(n)) for n in engine.workflow_names]
    sources = {n: [(c.key, c.labels.get(lang)) for c in d.referral_sources] for n, d in workflows}
    return page(
        request,
        who,
        "new.html",
        lang=who.lang,
        status=status,
        workflows=[(n, d.labels.get(lang)) for n, d in workflows],
        sources=sources,
        teams=sorted(who.actor.teams),
        values=values,
        error=error,
        once=secrets.token_hex(16),  # a double-click or a resent form starts one engagement
    )


@router.get("/engagements/new")
@guarded
def new(request: Request) -> Response:
    who = look(request, *WORKERS)
    return _start_page(request, who, {"workflow": request.query_params.get("workflow", "")})


@router.post("/engagements/new")
async def start(request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_start, request, form)


@guarded
def _start(request: Request, form: Form) -> Response:
    who = posted(request, form, *WORKERS)
    engine = context(request).engine
    workflow = one(form, "workflow")
    referral = {k: one(form, k).strip() for k in ("referred_by", "reason") if one(form, k).strip()}
    try:
        e = engine.start(
            workflow,
            subject=one(form, "subject").strip(),
            source=one(form, f"source_{workflow}") or one(form, "source"),
            actor=who.actor,
            data=referral or None,
            assignee=who.actor.id,
            team=one(form, "team") or None,
            idempotency_key=one(form, "once") or None,
        )
    except ForloebError as exc:
        return _start_page(request, who, form, error=exc.message(cast(Lang, who.lang)), status=422)
    return RedirectResponse(f"/engagements/{e.id}", status_code=303)


__all__ = ["router"]
