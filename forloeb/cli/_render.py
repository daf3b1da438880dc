"""Rendering: tables, JSON, times, labels and the one-line escaping of free text.

Pure functions of what the engine returned; nothing here talks to the
database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, Any

import click

from forloeb.reporting.exports import csv_cell as csv_cell  # shared with the console

# The labels moved to forloeb.words (the console shares them); the CLI's modules import them from here.
from forloeb.words.labels import (
    choice_label as choice_label,
)
from forloeb.words.labels import (
    data_text as data_text,
)
from forloeb.words.labels import (
    event_text as event_text,
)
from forloeb.words.labels import (
    one_line as one_line,
)
from forloeb.words.labels import (
    role_label as role_label,
)
from forloeb.words.labels import (
    stage_label as stage_label,
)
from forloeb.words.labels import (
    stage_text as stage_text,
)
from forloeb.words.labels import (
    trigger_label as trigger_label,
)
from forloeb.words.labels import (
    value_text as value_text,
)


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


def local(value: datetime | None) -> str:
    """A time as Danish local time to the minute (``-`` for none)."""
    from forloeb.engine import COPENHAGEN

    return value.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


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

