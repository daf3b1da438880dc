"""``/v1/engagements``: start, get, list, triggers, history, fire, notes, records,
activities, consents and the handover export: the Engine's methods, one each.

Writes take ``If-Match`` (the engine's ``expected_version``: 412 when stale)
and ``Idempotency-Key`` (the engine's idempotency key: a retried request
returns the first response). Every response carrying an engagement carries
its version as a strong ``ETag``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ._http import (
    Authenticated,
    Caller,
    context,
    engagement_response,
    etag,
    expected_version,
    idempotency_key,
    json_response,
    lang_of,
)
from ._openapi import ENGAGEMENT_HEADERS, WRITE_PARAMETERS, problems
from ._schemas import (
    ActivityBody,
    ConsentBody,
    ConsentOut,
    EngagementOut,
    EventOut,
    FireBody,
    HandoverBody,
    NoteBody,
    RecordBody,
    StartBody,
    TriggerOut,
    WithdrawBody,
)

router = APIRouter(prefix="/v1/engagements", tags=["engagements"])

_ONE: dict[int | str, dict[str, Any]] = {"200": {"headers": ENGAGEMENT_HEADERS}}
_WRITE: dict[str, Any] = {"parameters": WRITE_PARAMETERS}
Purpose = Query(None, description="Why you read it (kept in the access log).")


@router.post(
    "",
    status_code=201,
    response_model=EngagementOut,
    responses={"201": {"headers": ENGAGEMENT_HEADERS}, **problems(403, 404, 409, 422)},
    openapi_extra={"parameters": WRITE_PARAMETERS[1:]},
    summary="Start an engagement at its first stage (a referral)",
)
def start(body: StartBody, request: Request, caller: Caller = Authenticated) -> Response:
    actor = caller()
    e = context(request).engine.start(
        body.workflow,
        subject=body.subject,
        source=body.source,
        actor=actor,
        data=body.data,
        assignee=body.assignee,
        supervisor=body.supervisor,
        team=body.team,
        tags=body.tags,
        idempotency_key=idempotency_key(request),
    )
    return engagement_response(e, 201, location=True)


@router.get(
    "",
    response_model=list[EngagementOut],
    responses=problems(403, 422),
    summary="Engagements the caller may see, filtered, a page at a time",
)
def list_engagements(
    request: Request,
    workflow: str | None = None,
    state: str | None = None,
    assignee: str | None = None,
    supervisor: str | None = None,
    team: str | None = None,
    tag: str | None = None,
    subject: str | None = None,
    stale: bool = False,
    limit: int = Query(50, ge=1, le=1000),
    cursor: str | None = Query(None, description="The Forloeb-Next-Cursor of the page before."),
    purpose: str | None = Purpose,
    caller: Caller = Authenticated,
) -> Response:
    actor = caller()
    page = context(request).engine.list(
        workflow=workflow,
        state=state,
        assignee=assignee,
        supervisor=supervisor,
        team=team,
        tag=tag,
        subject=subject,
        stale=stale,
        limit=limit,
        cursor=cursor,
        actor=actor,
        purpose=purpose,
    )
    headers = {}
    if page.next_cursor:
        # The body keeps the CLI's shape (a list); the next page's cursor rides beside it.
        headers["Forloeb-Next-Cursor"] = page.next_cursor
        headers["Link"] = f'<?cursor={page.next_cursor}>; rel="next"'
    return json_response([e.to_dict() for e in page], headers=headers)


@router.get(
    "/{engagement_id}",
    response_model=EngagementOut,
    responses={**_ONE, "304": {"description": "Not modified (If-None-Match)"}, **problems(403, 404)},
    summary="One engagement (the read is access-logged)",
)
def get(
    engagement_id: int, request: Request, purpose: str | None = Purpose, caller: Caller = Authenticated
) -> Response:
    actor = caller()
    e = context(request).engine.get(engagement_id, actor=actor, purpose=purpose)
    if request.headers.get("if-none-match", "").strip() in (etag(e), f"W/{etag(e)}"):
        return Response(status_code=304, headers={"ETag": etag(e)})
    return engagement_response(e)


@router.get(
    "/{engagement_id}/triggers",
    response_model=list[TriggerOut],
    responses=problems(403, 404),
    summary="What can happen next, and why not when it cannot",
)
def triggers(engagement_id: int, request: Request, caller: Caller = Authenticated) -> Response:
    actor = caller()
    options = context(request).engine.available_triggers(engagement_id, actor)
    lang = lang_of(request)
    return json_response([o.to_dict(lang) for o in options], headers={"Content-Language": lang})


@router.get(
    "/{engagement_id}/history",
    response_model=list[EventOut],
    responses=problems(403, 404),
    summary="The event log, oldest first",
)
def history(
    engagement_id: int, request: Request, purpose: str | None = Purpose, caller: Caller = Authenticated
) -> Response:
    actor = caller()
    events = context(request).engine.history(engagement_id, actor=actor, purpose=purpose)
    return json_response([ev.to_dict() for ev in events])


@router.post(
    "/{engagement_id}/fire",
    response_model=EngagementOut,
    responses={**_ONE, **problems(403, 404, 409, 412, 422)},
    summary="Fire a trigger (move the engagement on)",
    openapi_extra=_WRITE,
)
def fire(engagement_id: int, body: FireBody, request: Request, caller: Caller = Authenticated) -> Response:
    actor = caller()
    e = context(request).engine.fire(
        engagement_id,
        body.trigger,
        actor=actor,
        data=body.data,
        note=body.note,
        expected_version=expected_version(request),
        idempotency_key=idempotency_key(request),
    )
    return engagement_response(e)


@router.post(
    "/{engagement_id}/notes",
    response_model=EngagementOut,
    responses={**_ONE, **problems(403, 404, 409, 412, 422)},
    summary="Add a dated running note (notatpligt)",
    openapi_extra=_WRITE,
)
def note(engagement_id: int, body: NoteBody, request: Request, caller: Caller = Authenticated) -> Response:
    actor = caller()
    e = context(request).engine.add_note(
        engagement_id,
        body.text,
        actor=actor,
        expected_version=expected_version(request),
        idempotency_key=idempotency_key(request),
    )
    return engagement_response(e)


@router.post(
    "/{engagement_id}/records",
    response_model=EngagementOut,
    responses={**_ONE, **problems(403, 404, 409, 412, 422)},
    summary="Record answers of the current stage, the engagement's fields, or the self-help level",
    openapi_extra=_WRITE,
)
def record(
    engagement_id: int, body: RecordBody, request: Request, caller: Caller = Authenticated
) -> Response:
    actor = caller()
    engine = context(request).engine
    options: dict[str, Any] = {
        "actor": actor,
        "expected_version": expected_version(request),
        "idempotency_key": idempotency_key(request),
    }
    if body.self_help is not None and not body.data:
        e = engine.progress.record_self_help(engagement_id, body.self_help, **options)
    elif body.fields:
        e = engine.progress.update_fields(engagement_id, body.data, **options)
    else:
        e = engine.record_details(engagement_id, body.data, **options)
    if body.self_help is not None and body.data:
        # Both: the answers first, then the level, each its own event (as the CLI does).
        e = engine.progress.record_self_help(engagement_id, body.self_help, actor=actor)
    return engagement_response(e)


@router.post(
    "/{engagement_id}/activities",
    response_model=EngagementOut,
    responses={**_ONE, **problems(403, 404, 409, 412, 422)},
    summary="Record an activity of the action stage",
    openapi_extra=_WRITE,
)
def activity(
    engagement_id: int, body: ActivityBody, request: Request, caller: Caller = Authenticated
) -> Response:
    actor = caller()
    e = context(request).engine.record_activity(
        engagement_id,
        body.kind,
        actor=actor,
        description=body.description,
        data=body.data,
        expected_version=expected_version(request),
        idempotency_key=idempotency_key(request),
    )
    return engagement_response(e)


@router.get(
    "/{engagement_id}/consents",
    response_model=list[ConsentOut],
    responses=problems(403, 404),
    summary="The consents recorded on the engagement",
)
def consents(
    engagement_id: int, request: Request, purpose: str | None = Purpose, caller: Caller = Authenticated
) -> Response:
    actor = caller()
    found = context(request).engine.consents(engagement_id, actor=actor, purpose=purpose)
    return json_response([c.to_dict() for c in found])


@router.post(
    "/{engagement_id}/consents",
    response_model=EngagementOut,
    responses={**_ONE, **problems(403, 404, 422)},
    summary="Record the resident's consent to share information",
    openapi_extra={"parameters": WRITE_PARAMETERS[1:]},
)
def give_consent(
    engagement_id: int, body: ConsentBody, request: Request, caller: Caller = Authenticated
) -> Response:
    actor = caller()
    e = context(request).engine.give_consent(
        engagement_id,
        actor=actor,
        information=body.information,
        to=body.to,
        purpose=body.purpose,
        given_on=body.given_on,
        how=body.how,
        idempotency_key=idempotency_key(request),
    )
    return engagement_response(e)


@router.post(
    "/{engagement_id}/consents/{consent_id}/withdraw",
    response_model=EngagementOut,
    responses={**_ONE, **problems(403, 404, 422)},
    summary="Record that a consent was withdrawn",
    openapi_extra={"parameters": WRITE_PARAMETERS[1:]},
)
def withdraw_consent(
    engagement_id: int, consent_id: int, body: WithdrawBody, request: Request, caller: Caller = Authenticated
) -> Response:
    actor = caller()
    e = context(request).engine.withdraw_consent(
        engagement_id,
        consent_id,
        actor=actor,
        withdrawn_on=body.withdrawn_on,
        reason=body.reason,
        idempotency_key=idempotency_key(request),
    )
    return engagement_response(e)


@router.post(
    "/{engagement_id}/handover",
    responses={
        "200": {
            "description": "The handover package (JSON or Markdown); recorded as an event",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/markdown": {"schema": {"type": "string"}},
            },
        },
        **problems(403, 404, 409, 422),
    },
    summary="Build the handover package from the event log (recorded as an event)",
)
def handover(
    engagement_id: int, body: HandoverBody, request: Request, caller: Caller = Authenticated
) -> Response:
    actor = caller()
    package = context(request).engine.export_handover(
        engagement_id,
        actor=actor,
        format=body.format,
        lang=lang_of(request),
        receiver=body.receiver,
        purpose=body.purpose,
    )
    media = "application/json" if body.format == "json" else "text/markdown; charset=utf-8"
    headers = {"Forloeb-Package-SHA256": package.sha256}
    return Response(package.text.encode(), media_type=media, headers=headers)


__all__ = ["router"]
