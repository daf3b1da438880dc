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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import (
        Actor,
        AuditKeyError,
        AuthenticationFailed,
        ConcurrencyError,
        DatabaseBusy,
        DatabaseError,
        DatabaseReadOnly,
        DatabaseRejected,
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
        Impersonation,
        InvalidData,
        LoginFailed,
        NotInRegister,
        OutboxMessageNotFound,
        PermissionDenied,
        Reminder,
        ReminderNotFound,
        Router,
        SchemaOutOfDate,
        StaffMember,
        StorageFull,
        TransitionNotAllowed,
        TriggerOption,
        UndeclaredKey,
        UnknownTrigger,
        UnknownWorkflow,
        WebSession,
        WorkflowDefinition,
        WorkingDayCalendar,
        configure_logging,
        load_settings,
    )

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "AuditKeyError",
    "AuthenticationFailed",
    "ConcurrencyError",
    "DatabaseBusy",
    "DatabaseError",
    "DatabaseReadOnly",
    "DatabaseRejected",
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
    "Impersonation",
    "InvalidData",
    "LoginFailed",
    "NotInRegister",
    "OutboxMessageNotFound",
    "PermissionDenied",
    "Reminder",
    "ReminderNotFound",
    "Router",
    "SchemaOutOfDate",
    "StaffMember",
    "StorageFull",
    "TransitionNotAllowed",
    "TriggerOption",
    "UndeclaredKey",
    "UnknownTrigger",
    "UnknownWorkflow",
    "WebSession",
    "WorkflowDefinition",
    "WorkingDayCalendar",
    "__version__",
    "configure_logging",
    "load_settings",
]

if not TYPE_CHECKING:  # for type checkers the imports above define every name

    def __getattr__(name: str) -> Any:
        # Each name comes from forloeb.engine when first used: importing forloeb
        # (or forloeb.cli, to show its help) then imports nothing heavy.
        if name not in __all__:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(".engine", __name__), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
