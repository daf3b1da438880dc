"""``forloeb workflows``: the built-in definitions (no database needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from forloeb.engine import RETURN_TO_CLOSED, RETURN_TO_PAUSED, STAFF, field_label

from ._context import ForloebGroup, Settings, definition, global_options_again
from ._render import echo, echo_json, mermaid_text, role_label, table
from ._texts import t

if TYPE_CHECKING:
    from forloeb import WorkflowDefinition
    from forloeb.engine import Lang


@click.group(cls=ForloebGroup)
def workflows() -> None:
    """The workflow definitions (no database needed)."""


def _definition_dict(d: WorkflowDefinition) -> dict[str, Any]:
    return {
        "name": d.name,
        "version": d.version,
        "labels": d.labels.as_dict(),
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
            }
            for tr in d.transitions
        ],
        "referral_sources": [{"key": c.key, "labels": c.labels.as_dict()} for c in d.referral_sources],
        "choices": {
            k: [{"key": c.key, "labels": c.labels.as_dict()} for c in v] for k, v in d.choices.items()
        },
    }


@workflows.command("list")
@global_options_again
@click.pass_obj
def workflows_list(settings: Settings) -> None:
    """The workflows: name, label and version."""
    from forloeb.workflows import BUILTIN

    if settings.as_json:
        echo_json([{"name": d.name, "version": d.version, "labels": d.labels.as_dict()} for d in BUILTIN])
        return
    echo(table((d.name, d.labels.get(settings.lang), f"version {d.version}") for d in BUILTIN))


def _dest_text(dest: str, lang: Lang) -> str:
    if dest == RETURN_TO_PAUSED:
        return f"({t(lang, 'return_paused')})"
    if dest == RETURN_TO_CLOSED:
        return f"({t(lang, 'return_closed')})"
    return dest


@workflows.command("show")
@click.argument("name")
@global_options_again
@click.pass_obj
def workflows_show(settings: Settings, name: str) -> None:
    """Stages, transitions and referral sources of workflow NAME."""
    d = definition(name)
    if settings.as_json:
        echo_json(_definition_dict(d))
        return
    lang = settings.lang
    echo(f"{d.labels.get(lang)} ({d.name}, version {d.version})")
    echo(f"\n{t(lang, 'stages')}")
    rows = []
    for s in d.stages:
        deadline = ""
        if s.deadline is not None:
            deadline = t(lang, "deadline", amount=s.deadline.amount, unit=t(lang, s.deadline.unit))
            if s.deadline.rearm:
                deadline += f" ({t(lang, 'rearm')})"
        rows.append((s.key, s.labels.get(lang), t(lang, f"kind_{s.kind}"), deadline))
    echo(table(rows, indent="  "))
    echo(f"\n{t(lang, 'transitions')}")
    active = d.active_stages
    rows = []
    for tr in d.transitions:
        source = t(lang, "all_active") if tr.source == active else ", ".join(tr.source)
        extra = f"{t(lang, 'roles')}: {', '.join(role_label(r, lang) for r in sorted(tr.roles))}"
        if tr.requires:
            extra += f"; {t(lang, 'requires')}: {', '.join(field_label(k, lang) for k in tr.requires)}"
        rows.append((tr.trigger, f"{source} → {_dest_text(tr.dest, lang)}", tr.labels.get(lang), extra))
    echo(table(rows, indent="  "))
    echo(f"\n{t(lang, 'sources')}")
    echo(table(((c.key, c.labels.get(lang)) for c in d.referral_sources), indent="  "))
    for key, choices in d.choices.items():
        echo(f"\n{field_label(key, lang).capitalize()} ({key})")
        echo(table(((c.key, c.labels.get(lang)) for c in choices), indent="  "))


def mermaid(d: WorkflowDefinition, lang: Lang) -> str:
    """A Mermaid stateDiagram-v2 of ``d``; return-to transitions (resume, reopen) are notes."""
    lines = ["stateDiagram-v2"]
    for s in d.stages:
        lines.append(f'    state "{mermaid_text(s.labels.get(lang))}" as {s.key}')
    lines.append(f"    [*] --> {d.initial}")
    edges: dict[tuple[str, str], list[str]] = {}
    notes: list[tuple[str, str]] = []
    for tr in d.transitions:
        label = tr.labels.get(lang)
        if tr.roles != STAFF:
            label += f" ({', '.join(role_label(r, lang) for r in sorted(tr.roles))})"
        if tr.dest in (RETURN_TO_PAUSED, RETURN_TO_CLOSED):
            where = t(lang, "return_paused" if tr.dest == RETURN_TO_PAUSED else "return_closed")
            for src in tr.source:
                notes.append((src, t(lang, "return_note", label=label, where=where)))
            continue
        for src in tr.source:
            edges.setdefault((src, tr.dest), []).append(label)
    for (src, dest), labels in edges.items():
        lines.append(f"    {src} --> {dest}: {mermaid_text(' / '.join(labels))}")
    for s in d.stages:
        if s.kind == "final":
            lines.append(f"    {s.key} --> [*]")
    for stage, text in notes:
        lines.append(f"    note right of {stage}: {mermaid_text(text)}")
    return "\n".join(lines)


@workflows.command("diagram")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["mermaid"]), default="mermaid", show_default=True)
@global_options_again
@click.pass_obj
def workflows_diagram(settings: Settings, name: str, fmt: str) -> None:
    """A state diagram of workflow NAME (Mermaid stateDiagram-v2)."""
    echo(mermaid(definition(name), settings.lang))
