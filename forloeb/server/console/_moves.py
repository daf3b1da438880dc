"""A next step with questions of its own (a pause's reason, whom a referral goes
to, how it ended) on its own page; and a handover, where the consent check is
shown before anything leaves: the receiver is chosen first, then the page
lists the consents in force that cover that receiver, and the legal basis is
chosen from those and the secretariat's statutes (never typed as free text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from forloeb.engine import (
    STATUTES,
    ConcurrencyError,
    Engagement,
    ForloebError,
    GuardFailed,
    Lang,
    Question,
    Transition,
    WorkflowDefinition,
)
from forloeb.words import t
from forloeb.words.labels import trigger_label

from .._http import context
from ._engagement import PURPOSE, WRITERS, after_write, field_errors
from ._forms import answers, blank, fields
from ._frame import Form, guarded, in_thread, look, one, posted, read_form
from ._render import download, page
from ._session import Viewer
from ._views import definition_of

router = APIRouter(include_in_schema=False)
RECEIVER_KEYS = ("receiver",)
BASIS = "legal_basis"


def _spec(definition: WorkflowDefinition, trigger: str, state: str) -> Transition | None:
    return next((s for s in definition.transitions_for(trigger) if state in s.source), None)


def _answered(e: Engagement) -> Mapping[str, Any]:
    record = e.data.get(e.state)
    return record if isinstance(record, Mapping) else {}


def _unanswered(definition: WorkflowDefinition, e: Engagement, trigger: str) -> list[Question]:
    """The stage's required questions still blank that this step needs: asked here too,
    so that one form completes the step."""
    try:
        stage = definition.stage(e.state)
    except KeyError:
        return []
    needed = set(definition.required_to_leave(trigger, e.state))
    answered = _answered(e)
    return [q for q in stage.questions if q.key in needed and blank(answered.get(q.key))]


def _move_page(
    request: Request,
    who: Viewer,
    engagement_id: int,
    trigger: str,
    *,
    form: Form | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    engine = context(request).engine
    lang = cast(Lang, who.lang)
    e = engine.get(engagement_id, actor=who.actor, purpose=PURPOSE)
    definition = definition_of(engine, e)
    spec = _spec(definition, trigger, e.state)
    if spec is None:
        return RedirectResponse(f"/engagements/{engagement_id}", status_code=303)
    values: Form = dict(form or {})
    receiver = one(values, "q_receiver") or request.query_params.get("receiver", "")
    if receiver:
        values["q_receiver"] = receiver
    asks_basis = any(q.key == BASIS for q in spec.questions)
    questions = [*_unanswered(definition, e, trigger), *(q for q in spec.questions if q.key != BASIS)]
    drawn = fields(definition, questions, lang, _answered(e), posted=values, errors=errors)
    covering: list[dict[str, Any]] = []
    if asks_basis and receiver:
        consents = engine.consents(engagement_id, actor=who.actor, purpose=PURPOSE)
        covering = [c.to_dict() for c in consents if c.covers(receiver)]
    outcomes = [
        (key, found.labels.get(lang))
        for key in spec.outcomes
        if (found := definition.outcome(key)) is not None
    ]
    return page(
        request,
        who,
        "move.html",
        lang=lang,
        status=status,
        e=e,
        trigger=trigger,
        title=trigger_label(definition, trigger, lang, e.state),
        description=spec.description.get(lang) if spec.description else None,
        fields=drawn,
        asks_basis=asks_basis,
        receiver=receiver,
        receiver_label=next((c.labels.get(lang) for c in definition.partners if c.key == receiver), receiver),
        partners=[(c.key, c.labels.get(lang)) for c in definition.partners],
        covering=covering,
        statutes=[(key, label.get(lang)) for key, label in STATUTES.items()],
        basis=one(values, "basis"),
        reference=one(values, "reference"),
        outcomes=outcomes if len(outcomes) > 1 else [],
        outcome=one(values, "outcome"),
        outcome_text=one(values, "outcome_text"),
        basis_error=(errors or {}).get(BASIS),
        error=error,
    )


@router.get("/engagements/{engagement_id}/move/{trigger}")
@guarded
def move(request: Request, engagement_id: int, trigger: str) -> Response:
    who = look(request, *WRITERS)
    return _move_page(request, who, engagement_id, trigger)


@router.post("/engagements/{engagement_id}/move/{trigger}")
async def post_move(engagement_id: int, trigger: str, request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_move, request, engagement_id, trigger, form)


@guarded
def _move(request: Request, engagement_id: int, trigger: str, form: Form) -> Response:
    who = posted(request, form, *WRITERS)
    engine = context(request).engine
    lang = cast(Lang, who.lang)
    e = engine.get(engagement_id, actor=who.actor, purpose=PURPOSE)
    version = one(form, "version")
    if version.isdigit() and int(version) != e.version:
        return _move_page(
            request, who, engagement_id, trigger, form=form, error=t(lang, "w_stale"), status=409
        )
    definition = definition_of(engine, e)
    spec = _spec(definition, trigger, e.state)
    if spec is None:
        return RedirectResponse(f"/engagements/{engagement_id}", status_code=303)
    asked = [*_unanswered(definition, e, trigger), *(q for q in spec.questions if q.key != BASIS)]
    data: dict[str, Any] = answers(asked, form)
    if any(q.key == BASIS for q in spec.questions) and one(form, "basis"):
        basis = one(form, "basis")
        reference = one(form, "reference").strip()
        data[BASIS] = f"{basis}:{reference}" if basis.startswith("statute:") and reference else basis
    for key in ("outcome", "outcome_text"):
        if one(form, key).strip():
            data[key] = one(form, key).strip()
    try:
        engine.fire(
            engagement_id, trigger, actor=who.actor, data=data or None,
            expected_version=int(version) if version.isdigit() else None,
        )  # fmt: skip
    except ForloebError as exc:
        if isinstance(exc, ConcurrencyError):
            return after_write(request, who, engagement_id, form, exc)
        errors: dict[str, str] = {}
        if isinstance(exc, GuardFailed):
            errors = field_errors(exc, lang)
        return _move_page(
            request,
            who,
            engagement_id,
            trigger,
            form=form,
            errors=errors,
            error=exc.message(lang),
            status=422,
        )
    return RedirectResponse(f"/engagements/{engagement_id}", status_code=303)


@router.post("/engagements/{engagement_id}/handover-package")
async def handover_package(engagement_id: int, request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_package, request, engagement_id, form)


@guarded
def _package(request: Request, engagement_id: int, form: Form) -> Response:
    """The handover package (Markdown) of an engagement handed over: recorded as an event."""
    who = posted(request, form, *WRITERS)
    package = context(request).engine.export_handover(
        engagement_id, actor=who.actor, format="md", lang=cast(Lang, who.lang),
        purpose=one(form, "purpose").strip() or None,
    )  # fmt: skip
    return download(
        package.text,
        "text/markdown; charset=utf-8",
        f"forloeb-{engagement_id}-overdragelse.md",
        **{"Forloeb-Package-SHA256": package.sha256},
    )


__all__ = ["router"]
