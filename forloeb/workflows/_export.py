"""A definition as JSON data: what ``forloeb workflows show --json`` prints and the
HTTP API's ``GET /v1/workflows/{name}`` returns (one function, both shapes the same)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from forloeb.engine import Label, Question, WorkflowDefinition


def _labels(label: Label | None) -> dict[str, str] | None:
    return None if label is None else label.as_dict()


def _question_dict(q: Question) -> dict[str, Any]:
    return {
        "key": q.key,
        "labels": q.labels.as_dict(),
        "kind": q.kind,
        "required": q.required,
        "choices": [{"key": c.key, "labels": c.labels.as_dict()} for c in q.choices],
        "multiple": q.multiple,
        "help": _labels(q.help),
    }


def _choice_dicts(choices: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"key": c.key, "labels": c.labels.as_dict()} for c in choices]


def definition_dict(d: WorkflowDefinition) -> dict[str, Any]:
    return {
        "name": d.name,
        "version": d.version,
        "labels": d.labels.as_dict(),
        "description": _labels(d.description),
        "subject_label": _labels(d.subject_label),
        "stages": [
            {
                "key": s.key,
                "labels": s.labels.as_dict(),
                "kind": s.kind,
                "deadline": (
                    None
                    if s.deadline is None
                    else {"amount": s.deadline.amount, "unit": s.deadline.unit, "rearm": s.deadline.rearm}
                ),
                "description": _labels(s.description),
                "questions": [_question_dict(q) for q in s.questions],
                "extra_keys": s.extra_keys,
            }
            for s in d.stages
        ],
        "transitions": [
            {
                "trigger": tr.trigger,
                "source": list(tr.source),
                "dest": tr.dest,
                "roles": sorted(tr.roles),
                "requires": list(tr.requires),
                "labels": tr.labels.as_dict(),
                "description": _labels(tr.description),
                "questions": [_question_dict(q) for q in tr.questions],
                "outcomes": list(tr.outcomes),
                "default_outcome": tr.default_outcome,
                "flexible": tr.flexible,
            }
            for tr in d.transitions
        ],
        "referral_sources": _choice_dicts(d.referral_sources),
        "choices": {k: _choice_dicts(v) for k, v in d.choices.items()},
        "outcomes": [
            {"key": o.key, "labels": o.labels.as_dict(), "requires": list(o.requires)} for o in d.outcomes
        ],
        "partners": _choice_dicts(d.partners),
        "activities": [
            {"key": a.key, "labels": a.labels.as_dict(), "fields": [_question_dict(q) for q in a.fields]}
            for a in d.activity_kinds
        ],
        "self_help": (
            None
            if d.self_help is None
            else {"levels": _choice_dicts(d.self_help.levels), "stages": list(d.self_help.stages)}
        ),
        "fields": [_question_dict(q) for q in d.fields],
    }


__all__ = ["definition_dict"]
