"""The auditor's pages: the event log with filters and its exports, the verify of
every hash chain (against an uploaded checkpoint too), checkpoints, the access
log, and a resident's access request.

Read-only: an auditor changes nothing here, so the only forms that post are
the ones that hand a file out (checkpoint, access request) or take one in
(a checkpoint to verify against), each with the session's CSRF token. Every
search and every export goes through ``engine.audit``, which writes it to the
access log itself (an export as ``export``, with its format); what the engine
refuses (an admin without the auditor's role, say) is its refusal page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from forloeb.engine import (
    COPENHAGEN,
    AccessEntry,
    AuditRecord,
    Engine,
    ForloebError,
    InvalidData,
    Lang,
    PermissionDenied,
)
from forloeb.reporting.exports import audit_csv_lines, audit_jsonl_lines, to_json
from forloeb.words import t
from forloeb.words.labels import event_text, role_label

from .._http import context
from .._middleware import UPLOAD_LIMITS
from ._frame import Form, guarded, in_thread, look, one, posted, read_form
from ._render import download, page
from ._session import Viewer

router = APIRouter(include_in_schema=False)
AUDITORS = ("auditor", "admin")
PAGE = 100  # rows per page: a page stays fast however long the log
EXPORT_LIMIT = 100_000  # the engine's largest page: a bigger export continues with its cursor
# An uploaded checkpoint larger than this is not one (the body limit of its path says the same).
CHECKPOINT_BYTES = UPLOAD_LIMITS["/audit/verify"]
PURPOSE = "webkonsol: revision"
_CSV = "text/csv; charset=utf-8"
_JSONL = "application/x-ndjson; charset=utf-8"


def _url(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def _today() -> str:
    return datetime.now(UTC).astimezone(COPENHAGEN).strftime("%Y%m%d")


# -- the event log ---------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilters:
    """The audit page's filters as typed into the form (text; blank: no filter)."""

    engagement: str = ""
    workflow: str = ""
    actor: str = ""
    type: str = ""
    team: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def of(cls, request: Request) -> EventFilters:
        params = request.query_params
        return cls(**{f.name: params.get(f.name, "").strip() for f in fields(cls)})

    def engine_args(self) -> dict[str, Any]:
        """The filters as ``engine.audit.query`` takes them (InvalidData for a bad number)."""
        engagement_id: int | None = None
        if self.engagement:
            if not self.engagement.isdigit() or len(self.engagement) > 18:
                raise InvalidData("engagement must be a number", detail_da="forløb skal være et tal")
            engagement_id = int(self.engagement)
        args: dict[str, Any] = {
            name: getattr(self, name) or None
            for name in ("workflow", "actor", "type", "team", "since", "until")
        }
        return {"engagement_id": engagement_id, **args}

    def query(self, **extra: str | None) -> str:
        """The filters (and ``extra``) as a URL's query, blank ones left out."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v or "" for k, v in extra.items()})
        return urlencode({k: v for k, v in values.items() if v})


def _event_texts(engine: Engine, records: list[AuditRecord], lang: Lang) -> list[str]:
    """Each event in the words of its workflow (the CLI's ``audit query`` line)."""
    definitions: dict[str, Any] = {}
    out: list[str] = []
    for rec in records:
        if rec.workflow not in definitions:
            try:
                definitions[rec.workflow] = engine.workflow(rec.workflow)
            except ForloebError:  # a workflow no longer registered: its event type
                definitions[rec.workflow] = None
        definition = definitions[rec.workflow]
        out.append(event_text(definition, rec.event, lang) if definition is not None else rec.event.type)
    return out


def _workflow_choices(engine: Engine, lang: Lang) -> list[tuple[str, str]]:
    return [(n, engine.workflow(n).labels.get(lang)) for n in engine.workflow_names]


@router.get("/audit")
@guarded
def audit_page(request: Request, cursor: str | None = None) -> Response:
    who = look(request, *AUDITORS)
    engine = context(request).engine
    lang = cast(Lang, who.lang)
    filters = EventFilters.of(request)
    rows: list[dict[str, Any]] = []
    next_url = error = None
    status = 200
    try:
        result = engine.audit.query(
            who.actor,
            **filters.engine_args(),
            order="desc",
            limit=PAGE,
            cursor=cursor or None,
            purpose=PURPOSE,
        )
    except PermissionDenied:
        raise
    except ForloebError as exc:  # a bad filter or cursor: the form again, with why
        error, status = exc.message(lang), 422
    else:
        texts = _event_texts(engine, result.records, lang)
        rows = [
            {
                "at": rec.event.occurred_at,
                "engagement_id": rec.event.engagement_id,
                "seq": rec.event.seq,
                "subject": rec.subject,
                "text": text,
                "actor": rec.event.actor,
                "role": role_label(rec.event.role, lang),
            }
            for rec, text in zip(result.records, texts, strict=True)
        ]
        if result.next_cursor:
            next_url = "/audit?" + filters.query(cursor=result.next_cursor)
    return page(
        request,
        who,
        "audit_query.html",
        lang=who.lang,
        status=status,
        filters=filters,
        rows=rows,
        next_url=next_url,
        csv_url=_url("/audit/export.csv", filters.query()),
        jsonl_url=_url("/audit/export.jsonl", filters.query()),
        workflows=_workflow_choices(engine, lang),
        teams=[(term.key, term.label(lang)) for term in engine.caseload.taxonomy.teams],
        error=error,
    )


def _export(request: Request, fmt: str, cursor: str | None) -> Response:
    who = look(request, *AUDITORS)
    engine = context(request).engine
    filters = EventFilters.of(request)
    # Oldest first, as ``forloeb audit query`` writes a file; the engine logs it as an export.
    result = engine.audit.query(
        who.actor,
        **filters.engine_args(),
        order="asc",
        limit=EXPORT_LIMIT,
        cursor=cursor or None,
        purpose=PURPOSE,
        export=fmt,
    )
    records = [r.to_dict() for r in result.records]
    extra = {"Forloeb-Next-Cursor": result.next_cursor} if result.next_cursor else {}
    name = f"forloeb-audit-{_today()}.{fmt}"
    if fmt == "csv":
        return download(audit_csv_lines(records), _CSV, name, **extra)
    return download(audit_jsonl_lines(records), _JSONL, name, **extra)


@router.get("/audit/export.csv")
@guarded
def export_csv(request: Request, cursor: str | None = None) -> Response:
    return _export(request, "csv", cursor)


@router.get("/audit/export.jsonl")
@guarded
def export_jsonl(request: Request, cursor: str | None = None) -> Response:
    return _export(request, "jsonl", cursor)


# -- verify and checkpoints ----------------------------------------------------------------


def _verify_page(
    request: Request,
    who: Viewer,
    checkpoint: Mapping[str, Any] | None = None,
    *,
    run: bool,
    error: str | None = None,
) -> Response:
    lang = cast(Lang, who.lang)
    report = None
    status = 200 if error is None else 422
    if run and error is None:
        try:
            report = context(request).engine.audit.verify(who.actor, checkpoint=checkpoint)
        except PermissionDenied:
            raise
        except ForloebError as exc:  # a checkpoint that is not one: why, in words
            error, status = exc.message(lang), 422
    return page(
        request,
        who,
        "audit_verify.html",
        lang=who.lang,
        status=status,
        report=report,
        breaks=[b.text(lang) for b in report.breaks] if report else [],
        erased=[b.text(lang) for b in report.erased] if report else [],
        warnings=report.warnings_in(lang) if report else [],
        algo=("HMAC-SHA256" if report.keyed else "SHA-256") if report else "",
        error=error,
    )


@router.get("/audit/verify")
@guarded
def verify_page(request: Request, run: str | None = None) -> Response:
    who = look(request, *AUDITORS)
    return _verify_page(request, who, run=bool(run))


@router.post("/audit/verify")
async def verify_against(request: Request) -> Response:
    """Verify against an uploaded checkpoint (multipart: ``csrf`` and ``checkpoint``)."""
    data = await request.form(max_files=1, max_fields=10)
    try:
        token = data.get("csrf")
        upload = data.get("checkpoint")
        form: Form = {"csrf": token if isinstance(token, str) else ""}
        # The file is read in the thread, after the CSRF check.
        return await in_thread(
            _verify_against, request, form, upload if isinstance(upload, UploadFile) else None
        )
    finally:
        await data.close()


def _checkpoint_of(upload: UploadFile | None, lang: Lang) -> tuple[Mapping[str, Any] | None, str | None]:
    """The uploaded file as a checkpoint, or why it cannot be one (the CLI's words)."""
    raw = upload.file.read(CHECKPOINT_BYTES + 1) if upload is not None else b""
    if not raw:
        return None, t(lang, "w_checkpoint_missing")
    if len(raw) > CHECKPOINT_BYTES:
        return None, t(lang, "w_checkpoint_too_big", mb=CHECKPOINT_BYTES // (1024 * 1024))
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, t(lang, "checkpoint_not_text")
    except RecursionError:
        return None, t(lang, "checkpoint_too_deep")
    except ValueError as exc:
        return None, f"{t(lang, 'checkpoint_not_json')} ({exc})"
    if not isinstance(data, dict):
        return None, t(lang, "checkpoint_not_json")
    return data, None


@guarded
def _verify_against(request: Request, form: Form, upload: UploadFile | None) -> Response:
    who = posted(request, form, *AUDITORS)
    checkpoint, error = _checkpoint_of(upload, cast(Lang, who.lang))
    return _verify_page(request, who, checkpoint, run=True, error=error)


@router.post("/audit/checkpoint")
async def checkpoint(request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_checkpoint, request, form)


@guarded
def _checkpoint(request: Request, form: Form) -> Response:
    who = posted(request, form, *AUDITORS)
    data = context(request).engine.audit.checkpoint(who.actor)
    stamp = datetime.now(UTC).astimezone(COPENHAGEN).strftime("%Y%m%d-%H%M")
    return download(to_json(data, indent=2) + "\n", "application/json", f"forloeb-checkpoint-{stamp}.json")


# -- the access log --------------------------------------------------------------------------


def _access_cursor(at: datetime, entry_id: int) -> str:
    return f"{at.isoformat()}|{entry_id}"


def _access_uncursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, entry_id = cursor.split("|")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError(at)
        return when, int(entry_id)
    except ValueError:
        raise InvalidData("not a cursor from an earlier page", detail_da="ikke en gyldig cursor") from None


def access_page_of(
    engine: Engine, who: Viewer, filters: Mapping[str, str], cursor: str | None
) -> tuple[list[AccessEntry], str | None]:
    """One page of the access log (oldest first, as the engine lists it), and the
    cursor of the next: the (time, id) of the page's last entry."""
    engagement = filters.get("engagement") or ""
    if engagement and (not engagement.isdigit() or len(engagement) > 18):
        raise InvalidData("engagement must be a number", detail_da="forløb skal være et tal")
    entries = engine.audit.access(
        who.actor,
        subject=filters.get("subject") or None,
        actor=filters.get("actor") or None,
        engagement_id=int(engagement) if engagement else None,
        since=filters.get("since") or None,
        until=filters.get("until") or None,
        limit=PAGE + 1,  # one more than shown: whether a next page exists, without a count
        after=_access_uncursor(cursor) if cursor else None,
    )
    if len(entries) <= PAGE:
        return entries, None
    entries = entries[:PAGE]
    return entries, _access_cursor(entries[-1].occurred_at, entries[-1].id)


ACCESS_FILTERS = ("subject", "actor", "engagement", "since", "until")


@router.get("/audit/access")
@guarded
def access_page(request: Request, cursor: str | None = None) -> Response:
    who = look(request, *AUDITORS)
    engine = context(request).engine
    lang = cast(Lang, who.lang)
    filters = {k: request.query_params.get(k, "").strip() for k in ACCESS_FILTERS}
    rows: list[dict[str, Any]] = []
    next_url = error = None
    status = 200
    try:
        entries, next_cursor = access_page_of(engine, who, filters, cursor)
    except PermissionDenied:
        raise
    except ForloebError as exc:
        error, status = exc.message(lang), 422
    else:
        for e in entries:
            shown = [(int(s["id"]), str(s.get("subject") or "")) for s in e.shown or ()]
            if e.engagement_id is not None:
                shown = [(e.engagement_id, e.subject or ""), *shown]
            rows.append(
                {
                    "at": e.occurred_at,
                    "actor": e.actor,
                    "impersonator": e.impersonator,
                    "role": role_label(e.role, lang),
                    "action": e.action,
                    "engagements": shown,
                    "subject": e.subject if e.engagement_id is None else None,
                    "criteria": to_json(dict(e.criteria)) if e.criteria else "",
                    "purpose": e.purpose or "",
                }
            )
        if next_cursor:
            query = {k: v for k, v in filters.items() if v}
            next_url = "/audit/access?" + urlencode({**query, "cursor": next_cursor})
    return page(
        request, who, "audit_access.html", lang=who.lang, status=status, filters=filters, rows=rows,
        next_url=next_url, error=error,
    )  # fmt: skip


# -- a resident's access request ------------------------------------------------------------


def _request_page(request: Request, who: Viewer, values: Form, error: str | None = None) -> Response:
    return page(
        request,
        who,
        "audit_access_request.html",
        lang=who.lang,
        status=200 if error is None else 422,
        values=values,
        error=error,
    )


@router.get("/audit/access-request")
@guarded
def access_request_form(request: Request) -> Response:
    who = look(request, *AUDITORS)
    return _request_page(request, who, {"format": "md", "redact_staff": "1"})


@router.post("/audit/access-request")
async def access_request(request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_access_request, request, form)


@guarded
def _access_request(request: Request, form: Form) -> Response:
    who = posted(request, form, *AUDITORS)
    fmt = "json" if one(form, "format") == "json" else "md"
    subject = one(form, "subject").strip()
    try:
        package = context(request).engine.audit.access_request(
            who.actor,
            subject,
            redact_staff=one(form, "redact_staff") == "1",
            purpose=one(form, "purpose").strip() or PURPOSE,
        )
    except PermissionDenied:
        raise
    except ForloebError as exc:
        return _request_page(request, who, form, error=exc.message(cast(Lang, who.lang)))
    # The file's name says when and which package (its hash), not the resident's reference.
    name = f"forloeb-indsigt-{_today()}-{package.sha256[:8]}.{fmt}"
    if fmt == "json":
        return download(package.json, "application/json", name)
    return download(package.text, "text/markdown; charset=utf-8", name)


__all__ = ["EventFilters", "access_page_of", "download", "router"]
