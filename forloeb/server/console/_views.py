"""Engagements as the pages show them: labels in the viewer's language from the
method definitions (the words the CLI prints), and whether a stage is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from forloeb.engine import Engagement, Engine, Lang, WorkflowDefinition
from forloeb.words.labels import stage_text


@dataclass(frozen=True)
class Card:
    """One engagement in a list, on the board or in the intake."""

    e: Engagement
    workflow: str
    stage: str
    overdue: bool
    source: str
    open: bool  # not at a final stage


def definition_of(engine: Engine, e: Engagement) -> WorkflowDefinition:
    return engine.workflow(e.workflow, e.workflow_version)


def is_open(definition: WorkflowDefinition, e: Engagement) -> bool:
    try:
        return definition.stage(e.state).kind != "final"
    except KeyError:
        return True


def card(engine: Engine, e: Engagement, lang: str, now: datetime) -> Card:
    definition = definition_of(engine, e)
    tr = cast(Lang, lang)
    source = next((c.labels.get(tr) for c in definition.referral_sources if c.key == e.source), e.source)
    return Card(
        e=e,
        workflow=definition.labels.get(tr),
        stage=stage_text(definition, e, tr),
        overdue=e.stage_due_at is not None and e.stage_due_at < now,
        source=source,
        open=is_open(definition, e),
    )


def as_text(value: Any) -> str:
    """An answer as it goes back into a form field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


__all__ = ["Card", "as_text", "card", "definition_of", "is_open"]
