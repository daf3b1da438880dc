"""Questions of the method as form fields, and posted fields back as answers.

A question's field is ``q_<key>``; a "choice" or "partner" question with
``multiple`` is a set of checkboxes, yes/no two radio buttons, a date a date
field, anything else a text area. Answers go to the engine as the text the
person typed: the engine checks each by its kind (a number as 12 or 1,5,
ja/nej …) and says what is wrong in Danish, as it does for the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from forloeb.engine import Lang, Question, WorkflowDefinition

from ._frame import Form
from ._views import as_text


@dataclass(frozen=True)
class Field:
    """One question as the template draws it."""

    key: str
    name: str
    label: str
    kind: str
    required: bool
    multiple: bool
    help: str | None
    options: tuple[tuple[str, str], ...]
    value: str
    values: tuple[str, ...]
    error: str | None


def fields(
    definition: WorkflowDefinition,
    questions: Iterable[Question],
    lang: str,
    current: Mapping[str, Any],
    *,
    posted: Form | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[Field]:
    tr = cast(Lang, lang)
    partners = tuple((c.key, c.labels.get(tr)) for c in definition.partners)
    out: list[Field] = []
    for q in questions:
        name = f"q_{q.key}"
        if posted is not None and name in posted:
            raw = posted[name]
            values = tuple(raw) if isinstance(raw, list) else (raw,)
        else:
            value = current.get(q.key)
            values = tuple(str(v) for v in value) if isinstance(value, list) else (as_text(value),)
        options: tuple[tuple[str, str], ...] = ()
        if q.kind == "choice":
            options = tuple((c.key, c.labels.get(tr)) for c in q.choices)
        elif q.kind == "partner":
            options = partners
        out.append(
            Field(
                key=q.key,
                name=name,
                label=q.labels.get(tr),
                kind=q.kind,
                required=q.required,
                multiple=q.multiple,
                help=q.help.get(tr) if q.help is not None else None,
                options=options,
                value=values[0] if values else "",
                values=values,
                error=(errors or {}).get(q.key),
            )
        )
    return out


def answers(questions: Iterable[Question], form: Form) -> dict[str, Any]:
    """The posted answers to ``questions`` (a blank field is no answer)."""
    out: dict[str, Any] = {}
    for q in questions:
        raw = form.get(f"q_{q.key}")
        if raw is None:
            continue
        if isinstance(raw, list) or q.multiple:
            items = [v.strip() for v in (raw if isinstance(raw, list) else [raw]) if v.strip()]
            if items:
                out[q.key] = items
        elif raw.strip():
            out[q.key] = raw.strip()
    return out


def changed(given: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The answers that differ from what is recorded (as the form shows them)."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        now = current.get(key)
        if isinstance(value, list):
            if [str(v) for v in value] != (
                [str(v) for v in now] if isinstance(now, list) else [as_text(now)]
            ):
                out[key] = value
        elif value != as_text(now):
            out[key] = value
    return out


def blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


__all__ = ["Field", "answers", "blank", "changed", "fields"]
