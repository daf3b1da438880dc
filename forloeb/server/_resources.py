"""Workflows, reminders, audit, the caller and health: the rest of the Engine,
one route per method."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import PlainTextResponse, Response

from forloeb.engine import Actor, InvalidData, PermissionDenied, UnknownWorkflow
from forloeb.persistence import SCHEMA_HEAD

from ._http import Authenticated, Caller, context, json_response, lang_of
from ._openapi import problems
from ._schemas import (
    AccessRequestBody,
    AuditPageOut,
    HealthOut,
    MeOut,
    ReminderOut,
    SnoozeBody,
    TimelineOut,
    WorkflowSummary,
)

workflows = APIRouter(prefix="/v1/workflows", tags=["workflows"])
reminders = APIRouter(prefix="/v1/reminders", tags=["reminders"])
audit = APIRouter(prefix="/v1/audit", tags=["audit"])
me = APIRouter(prefix="/v1", tags=["caller"])
health = APIRouter(tags=["health"])

Purpose = Query(None, description="Why you read it (kept in the access log).")
_OBJECT: dict[int | str, dict[str, Any]] = {
    "200": {"content": {"application/json": {"schema": {"type": "object"}}}}
}


# -- workflows (the definitions; no engagement data) -------------------------------------


def _definitions(request: Request) -> builtins.list[Any]:
    engine = context(request).engine
    found = []
    for name in engine.workflow_names:
        newest = engine.workflow(name).version
        for version in range(1, newest + 1):
            try:
                found.append(engine.workflow(name, version))
            except UnknownWorkflow:
                continue
    return found


@workflows.get("", response_model=list[WorkflowSummary], summary="The methods and their versions")
def list_workflows(request: Request, caller: Caller = Authenticated) -> Response:
    caller()  # no engagement data, but still only for the register's staff
    return json_response(
        [{"name": d.name, "version": d.version, "labels": d.labels.as_dict()} for d in _definitions(request)]
    )


@workflows.get(
    "/{name}",
    responses={**_OBJECT, **problems(404)},
    summary="One method: stages, questions, moves, results (as `forloeb workflows show --json`)",
)
def show_workflow(
    name: str, request: Request, version: int | None = Query(None, ge=1), caller: Caller = Authenticated
) -> Response:
    from forloeb.workflows import definition_dict

    caller()

    return json_response(definition_dict(context(request).engine.workflow(name, version)))


@workflows.get(
    "/{name}/diagram",
    response_class=PlainTextResponse,
    responses={
        "200": {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problems(404),
    },
    summary="A Mermaid stateDiagram-v2 of the method (labels in the Accept-Language)",
)
def diagram(
    name: str, request: Request, version: int | None = Query(None, ge=1), caller: Caller = Authenticated
) -> Response:
    from forloeb.workflows import mermaid

    caller()

    definition = context(request).engine.workflow(name, version)
    return PlainTextResponse(mermaid(definition, lang_of(request)))


# -- reminders ---------------------------------------------------------------------------


def _reminder_scope(request: Request, actor: Actor, assignee: str | None) -> str | None:
    """Supervisors and auditors see every reminder; a worker their own (the assignee
    filter is theirs); anyone else none. The engine's reminder listing names no
    actor, so the API applies the visibility rule's spirit here."""
    acting = context(request).engine.staff.resolve(actor)
    if acting.roles & {"supervisor", "auditor"}:
        return assignee
    if "worker" in acting.roles and assignee in (None, acting.id):
        return acting.id
    raise PermissionDenied(acting.id, acting.roles, "list reminders", ("supervisor", "auditor"))


@reminders.get("", response_model=list[ReminderOut], responses=problems(403), summary="Reminders, filtered")
def list_reminders(
    request: Request,
    supervisor: str | None = None,
    assignee: str | None = None,
    engagement_id: int | None = None,
    open_only: bool = False,
    caller: Caller = Authenticated,
) -> Response:
    actor = caller()
    assignee = _reminder_scope(request, actor, assignee)
    found = context(request).engine.reminders(
        supervisor=supervisor, assignee=assignee, engagement_id=engagement_id, open_only=open_only
    )
    return json_response([r.to_dict() for r in found])


@reminders.post(
    "/{reminder_id}/ack",
    response_model=ReminderOut,
    responses=problems(403, 404),
    summary="Acknowledge a reminder (acknowledging twice keeps the first)",
)
def acknowledge(reminder_id: int, request: Request, caller: Caller = Authenticated) -> Response:
    actor = caller()
    return json_response(context(request).engine.acknowledge_reminder(reminder_id, actor=actor).to_dict())


@reminders.post(
    "/{reminder_id}/snooze",
    response_model=ReminderOut,
    responses=problems(403, 404),
    summary="Hold the next escalation until a time, for a reason",
)
def snooze(reminder_id: int, body: SnoozeBody, request: Request, caller: Caller = Authenticated) -> Response:
    actor = caller()
    try:
        until = datetime.fromisoformat(body.until)
    except ValueError:
        raise InvalidData(
            f"until must be an ISO 8601 time, not {body.until!r}",
            detail_da=f"until skal være et ISO 8601-tidspunkt, ikke {body.until!r}",
        ) from None
    r = context(request).engine.snooze_reminder(reminder_id, until=until, reason=body.reason, actor=actor)
    return json_response(r.to_dict())


# -- audit -----------------------------------------------------------------------------


@audit.get(
    "/events",
    response_model=AuditPageOut,
    responses=problems(403),
    summary="Who did what, when, to which engagement (as `forloeb audit query --format json`)",
)
def audit_query(
    request: Request,
    engagement_id: int | None = None,
    workflow: str | None = None,
    by: str | None = Query(None, alias="actor", description="Only what this staff member did."),
    type: str | None = None,
    trigger: str | None = None,
    state: str | None = None,
    since: str | None = None,
    until: str | None = None,
    tag: str | None = None,
    team: str | None = None,
    order: Literal["asc", "desc"] = "asc",
    limit: int | None = Query(None, ge=1),
    cursor: str | None = None,
    purpose: str | None = Purpose,
    caller: Caller = Authenticated,
) -> Response:
    actor = caller()
    page = context(request).engine.audit.query(
        actor,
        engagement_id=engagement_id,
        workflow=workflow,
        actor=by,
        type=type,
        trigger=trigger,
        state=state,
        since=since,
        until=until,
        tag=tag,
        team=team,
        order=order,
        limit=limit,
        cursor=cursor,
        purpose=purpose,
        export="json",
    )
    return json_response({"records": [r.to_dict() for r in page.records], "next_cursor": page.next_cursor})


@audit.get(
    "/timeline/{engagement_id}",
    response_model=TimelineOut,
    responses=problems(403, 404),
    summary="An engagement's full history with its reminders",
)
def timeline(
    engagement_id: int, request: Request, purpose: str | None = Purpose, caller: Caller = Authenticated
) -> Response:
    actor = caller()
    engagement, events, raised = context(request).engine.audit.timeline(actor, engagement_id, purpose=purpose)
    return json_response(
        {"engagement": engagement, "events": [e.to_dict() for e in events], "reminders": raised}
    )


@audit.get(
    "/verify",
    responses={**_OBJECT, **problems(403)},
    summary="Recompute every hash chain (or one engagement's) and report each break",
)
def verify(request: Request, engagement_id: int | None = None, caller: Caller = Authenticated) -> Response:
    actor = caller()
    report = context(request).engine.audit.verify(actor, engagement_id=engagement_id)
    return json_response(report.to_dict())


@audit.post(
    "/checkpoint",
    responses={**_OBJECT, **problems(403)},
    summary="A signed checkpoint of every chain (head hash and event count) to store elsewhere",
)
def checkpoint(request: Request, caller: Caller = Authenticated) -> Response:
    actor = caller()
    return json_response(context(request).engine.audit.checkpoint(actor))


@audit.get(
    "/access",
    response_model=list[dict[str, Any]],
    responses=problems(403),
    summary="The access log: who read, searched, exported or deleted engagement data",
)
def access_log(
    request: Request,
    subject: str | None = None,
    by: str | None = Query(None, alias="actor"),
    engagement_id: int | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = Query(None, ge=1),
    caller: Caller = Authenticated,
) -> Response:
    actor = caller()
    entries = context(request).engine.audit.access(
        actor,
        subject=subject,
        actor=by,
        engagement_id=engagement_id,
        since=since,
        until=until,
        limit=limit,
    )
    return json_response([e.to_dict() for e in entries])


@audit.post(
    "/access-requests",
    responses={
        "200": {
            "description": "The resident's access-request package (the request is logged)",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/markdown": {"schema": {"type": "string"}},
            },
        },
        **problems(403),
    },
    summary="A resident's right of access (GDPR art. 15): every engagement, its history and access log",
)
def access_request(body: AccessRequestBody, request: Request, caller: Caller = Authenticated) -> Response:
    actor = caller()
    package = context(request).engine.audit.access_request(
        actor, body.subject, redact_staff=body.redact_staff, purpose=body.purpose
    )
    if body.format == "md":
        return Response(package.text.encode(), media_type="text/markdown; charset=utf-8")
    return Response(package.json.encode(), media_type="application/json")


# -- the caller and health ---------------------------------------------------------------


@me.get("/me", response_model=MeOut, summary="Who the token acts as, as the staff register grants it")
def whoami(request: Request, caller: Caller = Authenticated) -> Response:
    actor = caller()
    acting = context(request).engine.staff.resolve(actor)
    return json_response({"id": acting.id, "roles": sorted(acting.roles), "teams": sorted(acting.teams)})


@health.get("/healthz", response_model=HealthOut, summary="The process is up")
async def healthz() -> Response:  # no I/O: answered on the event loop, no thread hop
    return json_response({"status": "ok"})


@health.get(
    "/readyz",
    response_model=HealthOut,
    responses=problems(503),
    summary="The database is reachable and its schema current",
)
def readyz(request: Request) -> Response:
    from forloeb.engine import DatabaseUnavailable, SchemaOutOfDate
    from forloeb.persistence import StoreError

    store = context(request).engine.store
    try:
        revision = store.schema_revision()
    except StoreError as exc:
        raise DatabaseUnavailable(store.url, str(exc)) from exc
    if revision != SCHEMA_HEAD:
        raise SchemaOutOfDate(revision, SCHEMA_HEAD)
    return json_response({"status": "ready", "schema_revision": revision})


__all__ = ["audit", "health", "me", "reminders", "workflows"]
