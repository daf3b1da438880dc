"""Request bodies (checked: unknown fields and wrong types are refused) and the
documented shapes of responses, for the OpenAPI document.

Responses are built by the same ``to_dict`` functions the CLI's ``--json``
prints (``Engagement.to_dict``, ``Event.to_dict`` …) and sent as they are;
the models below describe those shapes, and a test checks real responses
against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    # Unknown fields are refused (a typo must not be dropped silently), and
    # values are not coerced: "3" is not a number.
    model_config = ConfigDict(extra="forbid", strict=True)


class StartBody(_Body):
    workflow: str = Field(examples=["individual_course"])
    subject: str = Field(description="Case reference of the resident or actor (no CPR).", examples=["sag-17"])
    source: str = Field(description="Referral source.", examples=["skole"])
    assignee: str | None = None
    supervisor: str | None = None
    team: str | None = None
    tags: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)


class FireBody(_Body):
    trigger: str = Field(examples=["make_contact"])
    data: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None


class NoteBody(_Body):
    text: str = Field(examples=["Talte med moren i telefon."])


class RecordBody(_Body):
    data: dict[str, Any] = Field(default_factory=dict, examples=[{"focus": "Skolegang"}])
    fields: bool = Field(False, description="The data are the engagement's own fields.")
    self_help: str | None = Field(None, description="The self-help level reached (wants, can, does).")


class ActivityBody(_Body):
    kind: str = Field(examples=["investigate"])
    description: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class ConsentBody(_Body):
    information: list[str] | str = Field(examples=[["plan", "status"]])
    to: list[str] | str = Field(examples=[["jobcenter"]])
    purpose: str
    given_on: str | None = Field(None, description="YYYY-MM-DD (default: today).")
    how: Literal["written", "oral"] = "written"


class WithdrawBody(_Body):
    withdrawn_on: str | None = Field(None, description="YYYY-MM-DD (default: today).")
    reason: str | None = None


class HandoverBody(_Body):
    format: Literal["md", "json"] = "json"
    receiver: str | None = None
    purpose: str | None = None


class SnoozeBody(_Body):
    until: str = Field(description="ISO 8601 time with an offset.", examples=["2026-12-07T09:00:00+01:00"])
    reason: str


class AccessRequestBody(_Body):
    subject: str
    format: Literal["md", "json"] = "json"
    redact_staff: bool = True
    purpose: str | None = None


# -- responses (documentation of the to_dict shapes) ------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


Time = str | None


class EngagementOut(_Out):
    id: int
    workflow: str
    workflow_version: int
    state: str
    paused_from: str | None
    closed_from: str | None
    cycle: int
    subject: str
    source: str
    assignee: str | None
    supervisor: str | None
    team: str | None
    tags: list[str]
    data: dict[str, Any]
    version: int = Field(description="Also the response's ETag.")
    head_hash: str
    created_at: Time
    updated_at: Time
    stage_entered_at: Time
    stage_due_at: Time
    next_reminder_at: Time
    outcome: str | None


class EventOut(_Out):
    engagement_id: int
    seq: int
    type: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    actor: str
    role: str
    data: dict[str, Any]
    occurred_at: str
    prev_hash: str
    hash: str
    row_hash: str | None = Field(
        description="The engagement row's decided columns as this event attests them."
    )


class TriggerOut(_Out):
    trigger: str
    dest: str | None
    allowed: bool
    requires: list[str]
    reason: str | None = Field(description="Why not, in the language of Accept-Language.")


class ReminderOut(_Out):
    id: int
    engagement_id: int
    stage: str
    stage_entered_at: Time
    level: int
    recipient_role: str
    recipient: str | None
    raised_at: Time
    due_at: Time
    acknowledged_at: Time
    acknowledged_by: str | None
    snoozed_until: Time
    snooze_reason: str | None


class ConsentOut(_Out):
    id: int
    information: list[str]
    to: list[str]
    purpose: str
    given_on: str
    how: str
    given_by: str | None
    withdrawn_on: str | None
    withdrawn_reason: str | None
    current: bool


class WorkflowSummary(_Out):
    name: str
    version: int
    labels: dict[str, str]


class AuditRecordOut(EventOut):
    workflow: str | None
    subject: str | None
    team: str | None


class AuditPageOut(_Out):
    records: list[AuditRecordOut]
    next_cursor: str | None


class TimelineOut(_Out):
    engagement: dict[str, Any]
    events: list[EventOut]
    reminders: list[dict[str, Any]]


class MeOut(_Out):
    id: str
    roles: list[str]
    teams: list[str]


class HealthOut(_Out):
    status: str
    schema_revision: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details; the error's data are further members."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="Stable per error class: urn:forloeb:problem:<name>.")
    title: str
    status: int
    detail: str = Field(description="The error's message in Danish or English (Accept-Language).")
    instance: str | None = None
    code: str | None = Field(None, description="The error code the CLI's --json prints.")


__all__ = [
    "AccessRequestBody",
    "ActivityBody",
    "AuditPageOut",
    "ConsentBody",
    "ConsentOut",
    "EngagementOut",
    "EventOut",
    "FireBody",
    "HandoverBody",
    "HealthOut",
    "MeOut",
    "NoteBody",
    "Problem",
    "RecordBody",
    "ReminderOut",
    "SnoozeBody",
    "StartBody",
    "TimelineOut",
    "TriggerOut",
    "WithdrawBody",
    "WorkflowSummary",
]
