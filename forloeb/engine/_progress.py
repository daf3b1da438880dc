"""Progress recorded along the way: the self-help level, and an engagement's own fields.

* **Self-help as progress** (:func:`record_self_help`): the method's direction
  is help → self-help over time (vil selv → kan selv → gør det selv), so the
  level may be recorded any number of times in the stages the definition
  names (``self_help.stages``: action and self-help), each an event
  (``type = "self_help"``, payload ``{"level": …}``). The latest is kept in the
  self-help stage's record, where ``round_off`` looks for it; the history is
  the events. In a periodically reviewed stage it counts as a review.
* **Fields** (:func:`update_fields`): what an engagement keeps about itself
  (a group's contact person, number of participants, volunteers, partners),
  checked against ``definition.fields``, one event each (``type = "fields"``),
  kept in ``records["_fields"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..persistence import Row, WriteTransaction
from ._answers import FIELDS_RECORD, check, fields_asks
from ._checks import check_data
from ._commands import locked_for_staff, partners_of, review
from ._definition import WorkflowDefinition
from ._errors import GuardFailed, InvalidData, TransitionNotAllowed
from ._kernel import Kernel, fingerprint
from ._queries import history
from ._types import Actor, Engagement, Event

SELF_HELP = "record_self_help"
FIELDS = "update_fields"
LEVEL = "level"


def self_help_stage(definition: WorkflowDefinition) -> str | None:
    """The stage whose record holds the level: the self-help stage that asks it."""
    if definition.self_help is None:
        return None
    for key in definition.self_help.stages:
        if definition.stage(key).question(LEVEL) is not None:
            return key
    return definition.self_help.stages[-1] if definition.self_help.stages else None


def record_self_help(
    kernel: Kernel,
    engagement_id: int,
    level: str,
    actor: Actor,
    expected_version: int | None,
    idempotency_key: str | None,
) -> Engagement:
    """:meth:`Engine.record_self_help`."""
    digest = fingerprint("self_help", actor, engagement_id, level) if idempotency_key else ""

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        row, compiled, role = locked_for_staff(kernel, tx, engagement_id, expected_version, actor, SELF_HELP)
        state = row["state"]
        definition = compiled.definition
        target = self_help_stage(definition)
        if definition.self_help is None or target is None or state not in definition.self_help.stages:
            raise TransitionNotAllowed(engagement_id, state, SELF_HELP, labels=compiled.labels)
        levels = tuple(c.key for c in definition.self_help.levels)
        if not isinstance(level, str) or not level.strip():
            raise GuardFailed(engagement_id, state, SELF_HELP, missing=[LEVEL], labels=compiled.labels)
        if level not in levels:
            raise GuardFailed(
                engagement_id, state, SELF_HELP, invalid=[(LEVEL, level, levels)], labels=compiled.labels
            )
        now = kernel.clock()
        records = dict(row["data"])
        records[target] = {**records.get(target, {}), LEVEL: level}
        # Recording progress is a review of a periodically reviewed stage.
        values = {"data": records, "updated_at": now, **review(compiled.stages[state], now, kernel.calendar)}
        return kernel.commit_change(
            tx, row, values, actor, role, "self_help", None, state, {LEVEL: level}, now
        )

    return kernel.run(work, idempotency_key, digest)


def update_fields(
    kernel: Kernel,
    engagement_id: int,
    data: Mapping[str, Any],
    actor: Actor,
    expected_version: int | None,
    idempotency_key: str | None,
) -> Engagement:
    """:meth:`Engine.update_fields`."""
    given = check_data(data)
    if not given:
        raise InvalidData("nothing to record", detail_da="intet at registrere")
    digest = fingerprint("fields", actor, engagement_id, given) if idempotency_key else ""

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        row, compiled, role = locked_for_staff(kernel, tx, engagement_id, expected_version, actor, FIELDS)
        state = row["state"]
        definition = compiled.definition
        if not definition.fields or compiled.kind_of[state] == "final":
            raise TransitionNotAllowed(engagement_id, state, FIELDS, labels=compiled.labels)
        answers = check(
            fields_asks(definition),
            given,
            partners=partners_of(kernel, compiled),
            engagement_id=engagement_id,
            state=state,
            trigger=FIELDS,
            labels=compiled.labels,
        )
        now = kernel.clock()
        records = dict(row["data"])
        records[FIELDS_RECORD] = {**records.get(FIELDS_RECORD, {}), **answers}
        return kernel.commit_change(
            tx,
            row,
            {"data": records, "updated_at": now},
            actor,
            role,
            "fields",
            None,
            state,
            {"data": answers},
            now,
        )

    return kernel.run(work, idempotency_key, digest)


class Progress:
    """Progress recorded along the way on one engagement: ``engine.progress``.

    Apart from the facade, which is at its size: the self-help level and a
    group's fields are what the method declares for recording as the work
    goes (``self_help``, ``fields`` in its file), beside the stage answers.
    """

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel

    def record_self_help(
        self,
        engagement_id: int,
        level: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Record the self-help level reached (vil selv, kan selv, gør det selv), as often
        as it moves, in the stages the method names (action, self-help): one event each;
        the latest is what rounding off looks for. In a periodically reviewed stage it
        counts as a review."""
        return record_self_help(self._kernel, engagement_id, level, actor, expected_version, idempotency_key)

    def update_fields(
        self,
        engagement_id: int,
        data: Mapping[str, Any],
        *,
        actor: Actor,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Update the engagement's own fields (a group's contact person, participants,
        volunteers, partners), checked against the method's ``fields``: one event each,
        kept in ``data["_fields"]``."""
        return update_fields(self._kernel, engagement_id, data, actor, expected_version, idempotency_key)

    def self_help_history(
        self, engagement_id: int, *, actor: Actor, purpose: str | None = None
    ) -> list[tuple[str, str, str]]:
        """(when, stage, level) of every self-help level recorded, oldest first; a read of
        the engagement's history, if ``actor`` may see it, access-logged."""
        events = history(self._kernel, engagement_id, actor=actor, purpose=purpose)
        return [
            (e.occurred_at.isoformat(), str(e.to_state), str(e.data[LEVEL]))
            for e in events
            if e.type == "self_help"
        ]


__all__ = ["FIELDS", "SELF_HELP", "Progress", "record_self_help", "self_help_stage", "update_fields"]
