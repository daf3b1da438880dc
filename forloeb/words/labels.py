"""The words of engagements in their workflow's terms: stages, triggers, choices,
roles and events, as the CLI prints them and the web console shows them.

Pure functions of what the engine returned; nothing here talks to the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from forloeb.engine import ROLES, field_label

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
    choices = definition.referral_sources if key == "source" else definition.choices.get(key, ())
    for c in choices:
        if c.key == value:
            return c.labels.get(lang)
    return value_text(value)


def role_label(role: str, lang: Lang) -> str:
    return t(lang, f"role_{role}") if role in ROLES else role


def data_text(definition: WorkflowDefinition, data: Mapping[str, Any], lang: Lang) -> str:
    return "; ".join(
        f"{field_label(k, lang)}: {choice_label(definition, k, v, lang)}" for k, v in data.items()
    )


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
    return one_line(f"{ev.type}: {value_text(dict(data))}")


__all__ = [
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
