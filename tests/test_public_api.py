"""The public surface: small, re-exported from ``forloeb``, one exception tree."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import forloeb
import forloeb.engine


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# What apps import today (issue 8's refactor keeps it): a name may be added,
# none may go. Sorted, so that a diff shows what changed.
FORLOEB_API = _names(
    """
    Actor ConcurrencyError DatabaseUnavailable Deadline DefinitionError DeliveryError DispatchResult
    Engagement EngagementNotFound Engine ErasureReceipt Escalation Event ForloebError GuardFailed
    IdempotencyConflict InvalidData OutboxMessageNotFound PermissionDenied Reminder ReminderNotFound
    Router SchemaOutOfDate TransitionNotAllowed TriggerOption UnknownTrigger UnknownWorkflow
    WorkflowDefinition WorkingDayCalendar __version__ configure_logging load_settings
    """
)
ENGINE_API = _names(
    """
    AUDITOR AccessEntry Actor Audit AuditPage AuditRecord BusinessCalendar CONFIG_ENV ChainBreak
    Choice ConcurrencyError Consent DEFAULT_RECEIVERS DatabaseUnavailable Deadline DeadlineOverrides
    DefinitionError DeliveryError DispatchResult ESCALATE_TO_SUPERVISOR Engagement
    EngagementNotFound Engine ErasureReceipt Escalation Event ForloebError GENESIS Guard
    GuardContext GuardFailed HandoverPackage IdempotencyConflict InvalidData LANGS Label Lang
    LogNotifier MAX_PAYLOAD_BYTES Notification Notifier OutboxMessage OutboxMessageNotFound
    PermissionDenied RETURN_TO_CLOSED RETURN_TO_PAUSED ROLES Reminder ReminderNotFound RetryPolicy
    Route Router SECTIONS STAFF SUPERVISOR SYSTEM_ACTOR SchemaOutOfDate Settings SmtpNotifier Stage
    Transition TransitionNotAllowed TriggerOption UnknownTrigger UnknownWorkflow VerifyReport WORKER
    WebhookNotifier WorkflowDefinition WorkingDayCalendar can_see canonical_bytes configure_logging
    consent_guard event_hash field_label is_consent_basis load_settings parse_time replay
    settings_from_mapping verify_signature visibility
    """
)


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


PACKAGES = pytest.mark.parametrize(
    ("package", "pinned"),
    [(forloeb, FORLOEB_API), (forloeb.engine, ENGINE_API)],
    ids=["forloeb", "forloeb.engine"],
)


@PACKAGES
def test_every_name_in_all_exists(package: ModuleType, pinned: frozenset[str]) -> None:
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert missing == [], f"{package.__name__}.__all__ names what it does not define: {missing}"


@PACKAGES
def test_all_names_each_name_once(package: ModuleType, pinned: frozenset[str]) -> None:
    assert len(package.__all__) == len(set(package.__all__))


@PACKAGES
def test_no_public_name_disappears(package: ModuleType, pinned: frozenset[str]) -> None:
    gone = sorted(pinned - set(package.__all__))
    assert gone == [], f"names apps import from {package.__name__} are gone: {gone}"


def test_the_top_level_names_are_the_engine_packages_objects() -> None:
    # One object under two names, never two classes that look alike.
    shared = (set(forloeb.__all__) & set(forloeb.engine.__all__)) - {"__version__"}
    assert shared
    assert [n for n in sorted(shared) if getattr(forloeb, n) is not getattr(forloeb.engine, n)] == []


def test_every_error_is_a_public_forloeb_error() -> None:
    # Import every module so that every exception class is defined.
    for module in pkgutil.walk_packages(forloeb.__path__, "forloeb."):
        if module.name != "forloeb.__main__":
            importlib.import_module(module.name)
    errors = {cls for cls in _all_subclasses(forloeb.ForloebError) if cls.__module__.startswith("forloeb.")}
    assert errors, "no error classes found"
    missing = sorted(cls.__name__ for cls in errors if getattr(forloeb, cls.__name__, None) is not cls)
    assert missing == [], f"errors not exported from forloeb: {missing}"
