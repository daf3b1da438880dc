"""The engine: definitions, machines, the Engine facade, errors.

Implementation lives in ``_``-prefixed modules; this package re-exports what
other parts of forloeb (and embedding apps, through ``forloeb``) may use.
"""

from ._access import can_see, visibility
from ._audit import AccessEntry, Audit, AuditPage, AuditRecord, ChainBreak, VerifyReport, parse_time
from ._calendar import BusinessCalendar, WorkingDayCalendar
from ._chain import GENESIS, canonical_bytes, event_hash
from ._checks import MAX_PAYLOAD_BYTES
from ._config import CONFIG_ENV, Settings, load_settings, settings_from_mapping
from ._consent import DEFAULT_RECEIVERS, SECTIONS, Consent, consent_guard, is_consent_basis
from ._definition import (
    AUDITOR,
    ESCALATE_TO_SUPERVISOR,
    RETURN_TO_CLOSED,
    RETURN_TO_PAUSED,
    ROLES,
    STAFF,
    SUPERVISOR,
    WORKER,
    Choice,
    Deadline,
    Escalation,
    Guard,
    GuardContext,
    Label,
    Stage,
    Transition,
    WorkflowDefinition,
)
from ._dispatch import DispatchResult, OutboxMessage, RetryPolicy
from ._engine import DeadlineOverrides, Engine
from ._erasure import ErasureReceipt
from ._errors import (
    ConcurrencyError,
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
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
)
from ._handover import HandoverPackage
from ._i18n import LANGS, Lang, field_label
from ._logging import configure_logging
from ._queries import replay
from ._reminders import SYSTEM_ACTOR
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

__all__ = [
    "AUDITOR",
    "CONFIG_ENV",
    "DEFAULT_RECEIVERS",
    "ESCALATE_TO_SUPERVISOR",
    "GENESIS",
    "LANGS",
    "MAX_PAYLOAD_BYTES",
    "RETURN_TO_CLOSED",
    "RETURN_TO_PAUSED",
    "ROLES",
    "SECTIONS",
    "STAFF",
    "SUPERVISOR",
    "SYSTEM_ACTOR",
    "WORKER",
    "AccessEntry",
    "Actor",
    "Audit",
    "AuditPage",
    "AuditRecord",
    "BusinessCalendar",
    "ChainBreak",
    "Choice",
    "ConcurrencyError",
    "Consent",
    "DatabaseUnavailable",
    "Deadline",
    "DeadlineOverrides",
    "DefinitionError",
    "DeliveryError",
    "DispatchResult",
    "Engagement",
    "EngagementNotFound",
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
    "InvalidData",
    "Label",
    "Lang",
    "LogNotifier",
    "Notification",
    "Notifier",
    "OutboxMessage",
    "OutboxMessageNotFound",
    "PermissionDenied",
    "Reminder",
    "ReminderNotFound",
    "RetryPolicy",
    "Route",
    "Router",
    "SchemaOutOfDate",
    "Settings",
    "SmtpNotifier",
    "Stage",
    "Transition",
    "TransitionNotAllowed",
    "TriggerOption",
    "UnknownTrigger",
    "UnknownWorkflow",
    "VerifyReport",
    "WebhookNotifier",
    "WorkflowDefinition",
    "WorkingDayCalendar",
    "can_see",
    "canonical_bytes",
    "configure_logging",
    "consent_guard",
    "event_hash",
    "field_label",
    "is_consent_basis",
    "load_settings",
    "parse_time",
    "replay",
    "settings_from_mapping",
    "verify_signature",
    "visibility",
]
