"""A Mermaid state diagram of a method that Mermaid's own renderer accepts and a person can read.

The moves every active stage shares (pause, withdraw) are drawn once, from a
composite state that holds the active stages, instead of once per stage
(twelve pause and seven withdraw edges in version 1). Moves that go back to
where the engagement came from (resume, reopen) are notes beside the stage
they leave, since they lead to whichever stage it was. The method's own path
stays inside the composite, top to bottom; final stages need no end marker.

Text is escaped with Mermaid's entity codes (``#58;`` for a colon …):
Mermaid reads the first colon of a line as the start of a label, a ``;`` as
the end of a statement and a ``"`` as the end of a state's name.
"""

from __future__ import annotations

from forloeb.engine import RETURN_TO_CLOSED, RETURN_TO_PAUSED, STAFF, Lang, WorkflowDefinition

# Words Mermaid's state-diagram grammar reads as keywords: never used as ids.
_RESERVED = frozenset({"state", "note", "end", "direction", "class", "classDef", "style", "default", "as"})

_TEXTS: dict[str, dict[Lang, str]] = {
    "active": {"da": "Aktive faser", "en": "Active stages"},
    "supervisor": {"da": "leder", "en": "supervisor"},
    "return_paused": {
        "da": "{label}{sources} fører forløbet tilbage til fasen før pausen.",
        "en": "{label}{sources} takes the engagement back to the stage before the pause.",
    },
    "return_closed": {
        "da": "{label}{sources} fører forløbet tilbage til fasen før afslutningen.",
        "en": "{label}{sources} takes the engagement back to the stage before it ended.",
    },
    "from": {"da": ", fra {stages},", "en": ", from {stages},"},
    "or": {"da": "eller", "en": "or"},
}

# Characters Mermaid reads as syntax, as its entity codes.
_ESCAPES = {
    "#": "#35;",
    ":": "#58;",
    ";": "#59;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "{": "#123;",
    "}": "#125;",
}


def escape(text: str) -> str:
    """``text`` safe inside a Mermaid state name, edge label or note (one line)."""
    text = " ".join(text.split())
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _id(key: str) -> str:
    return f"{key}_" if key in _RESERVED else key


def mermaid(definition: WorkflowDefinition, lang: Lang = "da") -> str:
    """A Mermaid ``stateDiagram-v2`` of ``definition``, labelled in ``lang``."""
    d = definition
    kinds = {s.key: s.kind for s in d.stages}
    active = tuple(s.key for s in d.stages if s.kind == "active")
    box = "active_stages"
    while box in kinds:
        box += "_"

    stage_label = {s.key: s.labels.get(lang) for s in d.stages}

    def text(key: str, **kw: str) -> str:
        return _TEXTS[key][lang].format(**kw)

    def label_of(trigger_label: str, roles: frozenset[str]) -> str:
        if roles != STAFF and roles == frozenset({"supervisor"}):
            return f"{trigger_label} ({text('supervisor')})"
        return trigger_label

    inner: dict[tuple[str, str], list[str]] = {}
    outer: dict[tuple[str, str], list[str]] = {}
    notes: list[tuple[str, str]] = []
    for t in d.transitions:
        label = label_of(t.labels.get(lang), t.roles)
        sources = t.source
        shared = bool(active) and set(active) <= set(sources)
        if shared:
            # Drawn once from the composite; any other sources separately.
            sources = tuple(s for s in sources if s not in active)
        if t.dest in (RETURN_TO_PAUSED, RETURN_TO_CLOSED):
            # Not an edge (it would lead to every active stage): one note
            # beside the first stage it leaves, naming the others.
            where = "return_paused" if t.dest == RETURN_TO_PAUSED else "return_closed"
            from_text = ""
            if len(t.source) > 1:
                names = [stage_label.get(s, s) for s in t.source]
                joined = f"{', '.join(names[:-1])} {text('or')} {names[-1]}"
                from_text = text("from", stages=joined)
            notes.append((_id(t.source[0]), text(where, label=label, sources=from_text)))
            continue
        if shared:
            outer.setdefault((box, _id(t.dest)), []).append(label)
        for src in sources:
            both_active = kinds.get(src) == "active" and kinds.get(t.dest) == "active"
            target = inner if both_active else outer
            target.setdefault((_id(src), _id(t.dest)), []).append(label)

    lines = ["stateDiagram-v2", "    direction TB"]
    lines.append(f'    state "{escape(text("active"))}" as {box} {{')
    lines.append("        direction TB")
    for s in d.stages:
        if s.kind == "active":
            lines.append(f'        state "{escape(s.labels.get(lang))}" as {_id(s.key)}')
    if d.initial in active:
        lines.append(f"        [*] --> {_id(d.initial)}")
    for (src, dest), labels in inner.items():
        lines.append(f"        {src} --> {dest} : {escape(' / '.join(labels))}")
    lines.append("    }")
    for s in d.stages:
        if s.kind != "active":
            lines.append(f'    state "{escape(s.labels.get(lang))}" as {_id(s.key)}')
    lines.append(f"    [*] --> {box}")
    for (src, dest), labels in outer.items():
        lines.append(f"    {src} --> {dest} : {escape(' / '.join(labels))}")
    for stage, note in notes:
        lines.append(f"    note right of {stage}")
        lines.append(f"        {escape(note)}")
        lines.append("    end note")
    return "\n".join(lines) + "\n"


__all__ = ["escape", "mermaid"]
