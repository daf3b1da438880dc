"""Rendering: tables, JSON, times, labels and the one-line escaping of free text.

Pure functions of what the engine returned; nothing here talks to the
database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

import click

from forloeb.engine import ROLES, field_label

from ._texts import t

if TYPE_CHECKING:
    from forloeb import Engagement, Event, WorkflowDefinition
    from forloeb.engine import Lang


def to_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON text, letters kept as they are (æ, ø, å)."""
    import json  # here, not above: showing help never needs it (start-up time)

    return json.dumps(value, ensure_ascii=False, indent=indent)


def echo_json(value: Any) -> None:
    echo(to_json(value, indent=2))


# Characters that act on a terminal instead of showing: C0 and C1 controls
# (escape sequences clear the screen, set the title, hide text; a carriage
# return overwrites a line), and the invisible and bidirectional formatting
# marks that reorder or hide text. Newline and tab stay.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def terminal_safe(text: str) -> str:
    """``text`` with every character that would act on a terminal shown as ``\\uXXXX``
    (also a valid escape inside JSON, so JSON on a terminal stays JSON)."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def echo(text: str = "", *, err: bool = False, nl: bool = True, file: IO[Any] | None = None) -> None:
    """``click.echo`` for what people read: free text (notes, names, ids) cannot
    drive the terminal."""
    click.echo(terminal_safe(text), file=file, err=err, nl=nl)


def csv_cell(value: Any) -> Any:
    """A spreadsheet cell that stays data: text starting with = + - @, a tab or a
    carriage return is a formula to Excel and LibreOffice, so it is prefixed
    with ' (OWASP's rule for CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def local(value: datetime | None) -> str:
    """A time as Danish local time to the minute (``-`` for none)."""
    from forloeb.engine import COPENHAGEN

    return value.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return to_json(value)


def one_line(text: str) -> str:
    """Free text on one line of a table or a log: line breaks shown as ↵."""
    return " ↵ ".join(text.splitlines())


def mermaid_text(text: str) -> str:
    """Text inside a Mermaid label: quotes end a state label and ';' ends a statement."""
    return text.replace('"', "'").replace(";", ",")


def table(rows: Iterable[Sequence[str]], header: Sequence[str] | None = None, indent: str = "") -> str:
    """Columns padded to their widest cell."""
    lines = [list(header)] if header else []
    lines += [list(r) for r in rows]
    if not lines:
        return ""
    widths = [max(len(r[i]) for r in lines) for i in range(len(lines[0]))]
    return "\n".join(
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines
    )


# -- labels ---------------------------------------------------------------------------


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
