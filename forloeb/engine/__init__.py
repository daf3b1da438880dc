"""The engine: definitions, machines, the Engine facade, errors.

Implementation lives in ``_``-prefixed modules; this package re-exports what
other parts of forloeb (and embedding apps, through ``forloeb``) may use.

Each name is imported from its module when first used (PEP 562's module
``__getattr__``): ``import forloeb.engine`` itself imports nothing, so that the
CLI's help and an app that needs only the definitions or the errors do not pay
for SQLAlchemy, Alembic, APScheduler and the notifiers. Type checkers and IDEs
read the same names from the ``TYPE_CHECKING`` imports below; a new public name
goes into both those imports and ``_EXPORTS`` (tests/test_public_api.py checks
that they agree).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._access import can_see, visibility
    from ._access_request import AccessRequest
    from ._answers import UndeclaredKey
    from ._audit import (
        DEFAULT_RETENTION,
        AccessEntry,
        Audit,
        AuditPage,
        AuditRecord,
        ChainBreak,
        VerifyReport,
        parse_time,
    )
    from ._calendar import (
        CLOSING_DAYS,
        COPENHAGEN,
        DEFAULT_CLOSING_DAYS,
        BusinessCalendar,
        WorkingDayCalendar,
    )
    from ._caseload import Caseload
    from ._chain import GENESIS, canonical_bytes, event_hash
    from ._checks import DEFAULT_PAGE, MAX_PAYLOAD_BYTES
    from ._config import CONFIG_ENV, Settings, load_settings, settings_from_mapping
    from ._consent import DEFAULT_RECEIVERS, SECTIONS, Consent, consent_guard, consents_of, is_consent_basis
    from ._definition import (
        ESCALATE_TO_SUPERVISOR,
        QUESTION_KINDS,
        ActivityKind,
        Choice,
        Deadline,
        Escalation,
        Guard,
        GuardContext,
        Label,
        Labels,
        Outcome,
        Question,
        SelfHelp,
        Stage,
        StageKind,
        Transition,
        WorkflowDefinition,
    )
    from ._dispatch import DEFAULT_OUTBOX_RETENTION_DAYS, DispatchResult, OutboxMessage, RetryPolicy
    from ._engine import DeadlineOverrides, Engine
    from ._erasure import DEFAULT_RETENTION_YEARS, ErasureReceipt
    from ._errors import (
        AuditKeyError,
        ConcurrencyError,
        DatabaseBusy,
        DatabaseError,
        DatabaseReadOnly,
        DatabaseRejected,
        DatabaseUnavailable,
        DefinitionError,
        EngagementNotFound,
        ForloebError,
        GuardFailed,
        IdempotencyConflict,
        InvalidData,
        OutboxMessageNotFound,
        PermissionDenied,
        ReminderNotFound,
        SchemaOutOfDate,
        StorageFull,
        TransitionNotAllowed,
        UnknownTrigger,
        UnknownWorkflow,
    )
    from ._handover import HandoverPackage
    from ._i18n import FIELD_LABELS, LANGS, Lang, field_label
    from ._legal import STATUTES
    from ._logging import configure_logging, get_logger
    from ._logins import LoginFailed, Logins, WebSession
    from ._methods import Methods
    from ._migration import MigrationReport
    from ._queries import EngagementPage, replay
    from ._register import ADMIN, Impersonation, NotInRegister, StaffMember
    from ._reminders import SYSTEM_ACTOR
    from ._roles import AUDITOR, RETURN_TO_CLOSED, RETURN_TO_PAUSED, ROLES, STAFF, SUPERVISOR, WORKER
    from ._staff import Staff
    from ._taxonomy import Taxonomy, Term
    from ._tokens import ApiToken, AuthenticationFailed, IssuedToken, Tokens
    from ._types import Actor, Engagement, Event, Reminder, TriggerOption
    from .notifiers import (
        DeliveryError,
        LogNotifier,
        Notification,
        Notifier,
        Route,
        Router,
        SmtpNotifier,
        WebhookNotifier,
        verify_signature,
    )

# Where each public name lives: module (relative to this package) -> names.
_MODULES: dict[str, str] = {
    "._access": "can_see visibility",
    "._access_request": "AccessRequest",
    "._answers": "UndeclaredKey",
    "._audit": "DEFAULT_RETENTION AccessEntry Audit AuditPage AuditRecord ChainBreak VerifyReport parse_time",
    "._calendar": "CLOSING_DAYS COPENHAGEN DEFAULT_CLOSING_DAYS BusinessCalendar WorkingDayCalendar",
    "._chain": "GENESIS canonical_bytes event_hash",
    "._checks": "DEFAULT_PAGE MAX_PAYLOAD_BYTES",
    "._caseload": "Caseload",
    "._config": "CONFIG_ENV Settings load_settings settings_from_mapping",
    "._taxonomy": "Taxonomy Term",
    "._consent": "DEFAULT_RECEIVERS SECTIONS Consent consent_guard consents_of is_consent_basis",
    "._definition": (
        "ESCALATE_TO_SUPERVISOR QUESTION_KINDS ActivityKind Choice Deadline Escalation Guard "
        "GuardContext Label Labels Outcome Question SelfHelp Stage StageKind Transition WorkflowDefinition"
    ),
    "._roles": "AUDITOR RETURN_TO_CLOSED RETURN_TO_PAUSED ROLES STAFF SUPERVISOR WORKER",
    "._dispatch": "DEFAULT_OUTBOX_RETENTION_DAYS DispatchResult OutboxMessage RetryPolicy",
    "._engine": "DeadlineOverrides Engine",
    "._erasure": "DEFAULT_RETENTION_YEARS ErasureReceipt",
    "._errors": (
        "AuditKeyError ConcurrencyError DatabaseBusy DatabaseError DatabaseReadOnly DatabaseRejected "
        "DatabaseUnavailable "
        "DefinitionError "
        "EngagementNotFound ForloebError GuardFailed IdempotencyConflict InvalidData "
        "OutboxMessageNotFound PermissionDenied ReminderNotFound SchemaOutOfDate StorageFull "
        "TransitionNotAllowed UnknownTrigger UnknownWorkflow"
    ),
    "._handover": "HandoverPackage",
    "._legal": "STATUTES",
    "._i18n": "FIELD_LABELS LANGS Lang field_label",
    "._logging": "configure_logging get_logger",
    "._logins": "LoginFailed Logins WebSession",
    "._methods": "Methods",
    "._migration": "MigrationReport",
    "._queries": "EngagementPage replay",
    "._register": "ADMIN Impersonation NotInRegister StaffMember",
    "._reminders": "SYSTEM_ACTOR",
    "._staff": "Staff",
    "._tokens": "ApiToken AuthenticationFailed IssuedToken Tokens",
    "._types": "Actor Engagement Event Reminder TriggerOption",
    ".notifiers": (
        "DeliveryError LogNotifier Notification Notifier Route Router SmtpNotifier WebhookNotifier "
        "verify_signature"
    ),
}
_EXPORTS: dict[str, str] = {name: module for module, names in _MODULES.items() for name in names.split()}


__all__ = [
    "ADMIN",
    "AUDITOR",
    "CLOSING_DAYS",
    "CONFIG_ENV",
    "COPENHAGEN",
    "DEFAULT_CLOSING_DAYS",
    "DEFAULT_OUTBOX_RETENTION_DAYS",
    "DEFAULT_PAGE",
    "DEFAULT_RECEIVERS",
    "DEFAULT_RETENTION",
    "DEFAULT_RETENTION_YEARS",
    "ESCALATE_TO_SUPERVISOR",
    "FIELD_LABELS",
    "GENESIS",
    "LANGS",
    "MAX_PAYLOAD_BYTES",
    "QUESTION_KINDS",
    "RETURN_TO_CLOSED",
    "RETURN_TO_PAUSED",
    "ROLES",
    "SECTIONS",
    "STAFF",
    "STATUTES",
    "SUPERVISOR",
    "SYSTEM_ACTOR",
    "WORKER",
    "AccessEntry",
    "AccessRequest",
    "ActivityKind",
    "Actor",
    "ApiToken",
    "Audit",
    "AuditKeyError",
    "AuditPage",
    "AuditRecord",
    "AuthenticationFailed",
    "BusinessCalendar",
    "Caseload",
    "ChainBreak",
    "Choice",
    "ConcurrencyError",
    "Consent",
    "DatabaseBusy",
    "DatabaseError",
    "DatabaseReadOnly",
    "DatabaseRejected",
    "DatabaseUnavailable",
    "Deadline",
    "DeadlineOverrides",
    "DefinitionError",
    "DeliveryError",
    "DispatchResult",
    "Engagement",
    "EngagementNotFound",
    "EngagementPage",
    "Engine",
    "ErasureReceipt",
    "Escalation",
    "Event",
    "ForloebError",
    "Guard",
    "GuardContext",
    "GuardFailed",
    "HandoverPackage",
    "IdempotencyConflict",
    "Impersonation",
    "InvalidData",
    "IssuedToken",
    "Label",
    "Labels",
    "Lang",
    "LogNotifier",
    "LoginFailed",
    "Logins",
    "Methods",
    "MigrationReport",
    "NotInRegister",
    "Notification",
    "Notifier",
    "OutboxMessage",
    "OutboxMessageNotFound",
    "Outcome",
    "PermissionDenied",
    "Question",
    "Reminder",
    "ReminderNotFound",
    "RetryPolicy",
    "Route",
    "Router",
    "SchemaOutOfDate",
    "SelfHelp",
    "Settings",
    "SmtpNotifier",
    "Staff",
    "StaffMember",
    "Stage",
    "StageKind",
    "StorageFull",
    "Taxonomy",
    "Term",
    "Tokens",
    "Transition",
    "TransitionNotAllowed",
    "TriggerOption",
    "UndeclaredKey",
    "UnknownTrigger",
    "UnknownWorkflow",
    "VerifyReport",
    "WebSession",
    "WebhookNotifier",
    "WorkflowDefinition",
    "WorkingDayCalendar",
    "can_see",
    "canonical_bytes",
    "configure_logging",
    "consent_guard",
    "consents_of",
    "event_hash",
    "field_label",
    "get_logger",
    "is_consent_basis",
    "load_settings",
    "parse_time",
    "replay",
    "settings_from_mapping",
    "verify_signature",
    "visibility",
]

if not TYPE_CHECKING:  # for type checkers the imports above define every name

    def __getattr__(name: str) -> Any:
        try:
            module = _EXPORTS[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
