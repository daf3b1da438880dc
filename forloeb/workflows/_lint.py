"""Lint: the mistakes a definition can hold, all of them at once.

``lint_definition`` looks at a built definition (from a file or from Python);
the schema check of a file (``_schema.validate``) comes before it and covers
what only the file shows (unknown keys, wrong types, a deadline without a
unit). Key paths name things the way a file does: ``stages[first_contact]``,
``transitions[act].to``, ``outcomes[broken_off]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from forloeb.engine import (
    QUESTION_KINDS,
    RETURN_TO_CLOSED,
    RETURN_TO_PAUSED,
    ROLES,
    Choice,
    Label,
    Question,
    WorkflowDefinition,
)

from ._problems import Problem, Severity, definition_error, errors

_RETURN_FROM = {RETURN_TO_PAUSED: "paused", RETURN_TO_CLOSED: "final"}
_ACTING_ROLES = frozenset(ROLES) - {"auditor"}


@dataclass
class _Report:
    file: str | None
    problems: list[Problem]

    def add(self, code: str, where: str, message: str, severity: Severity = "error") -> None:
        self.problems.append(
            Problem(code=code, where=where, message=message, file=self.file, severity=severity)
        )

    def label(self, where: str, label: Label | None, *, required: bool = True) -> None:
        if label is None:
            if required:
                self.add("missing_label", where, "missing: expected a label in Danish (da) and English (en)")
            return
        prefix = f"{where}." if where else ""
        for lang, text, name in (("da", label.da, "Danish"), ("en", label.en, "English")):
            if not text.strip():
                self.add("missing_label", f"{prefix}{lang}", f"missing: expected the label in {name}")

    def keys(self, where: str, keys: Iterable[str], what: str) -> None:
        seen: set[str] = set()
        for key in keys:
            if not key:
                self.add("missing_key", where, f"a {what} without a key")
            elif key in seen:
                self.add("duplicate_key", f"{where}[{key}]", f"the {what} {key!r} is declared twice")
            seen.add(key)

    def choices(self, where: str, choices: Iterable[Choice], what: str) -> None:
        items = list(choices)
        self.keys(where, (c.key for c in items), what)
        for c in items:
            self.label(f"{where}[{c.key}]", c.labels)


def _questions(r: _Report, where: str, questions: tuple[Question, ...], has_partners: bool) -> None:
    r.keys(where, (q.key for q in questions), "question")
    for q in questions:
        at = f"{where}[{q.key}]"
        r.label(at, q.labels)
        r.label(f"{at}.help", q.help, required=False)
        if q.kind not in QUESTION_KINDS:
            required = "a required question" if q.required else "a question"
            r.add(
                "unknown_question_kind",
                f"{at}.kind",
                f"{required} of unknown kind {q.kind!r}: expected one of {', '.join(QUESTION_KINDS)}",
            )
        if q.kind == "choice":
            if not q.choices:
                r.add("choice_without_choices", f"{at}.choices", "a choice question needs its choices")
            r.choices(f"{at}.choices", q.choices, "choice")
        elif q.choices:
            r.add(
                "choices_unused",
                f"{at}.choices",
                f"choices are only used by a choice question, not by kind {q.kind!r}",
                "warning",
            )
        if q.kind == "partner" and not has_partners:
            r.add(
                "no_partner_register",
                f"{at}.kind",
                "a partner question needs the method's partner register ([[partners]])",
            )
        if q.multiple and q.kind not in ("choice", "partner"):
            r.add(
                "multiple_unused", f"{at}.multiple", "only choice and partner answers can be lists", "warning"
            )


def lint_definition(definition: WorkflowDefinition, *, file: str | None = None) -> list[Problem]:
    """Every problem lint finds in ``definition`` (errors and warnings), in file order."""
    r = _Report(file, [])
    d = definition
    if not d.name:
        r.add("missing_key", "name", "missing: expected the method's key")
    if d.version <= 0:
        r.add("missing_key", "version", "expected a version above 0")
    r.label("", d.labels)
    r.label("description", d.description, required=False)
    r.label("subject_label", d.subject_label, required=False)
    has_partners = bool(d.partners)

    kinds = {s.key: s.kind for s in d.stages}
    if d.initial not in kinds:
        r.add("unknown_stage", "initial", f"unknown stage {d.initial!r}: expected one of {', '.join(kinds)}")
    elif kinds[d.initial] != "active":
        r.add("initial_not_active", "initial", f"an engagement starts in an active stage, not {d.initial!r}")
    r.keys("stages", (s.key for s in d.stages), "stage")
    for s in d.stages:
        at = f"stages[{s.key}]"
        r.label(at, s.labels)
        r.label(f"{at}.description", s.description, required=False)
        if s.deadline is not None and s.kind != "active":
            r.add(
                "deadline_not_active",
                f"{at}.deadline",
                f"only active stages have deadlines, not a {s.kind} one",
            )
        _questions(r, f"{at}.questions", s.questions, has_partners)

    # Transitions.
    declared_outcomes = {o.key for o in d.outcomes}
    used_outcomes: set[str] = set()
    seen: dict[tuple[str, str], int] = {}
    for i, t in enumerate(d.transitions):
        at = f"transitions[{t.trigger or i}]"
        if not t.trigger:
            r.add("missing_key", f"{at}.trigger", "a transition without a trigger")
        r.label(at, t.labels)
        r.label(f"{at}.description", t.description, required=False)
        if not t.source:
            r.add("no_source", f"{at}.from", "expected the stage(s) the move leaves")
        for src in t.source:
            if src not in kinds:
                r.add(
                    "unknown_stage",
                    f"{at}.from",
                    f"unknown stage {src!r}: expected one of {', '.join(kinds)}",
                )
                continue
            if (t.trigger, src) in seen:
                r.add(
                    "duplicate_trigger",
                    f"{at}.from",
                    f"the trigger {t.trigger!r} leads from {src!r} twice "
                    f"(also transitions[{seen[(t.trigger, src)]}])",
                )
            else:
                seen[(t.trigger, src)] = i
        if t.dest in _RETURN_FROM:
            expected = _RETURN_FROM[t.dest]
            wrong = [s for s in t.source if s in kinds and kinds[s] != expected]
            if wrong:
                r.add(
                    "return_from_wrong_stage",
                    f"{at}.to",
                    f"{t.dest} goes back from {expected} stages only, not from {', '.join(wrong)}",
                )
        elif t.dest not in kinds:
            r.add(
                "unknown_destination",
                f"{at}.to",
                f"unknown destination stage {t.dest!r}: expected one of {', '.join(kinds)}, "
                f"{RETURN_TO_PAUSED} or {RETURN_TO_CLOSED}",
            )
        if not t.roles or not t.roles <= _ACTING_ROLES:
            r.add("bad_roles", f"{at}.roles", "expected worker and/or supervisor (auditors fire nothing)")
        for key in t.outcomes:
            used_outcomes.add(key)
            if key not in declared_outcomes:
                r.add(
                    "undeclared_outcome",
                    f"{at}.outcomes",
                    f"the outcome {key!r} is not declared: expected one of "
                    f"{', '.join(sorted(declared_outcomes)) or '(no [[outcomes]] declared)'}",
                )
        if t.default_outcome is not None and t.default_outcome not in t.outcomes:
            r.add(
                "undeclared_outcome",
                f"{at}.default_outcome",
                f"the default outcome {t.default_outcome!r} is not one of the move's outcomes",
            )
        _questions(r, f"{at}.questions", t.questions, has_partners)
        _undeclared_requires(r, d, t.trigger, at)

    # Reachability and ways out.
    _paths(r, d, kinds)

    # Outcomes, registers, activities, self-help, fields.
    r.keys("outcomes", (o.key for o in d.outcomes), "outcome")
    for o in d.outcomes:
        r.label(f"outcomes[{o.key}]", o.labels)
        if o.key not in used_outcomes:
            r.add("unused_outcome", f"outcomes[{o.key}]", "no move ends with this outcome", "warning")
    r.choices("referral_sources", d.referral_sources, "referral source")
    r.choices("partners", d.partners, "partner")
    r.keys("activities", (a.key for a in d.activity_kinds), "activity kind")
    for a in d.activity_kinds:
        r.label(f"activities[{a.key}]", a.labels)
        _questions(r, f"activities[{a.key}].fields", a.fields, has_partners)
    if d.activity_kinds and not any("activities" in s.records for s in d.stages):
        r.add(
            "activities_nowhere", "activities", "no stage records activities (activities = true)", "warning"
        )
    if d.self_help is not None:
        r.choices("self_help.levels", d.self_help.levels, "self-help level")
        if not d.self_help.levels:
            r.add("missing_key", "self_help.levels", "expected the self-help levels")
        for key in d.self_help.stages:
            if key not in kinds:
                r.add(
                    "unknown_stage",
                    "self_help.stages",
                    f"unknown stage {key!r}: expected one of {', '.join(kinds)}",
                )
    _questions(r, "fields", d.fields, has_partners)
    for key in d.choices:
        r.choices(f"choices[{key}]", d.choices[key], "choice")
    return r.problems


def _undeclared_requires(r: _Report, d: WorkflowDefinition, trigger: str, at: str) -> None:
    """A required key that no question declares, where the stage declares its keys (a typo, mostly)."""
    for t in d.transitions_for(trigger):
        own = {q.key for q in t.questions}
        outcome_keys = {k for o in d.outcomes for k in o.requires}
        fields = {q.key for q in d.fields}
        for src in t.source:
            try:
                stage = d.stage(src)
            except KeyError:
                continue
            if stage.extra_keys or not (stage.questions or t.questions):
                continue
            declared = own | outcome_keys | fields | {q.key for q in stage.questions} | {"outcome"}
            if not t.record:
                declared = own | outcome_keys | {"outcome"}
            for key in t.requires:
                if key not in declared:
                    r.add(
                        "undeclared_key",
                        f"{at}.requires",
                        f"{key!r} is required from {src!r} but no question there declares it",
                    )


def _paths(r: _Report, d: WorkflowDefinition, kinds: Mapping[str, str]) -> None:
    active = [k for k, kind in kinds.items() if kind == "active"]
    edges: dict[str, set[str]] = {k: set() for k in kinds}
    # A move to an unknown stage is reported as such; it still counts as a way out.
    moves: set[str] = set()
    for t in d.transitions:
        dests = active if t.dest in _RETURN_FROM else ([t.dest] if t.dest in kinds else [])
        for src in t.source:
            moves.add(src)
            if src in edges:
                edges[src].update(dests)
    if d.initial in kinds:
        reached = {d.initial}
        todo = [d.initial]
        while todo:
            for nxt in edges[todo.pop()]:
                if nxt not in reached:
                    reached.add(nxt)
                    todo.append(nxt)
        for key in kinds:
            if key not in reached:
                r.add("unreachable_stage", f"stages[{key}]", f"no move leads to {key!r} from {d.initial!r}")
    finals = {k for k, kind in kinds.items() if kind == "final"}
    for key, kind in kinds.items():
        if kind == "final":
            continue
        if key not in moves:
            r.add("no_way_out", f"stages[{key}]", f"the {kind} stage {key!r} has no move out of it")
            continue
        # From every stage some ending must be reachable, or engagements stay forever.
        seen = {key}
        todo = [key]
        ends = False
        while todo and not ends:
            for nxt in edges[todo.pop()]:
                if nxt in finals:
                    ends = True
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        if finals and not ends:
            r.add("never_ends", f"stages[{key}]", f"no ending can be reached from {key!r}", "warning")


def lint_migration(
    old: WorkflowDefinition, new: WorkflowDefinition, mapping: Mapping[str, str] | None = None
) -> list[Problem]:
    """Problems moving engagements from ``old`` to ``new`` with ``mapping`` (old stage -> new stage).

    Every stage of ``old`` must exist in ``new`` or be mapped to one of its
    stages, so that no engagement is stranded; a stage that keeps its key
    needs no entry. Also refused: a map from a stage ``old`` lacks, a map to a
    stage ``new`` lacks, and two different methods.
    """
    mapping = dict(mapping or {})
    r = _Report(None, [])
    if old.name != new.name:
        r.add("different_methods", "(migration)", f"{old.name} and {new.name} are different methods")
    old_kinds = {s.key: s.kind for s in old.stages}
    new_kinds = {s.key: s.kind for s in new.stages}
    for src, dest in mapping.items():
        at = f"map[{src}]"
        if src not in old_kinds:
            r.add(
                "unknown_stage",
                at,
                f"{src!r} is not a stage of {old.name} version {old.version}: "
                f"expected one of {', '.join(old_kinds)}",
            )
        if dest not in new_kinds:
            r.add(
                "unknown_stage",
                at,
                f"the map leads to {dest!r}, which is not a stage of {new.name} version {new.version}: "
                f"expected one of {', '.join(new_kinds)}",
            )
        elif src in old_kinds and old_kinds[src] != new_kinds[dest]:
            r.add(
                "kind_changes",
                at,
                f"a {old_kinds[src]} stage is mapped to a {new_kinds[dest]} one",
                "warning",
            )
    for key in old_kinds:
        if key not in mapping and key not in new_kinds:
            r.add(
                "stranded_stage",
                f"stages[{key}]",
                f"version {new.version} has no stage {key!r}: map it (--map {key}=NEW)",
            )
    return r.problems


def migration_map(
    old: WorkflowDefinition, new: WorkflowDefinition, mapping: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The full stage map old -> new (unchanged keys map to themselves).

    Raises a DefinitionError listing the problems if any stage would strand.
    """
    problems = errors(lint_migration(old, new, mapping))
    if problems:
        raise definition_error(f"{old.name} {old.version}->{new.version}", problems)
    full = {s.key: s.key for s in old.stages if s.key in {n.key for n in new.stages}}
    full.update(mapping or {})
    return full


__all__ = ["lint_definition", "lint_migration", "migration_map"]
