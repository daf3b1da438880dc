"""Errors as RFC 9457 problem details (``application/problem+json``).

Every class of forloeb's one exception tree (``forloeb.engine._errors`` and the
few defined beside their feature) has a stable ``type`` URI and an HTTP
status here (:data:`PROBLEMS`); an error of a class not listed takes the
nearest listed ancestor's, and a test checks that none is missing. The
problem carries the error's data as members (engagement id, state, trigger,
missing keys, expected and actual version …), its ``code`` (what the CLI's
``--json`` error says) and ``detail``: the error's own message in Danish or
English, chosen by ``Accept-Language``.

Problems of HTTP itself (malformed JSON, a body too large, an unknown route)
have types of their own (:data:`HTTP_PROBLEMS`).

The database errors' messages name the database URL and the driver's words:
useful to an operator, not to a client. Over HTTP their ``detail`` is a
fixed text and the full message goes to the server's log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from forloeb.engine import (
    AuditKeyError,
    AuthenticationFailed,
    ConcurrencyError,
    DatabaseBusy,
    DatabaseError,
    DatabaseReadOnly,
    DatabaseRejected,
    DatabaseUnavailable,
    DefinitionError,
    DeliveryError,
    EngagementNotFound,
    ForloebError,
    GuardFailed,
    IdempotencyConflict,
    InvalidData,
    Lang,
    LoginFailed,
    NotInRegister,
    OutboxMessageNotFound,
    PermissionDenied,
    ReminderNotFound,
    SchemaOutOfDate,
    StorageFull,
    TransitionNotAllowed,
    UndeclaredKey,
    UnknownTrigger,
    UnknownWorkflow,
)

MEDIA_TYPE = "application/problem+json"
# A URN: stable, needs no domain of its own, and no client mistakes it for a
# page to fetch. The last part is the class's name in kebab case.
TYPE_PREFIX = "urn:forloeb:problem:"
# Seconds a client should wait before retrying when the database is away or busy.
RETRY_AFTER = 5


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str

    @property
    def uri(self) -> str:
        return TYPE_PREFIX + self.slug


def _p(slug: str, status: int, title: str, description: str) -> ProblemType:
    return ProblemType(slug, status, title, description)


# Class -> problem type. Order matters only for documentation.
PROBLEMS: dict[type[ForloebError], ProblemType] = {
    ForloebError: _p("error", 500, "forloeb error", "An error of forloeb without a more specific type."),
    AuthenticationFailed: _p(
        "authentication-failed",
        401,
        "Authentication failed",
        "No bearer token, or a malformed, unknown, expired or revoked one, or one whose staff member "
        "is deactivated. Member: reason.",
    ),
    LoginFailed: _p(
        "login-failed",
        401,
        "Login failed",
        "The web console's login or session did not succeed: a wrong user name or password, a "
        "locked or deactivated entry, or a session that has expired. Members: reason, until.",
    ),
    PermissionDenied: _p(
        "permission-denied",
        403,
        "Permission denied",
        "The token's staff member may not do this (role, or the engagement's team). "
        "Members: actor, roles, action, required.",
    ),
    NotInRegister: _p(
        "not-in-register",
        403,
        "Not in the staff register",
        "The actor is not an active entry of the staff register. Members: actor, reason.",
    ),
    EngagementNotFound: _p("engagement-not-found", 404, "Engagement not found", "Member: engagement_id."),
    ReminderNotFound: _p("reminder-not-found", 404, "Reminder not found", "Member: reminder_id."),
    OutboxMessageNotFound: _p(
        "outbox-message-not-found", 404, "Outbox message not found", "Member: outbox_id."
    ),
    UnknownWorkflow: _p("unknown-workflow", 404, "Unknown workflow", "Members: workflow, known."),
    UnknownTrigger: _p("unknown-trigger", 422, "Unknown trigger", "Members: workflow, trigger, known."),
    TransitionNotAllowed: _p(
        "transition-not-allowed",
        409,
        "Transition not allowed",
        "The trigger leads nowhere from the engagement's current stage. Members: engagement_id, state, "
        "trigger.",
    ),
    GuardFailed: _p(
        "guard-failed",
        422,
        "Data missing or invalid",
        "The move needs data that is missing or invalid. Members: engagement_id, state, trigger, "
        "missing, invalid.",
    ),
    UndeclaredKey: _p(
        "undeclared-key",
        422,
        "Undeclared data key",
        "A data key the stage does not ask for. Members: keys, declared.",
    ),
    ConcurrencyError: _p(
        "concurrency",
        409,
        "Changed by someone else",
        "The engagement is not at the version the request expected (If-Match: 412 Precondition "
        "Failed). Members: engagement_id, expected, actual.",
    ),
    InvalidData: _p("invalid-data", 422, "Invalid data", "A value the engine refuses."),
    IdempotencyConflict: _p(
        "idempotency-conflict",
        422,
        "Idempotency key reused",
        "The Idempotency-Key was used before for a different request. Member: key.",
    ),
    DefinitionError: _p("definition-error", 422, "Workflow definition error", "Members: workflow."),
    SchemaOutOfDate: _p(
        "schema-out-of-date",
        503,
        "Database schema out of date",
        "The database is at another schema revision; run `forloeb init`. Members: current, required.",
    ),
    AuditKeyError: _p(
        "audit-key-error",
        503,
        "Audit key does not fit the database",
        "The server's audit key does not fit the database (missing, another key, or unexpected); "
        "nothing was written. Members: kind, action.",
    ),
    DatabaseError: _p(
        "database-error", 503, "Database unavailable", "The database failed; nothing was saved."
    ),
    DatabaseUnavailable: _p(
        "database-unavailable",
        503,
        "Database unavailable",
        "The database cannot be reached; nothing was saved. Retry-After says when to try again.",
    ),
    DatabaseBusy: _p(
        "database-busy",
        503,
        "Database busy",
        "The database did not answer in time; nothing was saved. Retry-After says when to try again.",
    ),
    StorageFull: _p("storage-full", 507, "Storage full", "The database is out of space; nothing was saved."),
    DatabaseReadOnly: _p(
        "database-read-only", 503, "Database read-only", "The database can only be read; nothing was saved."
    ),
    DatabaseRejected: _p(
        "database-rejected",
        422,
        "Value rejected by the database",
        "A value the database cannot hold (a number beyond its range, a NUL character); nothing was saved.",
    ),
    DeliveryError: _p("delivery-failed", 502, "Delivery failed", "A notification could not be delivered."),
}

# Problems of HTTP itself.
HTTP_PROBLEMS: dict[str, ProblemType] = {
    p.slug: p
    for p in (
        _p("malformed-request", 400, "Malformed request", "The body is not JSON, or not UTF-8 text."),
        _p(
            "request-validation",
            422,
            "Request not valid",
            "A field is missing, of the wrong type, or not known. Member: errors (location, message).",
        ),
        _p("payload-too-large", 413, "Request body too large", "Member: limit (bytes)."),
        _p("unsupported-media-type", 415, "Unsupported media type", "Send application/json."),
        _p("precondition-failed", 412, "Precondition failed", "If-Match is not one strong ETag or *."),
        _p("not-found", 404, "Not found", "No such resource."),
        _p("method-not-allowed", 405, "Method not allowed", "The resource does not allow this method."),
        _p("not-acceptable", 406, "Not acceptable", "Ask for application/json or text/markdown."),
        _p("internal-error", 500, "Internal server error", "Something failed inside; see the server log."),
    )
}

# The database errors' details over HTTP (the full message goes to the log).
_DATABASE_DETAIL: dict[Lang, str] = {
    "da": "Databasen kunne ikke gøre det, der blev bedt om; intet er gemt. Prøv igen om lidt.",
    "en": "The database could not do what was asked; nothing was saved. Try again shortly.",
}
_REJECTED_DETAIL: dict[Lang, str] = {
    "da": "Databasen kan ikke gemme en af værdierne (et for stort tal eller et NUL-tegn); intet er gemt.",
    "en": "The database cannot hold one of the values (a number too large, a NUL character); "
    "nothing was saved.",
}

# Attributes that are not data (labels, texts) or that name the database.
_NOT_MEMBERS = frozenset(
    {
        "params",
        "labels",
        "state_labels",
        "trigger_labels",
        "action_labels",
        "workflow_labels",
        "detail",
        "detail_da",
        "url",
        "code",
        "args",
    }
)
# RFC 9457's own members: an error attribute of the same name is left out.
_RESERVED = frozenset({"type", "title", "status", "detail", "instance"})


def problem_type(error: ForloebError) -> ProblemType:
    """The type of the nearest class of ``error`` that has one."""
    for cls in type(error).__mro__:
        found = PROBLEMS.get(cls)
        if found is not None:
            return found
    return PROBLEMS[ForloebError]  # pragma: no cover - every error is a ForloebError


def _plain(value: Any) -> Any:
    """``value`` if JSON can carry it (lists for tuples and sets), else its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list | frozenset | set):
        items = sorted(value, key=str) if isinstance(value, frozenset | set) else value
        return [_plain(v) for v in items]
    return str(value)


def members(error: ForloebError) -> dict[str, Any]:
    """The error's data as problem members."""
    out: dict[str, Any] = {}
    for key, value in vars(error).items():
        if key.startswith("_") or key in _NOT_MEMBERS or key in _RESERVED:
            continue
        out[key] = _plain(value)
    return out


def detail_of(error: ForloebError, lang: Lang) -> str:
    if isinstance(error, DatabaseRejected):
        return _REJECTED_DETAIL[lang]
    if isinstance(error, DatabaseError):
        return _DATABASE_DETAIL[lang]
    return error.message(lang)


def problem_body(
    kind: ProblemType, detail: str, *, status: int | None = None, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": kind.title,
        "status": status or kind.status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    return body


def error_problem(
    error: ForloebError, lang: Lang, *, if_match: bool = False, instance: str | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and extra headers for ``error``."""
    kind = problem_type(error)
    status = kind.status
    headers: dict[str, str] = {}
    if isinstance(error, DatabaseError):
        status = int(getattr(error, "http_status", status))
    if isinstance(error, ConcurrencyError) and if_match:
        status = 412  # the request's precondition (If-Match) failed
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="forloeb"'
    body = problem_body(
        kind, detail_of(error, lang), status=status, instance=instance, code=error.code, **members(error)
    )
    return status, body, headers


def all_types() -> Iterable[ProblemType]:
    """Every problem type, once (for the OpenAPI document)."""
    seen: set[str] = set()
    for kind in (*PROBLEMS.values(), *HTTP_PROBLEMS.values()):
        if kind.slug not in seen:
            seen.add(kind.slug)
            yield kind


def pick_lang(accept_language: str | None, default: Lang = "da") -> Lang:
    """Danish or English by ``Accept-Language`` (RFC 9110 §12.5.4), by quality;
    anything else: ``default``."""
    if not accept_language:
        return default
    best: tuple[float, int, Lang] | None = None
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        lang: Lang | None = "da" if primary == "da" else "en" if primary == "en" else None
        if lang is None or quality <= 0:
            continue
        # The highest quality wins; at equal quality, the first listed.
        key = (quality, -index, lang)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best is not None else default


__all__ = [
    "HTTP_PROBLEMS",
    "MEDIA_TYPE",
    "PROBLEMS",
    "RETRY_AFTER",
    "ProblemType",
    "all_types",
    "error_problem",
    "members",
    "pick_lang",
    "problem_body",
    "problem_type",
]
