"""What changed between two definitions (two versions of a method, usually).

``diff(a, b)`` lists stages, questions, moves, outcomes and registers added,
removed or changed, with key paths in the words of a file
(``stages[first_contact].questions[what_brings_us]``). It is what
``forloeb workflows diff NAME A B`` prints, and what a secretariat reads before
migrating running engagements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from forloeb.engine import (
    ActivityKind,
    Choice,
    Deadline,
    Label,
    Outcome,
    Question,
    Stage,
    Transition,
    WorkflowDefinition,
)

ChangeKind = Literal["added", "removed", "changed"]
_SIGN = {"added": "+", "removed": "-", "changed": "~"}
_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class Change:
    change: ChangeKind
    what: str
    where: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{_SIGN[self.change]} {self.what} {self.where}{detail}"

    def as_dict(self) -> dict[str, str]:
        return {"change": self.change, "what": self.what, "where": self.where, "detail": self.detail}


def _label(label: Label | None) -> str:
    return "-" if label is None else f"{label.da} / {label.en}"


def _choices(choices: Iterable[Choice]) -> str:
    return ", ".join(c.key for c in choices) or "-"


def _deadline(d: Deadline | None) -> str:
    if d is None:
        return "none"
    text = f"{d.amount} {d.unit}"
    if d.rearm:
        text += ", periodic"
    for e in d.escalation if not d.rearm else ():
        text += f", then {e.to} after {e.after} {e.unit}"
    return text


def _question_attrs(q: Question) -> dict[str, str]:
    return {
        "label": _label(q.labels),
        "kind": q.kind,
        "required": str(q.required).lower(),
        "choices": _choices(q.choices),
        "multiple": str(q.multiple).lower(),
    }


def _stage_attrs(s: Stage) -> dict[str, str]:
    return {
        "label": _label(s.labels),
        "kind": s.kind,
        "deadline": _deadline(s.deadline),
        "extra_keys": str(s.extra_keys).lower(),
        "records": ", ".join(s.records) or "-",
    }


def _transition_attrs(d: WorkflowDefinition) -> Callable[[Transition], dict[str, str]]:
    def attrs(t: Transition) -> dict[str, str]:
        # What it takes to fire, wherever it is declared (``requires`` in version 1,
        # required questions in version 2), so that moving a key is not a change.
        needs = dict.fromkeys(k for src in t.source for k in d.required_to_leave(t.trigger, src))
        return {
            "label": _label(t.labels),
            "from": ", ".join(t.source),
            "to": t.dest,
            "needs": ", ".join(needs) or "-",
            **_transition_flags(t),
        }

    return attrs


def _transition_flags(t: Transition) -> dict[str, str]:
    return {
        "roles": ", ".join(sorted(t.roles)),
        "guards": ", ".join(getattr(g, "__name__", repr(g)) for g in t.guards) or "-",
        "record": str(t.record).lower(),
        "new_cycle": str(t.new_cycle).lower(),
        "flexible": str(t.flexible).lower(),
        "answers_required": str(t.answers_required).lower(),
        "outcomes": ", ".join(t.outcomes) or "-",
        "default_outcome": t.default_outcome or "-",
    }


def _outcome_attrs(o: Outcome) -> dict[str, str]:
    return {"label": _label(o.labels), "requires": ", ".join(o.requires) or "-"}


def _choice_attrs(c: Choice) -> dict[str, str]:
    return {"label": _label(c.labels)}


def _activity_attrs(a: ActivityKind) -> dict[str, str]:
    return {"label": _label(a.labels)}


def _changed(a: Mapping[str, str], b: Mapping[str, str]) -> str:
    return "; ".join(f"{k} {a[k]!r} -> {b[k]!r}" for k in a if a[k] != b.get(k))


class _Diff:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(self, change: ChangeKind, what: str, where: str, detail: str = "") -> None:
        self.changes.append(Change(change=change, what=what, where=where, detail=detail))

    def keyed(
        self,
        what: str,
        where: str,
        a: Iterable[_T],
        b: Iterable[_T],
        key: Callable[[_T], str],
        attrs: Callable[[_T], dict[str, str]],
        inner: Callable[[str, _T, _T], None] | None = None,
        attrs_b: Callable[[_T], dict[str, str]] | None = None,
    ) -> None:
        """Compare items by key; ``attrs_b`` describes ``b``'s items when it needs ``b``'s definition."""
        right_attrs = attrs_b or attrs
        left = {key(x): x for x in a}
        right = {key(x): x for x in b}
        for k, x in left.items():
            at = f"{where}[{k}]"
            if k not in right:
                self.add("removed", what, at)
                continue
            detail = _changed(attrs(x), right_attrs(right[k]))
            if detail:
                self.add("changed", what, at, detail)
            if inner is not None:
                inner(at, x, right[k])
        for k in right:
            if k not in left:
                self.add("added", what, f"{where}[{k}]", _label(getattr(right[k], "labels", None)))

    def questions(self, where: str, a: Iterable[Question], b: Iterable[Question]) -> None:
        self.keyed("question", f"{where}.questions", a, b, lambda q: q.key, _question_attrs)


def _group(transitions: Iterable[Transition]) -> dict[str, list[Transition]]:
    out: dict[str, list[Transition]] = {}
    for t in transitions:
        out.setdefault(t.trigger, []).append(t)
    return out


def _merged(ts: list[Transition]) -> Transition:
    """One trigger's transitions as one, for comparing (sources joined; the first's other attributes)."""
    first = ts[0]
    if len(ts) == 1:
        return first
    sources = tuple(s for t in ts for s in t.source)
    dests = sorted({t.dest for t in ts})
    return replace(first, source=sources, dest=" | ".join(dests))


def diff(a: WorkflowDefinition, b: WorkflowDefinition) -> list[Change]:
    """What changed from ``a`` to ``b``: additions, removals and changes, in file order."""
    out = _Diff()
    method = {
        "name": a.name,
        "label": _label(a.labels),
        "description": _label(a.description),
        "subject_label": _label(a.subject_label),
        "initial": a.initial,
    }
    other = {
        "name": b.name,
        "label": _label(b.labels),
        "description": _label(b.description),
        "subject_label": _label(b.subject_label),
        "initial": b.initial,
    }
    detail = _changed(method, other)
    if detail:
        out.add("changed", "method", b.name, detail)

    def stage_inner(at: str, x: Stage, y: Stage) -> None:
        out.questions(at, x.questions, y.questions)

    out.keyed("stage", "stages", a.stages, b.stages, lambda s: s.key, _stage_attrs, stage_inner)

    ga, gb = _group(a.transitions), _group(b.transitions)

    def transition_inner(at: str, x: Transition, y: Transition) -> None:
        out.questions(at, x.questions, y.questions)

    out.keyed(
        "transition",
        "transitions",
        [_merged(ts) for ts in ga.values()],
        [_merged(ts) for ts in gb.values()],
        lambda t: t.trigger,
        _transition_attrs(a),
        transition_inner,
        _transition_attrs(b),
    )
    out.keyed("outcome", "outcomes", a.outcomes, b.outcomes, lambda o: o.key, _outcome_attrs)
    out.keyed(
        "referral source",
        "referral_sources",
        a.referral_sources,
        b.referral_sources,
        lambda c: c.key,
        _choice_attrs,
    )
    out.keyed("partner", "partners", a.partners, b.partners, lambda c: c.key, _choice_attrs)

    def activity_inner(at: str, x: ActivityKind, y: ActivityKind) -> None:
        out.keyed("field", f"{at}.fields", x.fields, y.fields, lambda q: q.key, _question_attrs)

    # Version 1 keeps activity kinds only as choices of "kind": compare those when a side has no activities.
    acts_a = a.activity_kinds or tuple(
        ActivityKind(key=c.key, labels=c.labels) for c in a.choices.get("kind", ())
    )
    acts_b = b.activity_kinds or tuple(
        ActivityKind(key=c.key, labels=c.labels) for c in b.choices.get("kind", ())
    )
    out.keyed("activity kind", "activities", acts_a, acts_b, lambda x: x.key, _activity_attrs, activity_inner)
    levels_a = a.self_help.levels if a.self_help else a.choices.get("level", ())
    levels_b = b.self_help.levels if b.self_help else b.choices.get("level", ())
    out.keyed("self-help level", "self_help.levels", levels_a, levels_b, lambda c: c.key, _choice_attrs)
    stages_a = ", ".join(a.self_help.stages) if a.self_help else "-"
    stages_b = ", ".join(b.self_help.stages) if b.self_help else "-"
    if stages_a != stages_b:
        out.add("changed", "self-help", "self_help.stages", f"{stages_a!r} -> {stages_b!r}")
    out.keyed("field", "fields", a.fields, b.fields, lambda q: q.key, _question_attrs)
    return out.changes


__all__ = ["Change", "ChangeKind", "diff"]
