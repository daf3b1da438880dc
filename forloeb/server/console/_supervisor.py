"""The supervisor's pages: the caseload board of a team (columns = the stages
of a method, cards = its open engagements, overdue ones marked and first),
open reminders and escalations with acknowledge and snooze, and reassignment
from the engagement page. Reopening is a next step on a closed engagement."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from forloeb.engine import COPENHAGEN, ForloebError, InvalidData, Lang
from forloeb.words import t
from forloeb.words.labels import stage_label

from .._http import context
from ._engagement import after_write
from ._frame import Form, guarded, in_thread, look, one, posted, read_form
from ._render import page
from ._views import card

router = APIRouter(include_in_schema=False)
LEADERS = ("supervisor", "admin")
COLUMN = 30  # cards per column: a board stays readable and fast on a large caseload
REMINDERS = 200


def _teams(request: Request, who: Any) -> list[str]:
    engine = context(request).engine
    configured = [term.key for term in engine.caseload.taxonomy.teams]
    if configured:
        return configured
    # No configured list: the teams that have open engagements (one counted read).
    seen = {row["team"] for row in engine.caseload.overview(actor=who.actor) if row["team"]}
    return sorted(seen | set(who.actor.teams))


@router.get("/board")
@guarded
def board(request: Request, team: str | None = None, workflow: str | None = None) -> Response:
    who = look(request, *LEADERS)
    engine = context(request).engine
    lang = cast(Lang, who.lang)
    teams = _teams(request, who)
    team = team if team in teams else (teams[0] if teams else None)
    names = engine.workflow_names
    workflow = workflow if workflow is not None and workflow in names else names[0]
    definition = engine.workflow(workflow)
    now = datetime.now(UTC)
    columns = []
    for stage in definition.stages:
        if stage.kind == "final":
            continue
        found = engine.list(workflow=workflow, state=stage.key, team=team, limit=COLUMN + 1, actor=who.actor)
        cards = sorted(
            (card(engine, e, lang, now) for e in found[:COLUMN]),
            key=lambda c: (not c.overdue, c.e.stage_due_at or now),
        )
        columns.append(
            {"key": stage.key, "label": stage_label(definition, stage.key, lang), "cards": cards,
             "more": len(found) > COLUMN}
        )  # fmt: skip
    return page(
        request,
        who,
        "board.html",
        lang=lang,
        teams=teams,
        team=team,
        workflows=[(n, engine.workflow(n).labels.get(lang)) for n in names],
        workflow=workflow,
        columns=columns,
    )


@router.get("/reminders")
@guarded
def reminders(request: Request, mine: str = "1") -> Response:
    who = look(request, *LEADERS)
    engine = context(request).engine
    found = engine.reminders(supervisor=who.actor.id if mine == "1" else None, open_only=True)
    found = sorted(found, key=lambda r: (-r.level, r.raised_at))[:REMINDERS]
    lang = cast(Lang, who.lang)
    # A reminder names its stage by key; both methods share their stage keys' labels.
    labels = {s.key: stage_label(engine.workflow(n), s.key, lang) for n in engine.workflow_names
              for s in engine.workflow(n).stages}  # fmt: skip
    rows = [{"r": r, "stage": labels.get(r.stage, r.stage)} for r in found]
    done = request.query_params.get("done")
    flash = None
    if done and done.partition(":")[0] in ("ack", "snooze") and done.partition(":")[2].isdigit():
        kind, _, rid = done.partition(":")
        flash = t(lang, "w_acknowledged" if kind == "ack" else "w_snoozed", id=rid)
    default_until = (datetime.now(COPENHAGEN) + timedelta(days=7)).date().isoformat()
    return page(
        request,
        who,
        "reminders.html",
        lang=lang,
        rows=rows,
        mine=mine,
        flash=flash,
        default_until=default_until,
    )


@router.post("/reminders/{reminder_id}/ack")
async def acknowledge(reminder_id: int, request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_acknowledge, request, reminder_id, form)


@guarded
def _acknowledge(request: Request, reminder_id: int, form: Form) -> Response:
    who = posted(request, form, *LEADERS)
    context(request).engine.acknowledge_reminder(reminder_id, actor=who.actor)
    return RedirectResponse(f"/reminders?done=ack:{reminder_id}", status_code=303)


@router.post("/reminders/{reminder_id}/snooze")
async def snooze(reminder_id: int, request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_snooze, request, reminder_id, form)


@guarded
def _snooze(request: Request, reminder_id: int, form: Form) -> Response:
    who = posted(request, form, *LEADERS)
    try:
        day = datetime.fromisoformat(one(form, "until")).date()
    except ValueError:
        raise InvalidData("until must be a date", detail_da="udsæt til skal være en dato") from None
    # Until the start of that working day in Copenhagen.
    until = datetime.combine(day, time(8, 0), COPENHAGEN).astimezone(UTC)
    context(request).engine.snooze_reminder(
        reminder_id, until=until, reason=one(form, "reason"), actor=who.actor
    )
    return RedirectResponse(f"/reminders?done=snooze:{reminder_id}", status_code=303)


@router.post("/engagements/{engagement_id}/reassign")
async def reassign(engagement_id: int, request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_reassign, request, engagement_id, form)


@guarded
def _reassign(request: Request, engagement_id: int, form: Form) -> Response:
    who = posted(request, form, *LEADERS)
    version = one(form, "version")
    changes: dict[str, Any] = {}
    if one(form, "assignee").strip():
        changes["assignee"] = one(form, "assignee").strip()
    if one(form, "team").strip():
        changes["team"] = one(form, "team").strip()
    try:
        context(request).engine.caseload.reassign(
            engagement_id, actor=who.actor, reason=one(form, "reason"),
            expected_version=int(version) if version.isdigit() else None, **changes,
        )  # fmt: skip
    except ForloebError as exc:
        return after_write(request, who, engagement_id, form, exc)
    return RedirectResponse(f"/engagements/{engagement_id}?done=reassigned", status_code=303)


__all__ = ["router"]
