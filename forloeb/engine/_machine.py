"""Definitions -> ``transitions`` machines, built once and shared.

One ``Machine(model=None)`` per (workflow, version). A fire builds a small
carrier object from the stored row and calls ``machine.events[trigger].trigger``
on it: the maintainers' recommended pattern for many models, ~10 µs, and safe
under threads because the carrier is private to the call (no add_model, no
shared model, no LockedMachine — the database transaction is the real guard).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from transitions import Machine, MachineError
from transitions.core import EventData

from ._answers import Asks, empty, move_asks, stage_asks, start_asks
from ._definition import (
    QUESTION_KINDS,
    RETURN_TO_CLOSED,
    RETURN_TO_PAUSED,
    ROLES,
    GuardContext,
    Labels,
    Question,
    Stage,
    Transition,
    WorkflowDefinition,
)
from ._errors import DefinitionError

_RETURN_ATTR = {RETURN_TO_PAUSED: "paused_from", RETURN_TO_CLOSED: "closed_from"}


class Carrier:
    """The throwaway model a trigger runs on: one per call, never shared."""

    __slots__ = (
        "closed_from",
        "data",
        "engagement_data",
        "invalid",
        "missing",
        "paused_from",
        "record",
        "state",
    )

    def __init__(
        self,
        state: str,
        paused_from: str | None,
        closed_from: str | None,
        record: Mapping[str, Any],
        data: Mapping[str, Any],
        engagement_data: Mapping[str, Any],
    ) -> None:
        self.state = state
        self.paused_from = paused_from
        self.closed_from = closed_from
        self.record = record
        self.data = data
        self.engagement_data = engagement_data
        self.missing: list[str] = []
        self.invalid: list[tuple[str, object, tuple[str, ...]]] = []


# Missing for a guard: None, blank text, or an empty list or object.
_empty = empty


def _guard_condition(
    spec: Transition,
    choices: Mapping[str, tuple[str, ...]],
    required: Mapping[str, tuple[str, ...]],
    outcome_requires: Mapping[str, tuple[str, ...]],
) -> Callable[[EventData], bool]:
    """The condition the machine checks; it notes what is missing on the carrier.

    ``required`` holds, per source stage, the keys that must be present
    (``WorkflowDefinition.required_to_leave``: the move's ``requires`` and,
    for definitions with questions, the required questions). A move that
    declares outcomes checks the chosen one (data key ``outcome``) and the
    keys that outcome requires.
    """

    def condition(ev: EventData) -> bool:
        c = cast(Carrier, ev.model)
        missing = [k for k in required.get(c.state, spec.requires) if _empty(c.record.get(k))]
        invalid_outcome: list[tuple[str, object, tuple[str, ...]]] = []
        if spec.outcomes:
            chosen = c.record.get("outcome")
            if _empty(chosen):
                chosen = spec.default_outcome or (spec.outcomes[0] if len(spec.outcomes) == 1 else None)
            if chosen is None:
                if "outcome" not in missing:
                    missing.append("outcome")
            elif chosen not in spec.outcomes:
                invalid_outcome.append(("outcome", chosen, spec.outcomes))
            else:
                missing.extend(
                    k
                    for k in outcome_requires.get(str(chosen), ())
                    if _empty(c.record.get(k)) and k not in missing
                )
        if spec.guards:
            ctx = GuardContext(
                state=c.state,
                trigger=spec.trigger,
                record=c.record,
                data=c.data,
                engagement_data=c.engagement_data,
            )
            for guard in spec.guards:
                missing.extend(k for k in guard(ctx) if k not in missing)
        invalid = [
            (k, v, allowed)
            for k, allowed in choices.items()
            if (v := c.data.get(k)) is not None and v not in allowed
        ]
        invalid.extend(invalid_outcome)
        c.missing.extend(missing)
        c.invalid.extend(invalid)
        return not missing and not invalid

    return condition


def _returns_to(attr: str, stage: str) -> Callable[[EventData], bool]:
    def condition(ev: EventData) -> bool:
        return bool(getattr(ev.model, attr) == stage)

    return condition


@dataclass(frozen=True)
class CompiledWorkflow:
    """A definition with its machine and the lookups a fire needs, computed once."""

    definition: WorkflowDefinition
    machine: Machine
    choice_keys: Mapping[str, tuple[str, ...]]
    kind_of: Mapping[str, str]
    stages: Mapping[str, Stage]
    roles: Mapping[str, frozenset[str]]
    specs: Mapping[tuple[str, str], Transition]
    # The labels error messages name stages, triggers and choices by.
    labels: Labels
    # What each move from each stage takes (trigger, source) -> Asks; what
    # start takes; what record_details takes in each stage.
    asks: Mapping[tuple[str, str], Asks]
    start_asks: Asks
    stage_asks: Mapping[str, Asks]
    # The keys that must be given (or recorded) to fire a trigger from a stage.
    required: Mapping[tuple[str, str], tuple[str, ...]]

    def spec(self, trigger: str, source: str) -> Transition:
        return self.specs[(trigger, source)]

    def trigger(self, trigger: str, carrier: Carrier) -> bool:
        """Run ``trigger`` on ``carrier``. Raises MachineError when not valid from its state."""
        return bool(self.machine.events[trigger].trigger(carrier))

    def leads_from(self, trigger: str, state: str) -> bool:
        return state in self.machine.events[trigger].transitions


def _check_questions_and_outcomes(
    definition: WorkflowDefinition, fail: Callable[[str], DefinitionError]
) -> None:
    """The parts of the model a machine relies on: question kinds, outcomes named by moves.

    ``forloeb.workflows.lint`` reports these and more, all at once, with key
    paths; this is the last line for Python-built definitions.
    """
    groups: list[tuple[str, tuple[Question, ...]]] = [("fields", definition.fields)]
    groups += [(f"stage {s.key}", s.questions) for s in definition.stages]
    groups += [(f"{t.trigger}", t.questions) for t in definition.transitions]
    groups += [(f"activity {a.key}", a.fields) for a in definition.activity_kinds]
    for where, questions in groups:
        keys = [q.key for q in questions]
        if len(set(keys)) != len(keys):
            raise fail(f"{where}: question keys must be unique")
        for q in questions:
            if q.kind not in QUESTION_KINDS:
                raise fail(f"{where}: question {q.key!r} has unknown kind {q.kind!r}")
            if q.kind == "choice" and not q.choices:
                raise fail(f"{where}: choice question {q.key!r} has no choices")
    declared = {o.key for o in definition.outcomes}
    if len(declared) != len(definition.outcomes):
        raise fail("outcome keys must be unique")
    for t in definition.transitions:
        for key in t.outcomes:
            if key not in declared:
                raise fail(f"{t.trigger}: outcome {key!r} is not declared")
        if t.default_outcome is not None and t.default_outcome not in t.outcomes:
            raise fail(f"{t.trigger}: default outcome {t.default_outcome!r} is not one of its outcomes")
    if definition.self_help is not None:
        stage_keys = {s.key for s in definition.stages}
        for key in definition.self_help.stages:
            if key not in stage_keys:
                raise fail(f"self-help is recorded in unknown stage {key!r}")


def compile_workflow(definition: WorkflowDefinition) -> CompiledWorkflow:
    """Check ``definition`` and build its machine; DefinitionError on any mistake."""
    name = definition.name

    def fail(detail: str) -> DefinitionError:
        return DefinitionError(name, detail)

    keys = [s.key for s in definition.stages]
    if len(set(keys)) != len(keys):
        raise fail("stage keys must be unique")
    if definition.initial not in keys:
        raise fail(f"initial stage {definition.initial!r} is not a stage")
    kinds = {s.key: s.kind for s in definition.stages}
    active = definition.active_stages
    choices = {k: tuple(c.key for c in v) for k, v in definition.choices.items()}
    _check_questions_and_outcomes(definition, fail)
    outcome_requires = {o.key: o.requires for o in definition.outcomes}

    machine_transitions: list[dict[str, Any]] = []
    for spec in definition.transitions:
        for src in spec.source:
            if src not in kinds:
                raise fail(f"{spec.trigger}: unknown source stage {src!r}")
        if not spec.roles or not spec.roles <= set(ROLES) - {"auditor"}:
            raise fail(f"{spec.trigger}: roles must be among worker, supervisor (auditors fire nothing)")
        if not spec.source:
            raise fail(f"{spec.trigger}: no source stage")
        required = {src: definition.required_to_leave(spec.trigger, src) for src in spec.source}
        guard = _guard_condition(spec, choices, required, outcome_requires)
        if spec.dest in _RETURN_ATTR:
            # One machine transition per possible return stage, each guarded by
            # "is this where we came from": the machine picks the one that holds.
            attr = _RETURN_ATTR[spec.dest]
            expected_kind = "paused" if attr == "paused_from" else "final"
            if any(kinds[s] != expected_kind for s in spec.source):
                raise fail(f"{spec.trigger}: {spec.dest} only from {expected_kind} stages")
            for stage in active:
                machine_transitions.append(
                    {
                        "trigger": spec.trigger,
                        "source": list(spec.source),
                        "dest": stage,
                        "conditions": [_returns_to(attr, stage), guard],
                    }
                )
            continue
        if spec.dest not in kinds:
            raise fail(f"{spec.trigger}: unknown destination {spec.dest!r}")
        machine_transitions.append(
            {
                "trigger": spec.trigger,
                "source": list(spec.source),
                "dest": spec.dest,
                "conditions": [guard],
            }
        )
    # Every trigger/source pair must be unambiguous, unless it is a return.
    seen: set[tuple[str, str]] = set()
    for spec in definition.transitions:
        for src in spec.source:
            if (spec.trigger, src) in seen:
                raise fail(f"{spec.trigger} from {src} is declared twice")
            seen.add((spec.trigger, src))

    machine = Machine(
        model=None,
        states=keys,
        transitions=machine_transitions,
        initial=definition.initial,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    return CompiledWorkflow(
        definition=definition,
        machine=machine,
        choice_keys=choices,
        kind_of=kinds,
        stages={s.key: s for s in definition.stages},
        roles={t: definition.roles_for(t) for t in definition.triggers},
        specs={(t.trigger, src): t for t in definition.transitions for src in t.source},
        labels=Labels.of(definition),
        asks={
            (t.trigger, src): move_asks(definition, t, definition.stage(src))
            for t in definition.transitions
            for src in t.source
        },
        start_asks=start_asks(definition),
        stage_asks={s.key: stage_asks(s) for s in definition.stages},
        required={
            (t.trigger, src): definition.required_to_leave(t.trigger, src)
            for t in definition.transitions
            for src in t.source
        },
    )


__all__ = ["Carrier", "CompiledWorkflow", "MachineError", "compile_workflow"]
