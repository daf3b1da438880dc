"""The engagement page: its stage, the stage's questions as a form built from
the method definition, the next steps (with the reason when one is not
possible now), running notes, activities, self-help, consents and the history
as a timeline; and the posts that change it.

Every post carries the version the page showed (the API's ETag): a change
made meanwhile by someone else refuses the post with a clear message and the
page as it is now, never an overwrite. A move whose required answers are
blank is refused here, field by field, before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from forloeb.engine import (
    ConcurrencyError,
    Engagement,
    Event,
    ForloebError,
    GuardFailed,
    Lang,
    TriggerOption,
    WorkflowDefinition,
    consents_of,
)
from forloeb.words import t
from forloeb.words.labels import choice_label, event_text, stage_text, trigger_label

from .._http import context
from ._forms import Field, answers, blank, changed, fields
from ._frame import Form, guarded, in_thread, look, one, posted, read_form
from ._render import local, page
from ._session import Viewer
from ._views import definition_of, is_open

router = APIRouter(include_in_schema=False)
WRITERS = ("worker", "supervisor", "admin")
PURPOSE = "webkonsol"
# What a redirect after a post may say (a key, never text from the request).
DONE = {"saved": "w_saved", "same": "w_nothing_changed", "reassigned": "w_reassigned"}


@dataclass(frozen=True)
class Step:
    """A next step: a button in the stage's form, a link to its own form, or why not now."""

    trigger: str
    label: str
    allowed: bool
    own_form: bool
    reason: str | None


def _steps(
    definition: WorkflowDefinition, e: Engagement, options: list[TriggerOption], lang: Lang
) -> list[Step]:
    stage_keys = {q.key for q in _stage_questions(definition, e)}
    out: list[Step] = []
    for o in options:
        own = _move_questions(definition, o.trigger, e.state)
        outcomes = _move_outcomes(definition, o.trigger, e.state)
        needs_form = bool(own) or len(outcomes) > 1
        problem = o.problem
        # Blank answers of this stage are what the form is for: the button stays.
        answerable = (
            isinstance(problem, GuardFailed)
            and not problem.invalid
            and set(problem.missing) <= stage_keys | {q.key for q in own} | {"outcome"}
        )
        allowed = o.allowed or answerable
        out.append(
            Step(
                trigger=o.trigger,
                label=trigger_label(definition, o.trigger, lang, e.state),
                allowed=allowed,
                own_form=needs_form,
                reason=None if allowed else o.reason(lang),
            )
        )
    return out


def _stage_questions(definition: WorkflowDefinition, e: Engagement) -> tuple[Any, ...]:
    try:
        stage = definition.stage(e.state)
    except KeyError:
        return ()
    return stage.questions if stage.kind == "active" else ()


def _move_questions(definition: WorkflowDefinition, trigger: str, state: str) -> tuple[Any, ...]:
    for tr in definition.transitions_for(trigger):
        if state in tr.source:
            return tr.questions
    return ()


def _move_outcomes(definition: WorkflowDefinition, trigger: str, state: str) -> tuple[str, ...]:
    for tr in definition.transitions_for(trigger):
        if state in tr.source:
            return tr.outcomes
    return ()


def _timeline(definition: WorkflowDefinition, events: list[Event], lang: Lang) -> list[dict[str, Any]]:
    return [
        {"at": ev.occurred_at, "actor": ev.actor, "type": ev.type, "text": event_text(definition, ev, lang)}
        for ev in reversed(events)
    ]


def _facts(definition: WorkflowDefinition, e: Engagement, lang: Lang) -> list[tuple[str, str]]:
    facts = [
        (t(lang, "w_workflow"), definition.labels.get(lang)),
        (t(lang, "w_stage"), stage_text(definition, e, lang)),
        (t(lang, "w_assignee"), e.assignee or t(lang, "w_nobody")),
        (t(lang, "w_supervisor"), e.supervisor or t(lang, "w_nobody")),
        (t(lang, "w_team"), e.team or "-"),
        (t(lang, "w_source"), choice_label(definition, "source", e.source, lang)),
        (t(lang, "w_started"), local(e.created_at)),
    ]
    if e.stage_due_at is not None:
        facts.append((t(lang, "w_due"), local(e.stage_due_at)))
    if e.outcome:
        facts.append((t(lang, "w_outcome"), _outcome(definition, e, lang)))
    return facts


def _outcome(definition: WorkflowDefinition, e: Engagement, lang: Lang) -> str:
    found = definition.outcome(e.outcome) if e.outcome else None
    return found.labels.get(lang) if found is not None else (e.outcome or "")


def show(
    request: Request,
    who: Viewer,
    engagement_id: int,
    *,
    status: int = 200,
    posted_form: Form | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    flash: str | None = None,
    unsaved: Form | None = None,
) -> Response:
    """The engagement page (also after a refused post: the page as it is now, and
    with ``unsaved`` the answers a stale form carried, shown apart so that nothing
    typed is lost and nothing overwrites the newer change)."""
    engine = context(request).engine
    lang = cast(Lang, who.lang)
    e = engine.get(engagement_id, actor=who.actor, purpose=PURPOSE)
    definition = definition_of(engine, e)
    events = engine.history(engagement_id, actor=who.actor, purpose=PURPOSE)
    writable = who.writes and is_open(definition, e)
    options = engine.available_triggers(engagement_id, who.actor) if who.writes else []
    current = e.data.get(e.state, {}) if isinstance(e.data.get(e.state), Mapping) else {}
    questions: list[Field] = fields(
        definition, _stage_questions(definition, e), lang, current, posted=posted_form, errors=errors
    )
    kept = changed(answers(_stage_questions(definition, e), unsaved), current) if unsaved else {}
    lost = [(f.label, kept[f.key]) for f in questions if f.key in kept]
    if unsaved and one(unsaved, "text").strip():
        lost.append((t(lang, "w_note"), one(unsaved, "text")))
    # Read off the engagement already read (and logged) for this page: one access-log entry less.
    consents = [c.to_dict() for c in consents_of(e.data)] if who.writes else []
    notes = [ev for ev in events if ev.type == "note"]
    activities = [ev for ev in events if ev.type == "activity"]
    activity_kinds = [(k.key, k.labels.get(lang)) for k in definition.activity_kinds]
    self_help = definition.self_help
    level = e.data.get("self_help", {}).get("level") if isinstance(e.data.get("self_help"), Mapping) else None
    return page(
        request,
        who,
        "engagement.html",
        lang=lang,
        status=status,
        e=e,
        title=t(lang, "w_engagement", id=e.id),
        facts=_facts(definition, e, lang),
        questions=questions,
        # A closed engagement has steps too (a supervisor reopens it).
        steps=_steps(definition, e, options, lang),
        writable=writable,
        notes=notes,
        activities=activities,
        activity_kinds=activity_kinds,
        activity_label=lambda k: choice_label(definition, "kind", k, lang),
        self_help_levels=[(c.key, c.labels.get(lang)) for c in self_help.levels] if self_help else [],
        self_help_level=level,
        self_help_here=self_help is not None and (not self_help.stages or e.state in self_help.stages),
        consents=consents,
        partners=[(c.key, c.labels.get(lang)) for c in definition.partners],
        partner_label=lambda k: choice_label(definition, "receiver", k, lang),
        timeline=_timeline(definition, events, lang),
        supervisor=who.has("supervisor", "admin"),
        teams=context(request).engine.caseload.taxonomy.teams if who.has("supervisor", "admin") else (),
        error=error,
        flash=flash,
        unsaved=lost,
    )


@router.get("/engagements/{engagement_id}")
@guarded
def engagement(request: Request, engagement_id: int, done: str | None = None) -> Response:
    who = look(request)
    flash = t(cast(Lang, who.lang), DONE[done]) if done in DONE else None
    return show(request, who, engagement_id, flash=flash)


def _version(form: Form) -> int | None:
    value = one(form, "version")
    return int(value) if value.isdigit() else None


def field_errors(exc: GuardFailed, lang: Lang) -> dict[str, str]:
    """What to say at each field a refused move names: blank ones must be answered;
    a wrong answer gets the engine's message (which says what is allowed)."""
    errors = dict.fromkeys(exc.missing, t(lang, "w_required_blank"))
    errors.update({key: exc.message(lang) for key, _, _ in exc.invalid})
    return errors


def after_write(request: Request, who: Viewer, engagement_id: int, form: Form, exc: ForloebError) -> Response:
    """The page again after a refused write: stale (409), or the engine's message (422)."""
    lang = cast(Lang, who.lang)
    if isinstance(exc, ConcurrencyError):
        return show(request, who, engagement_id, status=409, error=t(lang, "w_stale"), unsaved=form)
    errors: dict[str, str] = {}
    if isinstance(exc, GuardFailed):
        errors = field_errors(exc, lang)
    return show(
        request, who, engagement_id, status=422, posted_form=form, errors=errors, error=exc.message(lang)
    )


# -- the stage's answers and the next step ------------------------------------------------


@router.post("/engagements/{engagement_id}/answers")
async def post_answers(engagement_id: int, request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_answers, request, engagement_id, form)


@guarded
def _answers(request: Request, engagement_id: int, form: Form) -> Response:
    who = posted(request, form, *WRITERS)
    engine = context(request).engine
    lang = cast(Lang, who.lang)
    version = _version(form)
    e = engine.get(engagement_id, actor=who.actor, purpose=PURPOSE)
    if version is not None and e.version != version:
        return show(request, who, engagement_id, status=409, error=t(lang, "w_stale"), unsaved=form)
    definition = definition_of(engine, e)
    questions = _stage_questions(definition, e)
    current = e.data.get(e.state, {}) if isinstance(e.data.get(e.state), Mapping) else {}
    given = answers(questions, form)
    new = changed(given, current)
    action = one(form, "action")
    try:
        if action.startswith("fire:"):
            trigger = action.removeprefix("fire:")
            asked = {q.key for q in questions}
            merged = {**current, **given}
            missing = [
                k
                for k in definition.required_to_leave(trigger, e.state)
                if k in asked and blank(merged.get(k))
            ]
            if missing:
                # Nothing is written: each blank required answer is marked where it is asked.
                errors = dict.fromkeys(missing, t(lang, "w_required_blank"))
                return show(
                    request, who, engagement_id, status=422, posted_form=form, errors=errors,
                    error=t(lang, "w_fix_below"),
                )  # fmt: skip
            engine.fire(engagement_id, trigger, actor=who.actor, data=new or None, expected_version=version)
            return RedirectResponse(f"/engagements/{engagement_id}", status_code=303)
        if not new:
            return RedirectResponse(f"/engagements/{engagement_id}?done=same", status_code=303)
        engine.record_details(engagement_id, new, actor=who.actor, expected_version=version)
    except ForloebError as exc:
        return after_write(request, who, engagement_id, form, exc)
    return RedirectResponse(f"/engagements/{engagement_id}?done=saved", status_code=303)


# -- notes, activities, self-help, consents -------------------------------------------------


def _simple_post(path: str, work: Any) -> None:
    """A post that writes one thing and comes back to the page (or shows why not)."""

    async def endpoint(engagement_id: int, request: Request) -> Response:
        form = await read_form(request)
        return await in_thread(_run, request, engagement_id, form)

    @guarded
    def _run(request: Request, engagement_id: int, form: Form) -> Response:
        who = posted(request, form, *WRITERS)
        try:
            work(context(request).engine, who, engagement_id, form, _version(form))
        except ForloebError as exc:
            return after_write(request, who, engagement_id, form, exc)
        return RedirectResponse(f"/engagements/{engagement_id}?done=saved", status_code=303)

    router.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)


def _note(engine: Any, who: Viewer, eid: int, form: Form, version: int | None) -> None:
    engine.add_note(eid, one(form, "text"), actor=who.actor)


def _activity(engine: Any, who: Viewer, eid: int, form: Form, version: int | None) -> None:
    engine.record_activity(
        eid, one(form, "kind"), actor=who.actor, description=one(form, "description").strip() or None,
        expected_version=version,
    )  # fmt: skip


def _self_help(engine: Any, who: Viewer, eid: int, form: Form, version: int | None) -> None:
    engine.progress.record_self_help(eid, one(form, "level"), actor=who.actor, expected_version=version)


def _listed(form: Form, key: str) -> list[str]:
    raw = form.get(key, [])
    items = raw if isinstance(raw, list) else [raw]
    return [v.strip() for item in items for v in item.split(",") if v.strip()]


def _consent(engine: Any, who: Viewer, eid: int, form: Form, version: int | None) -> None:
    engine.give_consent(
        eid,
        actor=who.actor,
        information=_listed(form, "information"),
        to=_listed(form, "to"),
        purpose=one(form, "purpose"),
        given_on=one(form, "given_on") or None,
        how=one(form, "how") or "written",
    )


def _withdraw(engine: Any, who: Viewer, eid: int, form: Form, version: int | None) -> None:
    consent = one(form, "consent")
    engine.withdraw_consent(
        eid,
        int(consent) if consent.isdigit() else 0,
        actor=who.actor,
        withdrawn_on=one(form, "withdrawn_on") or None,
        reason=one(form, "reason") or None,
    )


_simple_post("/engagements/{engagement_id}/notes", _note)
_simple_post("/engagements/{engagement_id}/activities", _activity)
_simple_post("/engagements/{engagement_id}/self-help", _self_help)
_simple_post("/engagements/{engagement_id}/consents", _consent)
_simple_post("/engagements/{engagement_id}/consents/withdraw", _withdraw)

__all__ = ["WRITERS", "after_write", "field_errors", "router", "show"]
