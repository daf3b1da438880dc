"""The engine: definitions, machines, the Engine facade, errors.

Implementation lives in ``_``-prefixed modules; this package re-exports what
other parts of forloeb (and embedding apps, through ``forloeb``) may use.
"""

from ._calendar import BusinessCalendar, WorkingDayCalendar
from ._chain import GENESIS, canonical_bytes, event_hash
from ._definition import (
    AUDITOR,
    RETURN_TO_CLOSED,
    RETURN_TO_PAUSED,
    ROLES,
    STAFF,
    SUPERVISOR,
    WORKER,
    Choice,
    Deadline,
    Guard,
    GuardContext,
    Label,
    Stage,
    Transition,
    WorkflowDefinition,
)
from ._engine import MAX_PAYLOAD_BYTES, Engine, replay
from ._errors import (
    ConcurrencyError,
    DatabaseUnavailable,
    DefinitionError,
    EngagementNotFound,
    ForloebError,
    GuardFailed,
    IdempotencyConflict,
    InvalidData,
    PermissionDenied,
    SchemaOutOfDate,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
)
from ._i18n import LANGS, Lang, field_label
from ._logging import configure_logging
from ._types import Actor, Engagement, Event, TriggerOption

__all__ = [
    "AUDITOR",
    "GENESIS",
    "LANGS",
    "MAX_PAYLOAD_BYTES",
    "RETURN_TO_CLOSED",
    "RETURN_TO_PAUSED",
    "ROLES",
    "STAFF",
    "SUPERVISOR",
    "WORKER",
    "Actor",
    "BusinessCalendar",
    "Choice",
    "ConcurrencyError",
    "DatabaseUnavailable",
    "Deadline",
    "DefinitionError",
    "Engagement",
    "EngagementNotFound",
    "Engine",
    "Event",
    "ForloebError",
    "Guard",
    "GuardContext",
    "GuardFailed",
    "IdempotencyConflict",
    "InvalidData",
    "Label",
    "Lang",
    "PermissionDenied",
    "SchemaOutOfDate",
    "Stage",
    "Transition",
    "TransitionNotAllowed",
    "TriggerOption",
    "UnknownTrigger",
    "UnknownWorkflow",
    "WorkflowDefinition",
    "WorkingDayCalendar",
    "canonical_bytes",
    "configure_logging",
    "event_hash",
    "field_label",
    "replay",
]
