"""forloeb: an engine for engagement processes (forløb).

Drives a neighbourhood secretariat's work with a resident or a civil-society
actor through the Vollsmose method as explicit state machines, with a
hash-chained, append-only event log.

    from forloeb import Actor, Engine

    with Engine.open("sqlite:///forloeb.db", migrate=True) as engine:
        e = engine.start("individual_course", subject="sag-17", source="skole",
                         actor=Actor.worker("anna"))
        e = engine.fire(e.id, "make_contact", actor=Actor.worker("anna"))
"""

from .engine import (
    Actor,
    ConcurrencyError,
    DatabaseUnavailable,
    Deadline,
    DefinitionError,
    DeliveryError,
    DispatchResult,
    Engagement,
    EngagementNotFound,
    Engine,
    ErasureReceipt,
    Escalation,
    Event,
    ForloebError,
    GuardFailed,
    IdempotencyConflict,
    InvalidData,
    OutboxMessageNotFound,
    PermissionDenied,
    Reminder,
    ReminderNotFound,
    Router,
    SchemaOutOfDate,
    TransitionNotAllowed,
    TriggerOption,
    UnknownTrigger,
    UnknownWorkflow,
    WorkflowDefinition,
    WorkingDayCalendar,
    configure_logging,
    load_settings,
)

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "ConcurrencyError",
    "DatabaseUnavailable",
    "Deadline",
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
    "GuardFailed",
    "IdempotencyConflict",
    "InvalidData",
    "OutboxMessageNotFound",
    "PermissionDenied",
    "Reminder",
    "ReminderNotFound",
    "Router",
    "SchemaOutOfDate",
    "TransitionNotAllowed",
    "TriggerOption",
    "UnknownTrigger",
    "UnknownWorkflow",
    "WorkflowDefinition",
    "WorkingDayCalendar",
    "__version__",
    "configure_logging",
    "load_settings",
]
