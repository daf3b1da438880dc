"""The words of engagements in their workflow's terms: stages, triggers, choices,
roles and events, as the CLI prints them and the web console shows them.

Pure functions of what the engine returned; nothing here talks to the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from forloeb.engine import FIELD_LABELS, ROLES, STATUTES, Labels, field_label

from .catalog import t

if TYPE_CHECKING:
    from forloeb import Engagement, Event, WorkflowDefinition
    from forloeb.engine import Lang


def one_line(text: str) -> str:
    """Free text on one line of a table or a log: line breaks shown as ↵."""
    return " ↵ ".join(text.splitlines())


def value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def stage_label(definition: WorkflowDefinition, key: str | None, lang: Lang) -> str:
    if key is None:
        return "-"
    try:
        return definition.stage(key).labels.get(lang)
    except KeyError:
        return key


def stage_text(definition: WorkflowDefinition, e: Engagement, lang: Lang) -> str:
    """The stage's label, with where a pause came from and the cycle after the first."""
    label = stage_label(definition, e.state, lang)
    if e.paused_from:
        label = t(lang, "paused_from", stage=label, origin=stage_label(definition, e.paused_from, lang))
    if e.cycle > 1:
        label = f"{label}, {t(lang, 'cycle', n=e.cycle)}"
    return label


def trigger_label(
    definition: WorkflowDefinition, trigger: str | None, lang: Lang, state: str | None = None
) -> str:
    if trigger is None:
        return "-"
    candidates = definition.transitions_for(trigger)
    for tr in candidates:
        if state is None or state in tr.source:
            return tr.labels.get(lang)
    return candidates[0].labels.get(lang) if candidates else trigger


def choice_label(definition: WorkflowDefinition, key: str, value: Any, lang: Lang) -> str:
    """A recorded value in words: a choice's label (referral sources, outcomes,
    a question's choices, partners), else the value itself."""
    if isinstance(value, list):
        return ", ".join(choice_label(definition, key, v, lang) for v in value)
    found = _labels(definition).choice(key, value) if isinstance(value, str) else None
    return found.get(lang) if found is not None else value_text(value)


def _labels(definition: WorkflowDefinition) -> Labels:
    """The definition's labels (built once per workflow version: a page lists many events)."""
    key = (definition.name, definition.version)
    found = _LABELS.get(key)
    if found is None or found[0] is not definition:
        found = _LABELS[key] = (definition, Labels.of(definition))
    return found[1]


_LABELS: dict[tuple[str, int], tuple[WorkflowDefinition, Labels]] = {}
# Who has an engagement: the words of the console's own pages.
_ASSIGNMENT = {"assignee": "w_assignee", "supervisor": "w_supervisor", "team": "w_team"}


def role_label(role: str, lang: Lang) -> str:
    return t(lang, f"role_{role}") if role in ROLES else role


def data_text(definition: WorkflowDefinition, data: Mapping[str, Any], lang: Lang) -> str:
    return "; ".join(
        f"{_field(definition, k, lang)}: {_value(definition, k, v, lang)}" for k, v in data.items()
    )


def _value(definition: WorkflowDefinition, key: str, value: Any, lang: Lang) -> str:
    if key == "legal_basis" and isinstance(value, str):
        return basis_text(value, lang)
    return choice_label(definition, key, value, lang)


def basis_text(value: str, lang: Lang) -> str:
    """A stored legal basis ("consent:7", "statute:key[:reference]") in words."""
    kind, _, rest = value.partition(":")
    if kind == "consent" and rest.isdigit():
        return t(lang, "e_basis_consent", id=rest)
    if kind == "statute":
        key, _, reference = rest.partition(":")
        label = STATUTES[key].get(lang) if key in STATUTES else key
        return f"{label} ({reference})" if reference else label
    return value


def _field(definition: WorkflowDefinition, key: str, lang: Lang) -> str:
    """A data key in words: the engine's name for it, else the question that asks it."""
    if key in FIELD_LABELS:
        return field_label(key, lang)
    if key in _ASSIGNMENT:
        return t(lang, _ASSIGNMENT[key]).lower()
    asked = _labels(definition).field(key)
    return asked.get(lang).rstrip("?").lower() if asked is not None else key


# -- engagements and events -------------------------------------------------------------


def event_text(definition: WorkflowDefinition, ev: Event, lang: Lang) -> str:
    """One event on one line, in the words of its workflow."""
    data = ev.data
    if ev.type == "started":
        return f"{t(lang, 'e_started')} → {stage_label(definition, ev.to_state, lang)}"
    if ev.type == "transition":
        text = (
            f"{trigger_label(definition, ev.trigger, lang, ev.from_state)}: "
            f"{stage_label(definition, ev.from_state, lang)} → {stage_label(definition, ev.to_state, lang)}"
        )
        if data.get("data"):
            text += f" · {data_text(definition, data['data'], lang)}"
        if data.get("note"):
            text += f" · {t(lang, 'e_note').lower()}: {data['note']}"
        return one_line(text)
    if ev.type == "note":
        return one_line(f"{t(lang, 'e_note')}: {data.get('text', '')}")
    if ev.type == "details":
        return one_line(f"{t(lang, 'e_details')}: {data_text(definition, data.get('data', {}), lang)}")
    if ev.type == "activity":
        kind = choice_label(definition, "kind", data.get("kind"), lang)
        extra = {k: v for k, v in data.items() if k not in ("kind", "description")}
        text = f"{t(lang, 'e_activity')} ({kind})"
        if data.get("description"):
            text += f": {data['description']}"
        if extra:
            text += f" · {data_text(definition, extra, lang)}"
        return one_line(text)
    described = _other_event(definition, ev, lang)
    return one_line(described if described is not None else f"{ev.type}: {value_text(dict(data))}")


def _other_event(definition: WorkflowDefinition, ev: Event, lang: Lang) -> str | None:
    """The events of the later features in words (None: shown as their data)."""
    data = ev.data
    if ev.type in ("self_help", "record_self_help"):
        return f"{t(lang, 'e_self_help')}: {_level(definition, data.get('level'), lang)}"
    if ev.type == "consent_given":
        to = ", ".join(choice_label(definition, "receiver", r, lang) for r in data.get("to") or ())
        return t(lang, "e_consent_given", id=data.get("id", "?"), to=to, purpose=data.get("purpose", ""))
    if ev.type == "consent_withdrawn":
        return t(lang, "e_consent_withdrawn", id=data.get("consent_id", "?"))
    if ev.type == "reminder":
        level = int(data.get("level") or 1)
        kind = t(lang, "e_reminder") if level == 1 else t(lang, "e_escalation", n=level - 1)
        return f"{kind} → {data.get('recipient') or data.get('recipient_role', '')}"
    if ev.type == "reassigned":
        changes = data.get("set") or {}
        before = data.get("from") or {}
        parts = [
            f"{_field(definition, k, lang)}: {before.get(k) or '-'} → {v or '-'}" for k, v in changes.items()
        ]
        text = f"{t(lang, 'e_reassigned')}: {'; '.join(parts)}"
        return text + (f" · {data['reason']}" if data.get("reason") else "")
    if ev.type == "handover_exported":
        receiver = choice_label(definition, "receiver", data.get("receiver"), lang)
        return t(lang, "e_handover_exported", receiver=receiver)
    if ev.type == "update_fields":
        return f"{t(lang, 'e_details')}: {data_text(definition, data.get('data') or data, lang)}"
    return None


def _level(definition: WorkflowDefinition, level: Any, lang: Lang) -> str:
    levels = definition.self_help.levels if definition.self_help is not None else ()
    return next((c.labels.get(lang) for c in levels if c.key == level), value_text(level))


__all__ = [
    "basis_text",
    "choice_label",
    "data_text",
    "event_text",
    "one_line",
    "role_label",
    "stage_label",
    "stage_text",
    "trigger_label",
    "value_text",
]
