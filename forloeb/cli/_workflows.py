"""``forloeb workflows``: the methods' definitions (list, show, diagram, lint, diff need no
database) and moving running engagements to another version (migrate)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from forloeb.engine import RETURN_TO_CLOSED, RETURN_TO_PAUSED, field_label
from forloeb.words.catalog import t

from ._context import ForloebGroup, Settings, config_option, global_options_again, open_configured
from ._render import echo, echo_json, role_label, table

if TYPE_CHECKING:
    from forloeb import WorkflowDefinition
    from forloeb.engine import Lang, MigrationReport, Question

# The texts of the method's own parts (questions, results, registers), beside the
# commands that show them: (Danish, English).
_TEXTS: dict[str, tuple[str, str]] = {
    "method": ("Metode", "Method"),
    "questions": ("spørger", "asks"),
    "required": ("skal besvares", "required"),
    "outcomes": ("Resultater", "Results"),
    "move_outcomes": ("resultat", "result"),
    "partners": ("Samarbejdspartnere", "Partners"),
    "activities": ("Aktiviteter", "Activities"),
    "self_help": ("Selvhjælp", "Self-help"),
    "self_help_where": ("registreres i", "recorded in"),
    "fields": ("Forløbets egne felter", "The engagement's own fields"),
    "flexible": ("fleksibel", "flexible"),
    "kind_text": ("tekst", "text"),
    "kind_choice": ("valg", "choice"),
    "kind_date": ("dato", "date"),
    "kind_yes_no": ("ja/nej", "yes/no"),
    "kind_partner": ("samarbejdspartner", "partner"),
    "kind_number": ("tal", "number"),
    "multiple": ("flere", "several"),
    "no_problems": ("{file}: ingen fejl", "{file}: no problems"),
    "no_changes": ("Ingen forskelle.", "No differences."),
    "migrated": (
        "{workflow}: {moved} forløb flyttet fra version {a} til version {b}.",
        "{workflow}: {moved} engagements moved from version {a} to version {b}.",
    ),
    "would_migrate": (
        "{workflow}: {moved} forløb ville blive flyttet fra version {a} til version {b} (prøvekørsel).",
        "{workflow}: {moved} engagements would move from version {a} to version {b} (dry run).",
    ),
    "kept_final": (
        "{final} afsluttede forløb bliver på version {a}.",
        "{final} closed engagements stay on version {a}.",
    ),
}


def _t(lang: Lang, key: str, **params: object) -> str:
    da, en = _TEXTS[key]
    return (da if lang == "da" else en).format(**params)


@click.group(cls=ForloebGroup)
def workflows() -> None:
    """The methods' definitions and their versions."""


def _definitions(config_path: str | None) -> tuple[WorkflowDefinition, ...]:
    """The built-in definitions and the folder of the configuration or FORLOEB_WORKFLOWS."""
    from forloeb import load_settings
    from forloeb.workflows import installed

    return installed(load_settings(config_path).workflows_folder)


def _definition(config_path: str | None, name: str, version: int | None) -> WorkflowDefinition:
    """Method ``name`` at ``version`` (default: the newest), without a database."""
    from forloeb import UnknownWorkflow

    known = _definitions(config_path)
    found = [d for d in known if d.name == name and (version is None or d.version == version)]
    if not found:
        what = name if version is None else f"{name} v{version}"
        raise UnknownWorkflow(what, {f"{d.name} v{d.version}" for d in known})
    return max(found, key=lambda d: d.version)


def version_option(f: Any) -> Any:
    return click.option(
        "--version", "version", type=int, metavar="N", help="The method's version (default: the newest)."
    )(f)


@workflows.command("list")
@config_option
@global_options_again
@click.pass_obj
def workflows_list(settings: Settings, config_path: str | None) -> None:
    """The methods: name, label and version (every version an engagement may follow)."""
    known = _definitions(config_path)
    if settings.as_json:
        echo_json([{"name": d.name, "version": d.version, "labels": d.labels.as_dict()} for d in known])
        return
    echo(table((d.name, d.labels.get(settings.lang), f"version {d.version}") for d in known))


def _dest_text(dest: str, lang: Lang) -> str:
    if dest == RETURN_TO_PAUSED:
        return f"({t(lang, 'return_paused')})"
    if dest == RETURN_TO_CLOSED:
        return f"({t(lang, 'return_closed')})"
    return dest


def _question_line(q: Question, lang: Lang) -> tuple[str, str, str]:
    kind = _t(lang, f"kind_{q.kind}") if f"kind_{q.kind}" in _TEXTS else q.kind
    if q.multiple:
        kind += f" ({_t(lang, 'multiple')})"
    if q.choices:
        kind += ": " + ", ".join(c.labels.get(lang) for c in q.choices)
    mark = _t(lang, "required") if q.required else ""
    return (f"{'*' if q.required else ' '} {q.labels.get(lang)}", f"({q.key})", f"{kind}  {mark}".rstrip())


def _questions_table(questions: Sequence[Question], lang: Lang, indent: str) -> str:
    return table((_question_line(q, lang) for q in questions), indent=indent)


@workflows.command("show")
@click.argument("name")
@version_option
@config_option
@global_options_again
@click.pass_obj
def workflows_show(settings: Settings, name: str, version: int | None, config_path: str | None) -> None:
    """The stages with their questions, the moves, results and registers of method NAME."""
    d = _definition(config_path, name, version)
    if settings.as_json:
        from forloeb.workflows import definition_dict  # shared with the HTTP API

        echo_json(definition_dict(d))
        return
    lang = settings.lang
    echo(f"{_t(lang, 'method')}: {d.labels.get(lang)} ({d.name}, version {d.version})")
    if d.description is not None:
        echo(d.description.get(lang))
    echo(f"\n{t(lang, 'stages')}")
    for s in d.stages:
        deadline = ""
        if s.deadline is not None:
            deadline = t(lang, "deadline", amount=s.deadline.amount, unit=t(lang, s.deadline.unit))
            if s.deadline.rearm:
                deadline += f" ({t(lang, 'rearm')})"
        echo(table([(s.key, s.labels.get(lang), t(lang, f"kind_{s.kind}"), deadline)], indent="  "))
        if s.questions:
            echo(_questions_table(s.questions, lang, "      "))
    echo(f"\n{t(lang, 'transitions')}")
    active = d.active_stages
    rows = []
    for tr in d.transitions:
        source = t(lang, "all_active") if tr.source == active else ", ".join(tr.source)
        extra = f"{t(lang, 'roles')}: {', '.join(role_label(r, lang) for r in sorted(tr.roles))}"
        required = d.required_to_leave(tr.trigger, tr.source[0]) if tr.source else ()
        if required:
            extra += f"; {t(lang, 'requires')}: {', '.join(field_label(k, lang) for k in required)}"
        if tr.outcomes:
            labels = [o.labels.get(lang) for k in tr.outcomes if (o := d.outcome(k)) is not None]
            extra += f"; {_t(lang, 'move_outcomes')}: {', '.join(labels)}"
        if tr.flexible:
            extra += f"; {_t(lang, 'flexible')}"
        rows.append((tr.trigger, f"{source} → {_dest_text(tr.dest, lang)}", tr.labels.get(lang), extra))
    echo(table(rows, indent="  "))
    for tr in d.transitions:
        if tr.questions:
            echo(f"  {tr.trigger} {_t(lang, 'questions')}:")
            echo(_questions_table(tr.questions, lang, "      "))
    if d.outcomes:
        echo(f"\n{_t(lang, 'outcomes')}")
        echo(table(((o.key, o.labels.get(lang)) for o in d.outcomes), indent="  "))
    echo(f"\n{t(lang, 'sources')}")
    echo(table(((c.key, c.labels.get(lang)) for c in d.referral_sources), indent="  "))
    if d.partners:
        echo(f"\n{_t(lang, 'partners')}")
        echo(table(((c.key, c.labels.get(lang)) for c in d.partners), indent="  "))
    if d.activity_kinds:
        echo(f"\n{_t(lang, 'activities')}")
        for a in d.activity_kinds:
            echo(table([(a.key, a.labels.get(lang))], indent="  "))
            if a.fields:
                echo(_questions_table(a.fields, lang, "      "))
    elif "kind" in d.choices:
        echo(f"\n{field_label('kind', lang).capitalize()} (kind)")
        echo(table(((c.key, c.labels.get(lang)) for c in d.choices["kind"]), indent="  "))
    if d.self_help is not None:
        where = ", ".join(d.stage(k).labels.get(lang) for k in d.self_help.stages)
        echo(f"\n{_t(lang, 'self_help')} ({_t(lang, 'self_help_where')}: {where})")
        echo(table(((c.key, c.labels.get(lang)) for c in d.self_help.levels), indent="  "))
    elif "level" in d.choices:
        echo(f"\n{field_label('level', lang).capitalize()} (level)")
        echo(table(((c.key, c.labels.get(lang)) for c in d.choices["level"]), indent="  "))
    if d.fields:
        echo(f"\n{_t(lang, 'fields')}")
        echo(_questions_table(d.fields, lang, "  "))


def mermaid(d: WorkflowDefinition, lang: Lang) -> str:
    """A Mermaid stateDiagram-v2 of ``d`` (``forloeb.workflows.mermaid``)."""
    from forloeb.workflows import mermaid as draw

    return draw(d, lang)


@workflows.command("diagram")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["mermaid"]), default="mermaid", show_default=True)
@version_option
@config_option
@global_options_again
@click.pass_obj
def workflows_diagram(
    settings: Settings, name: str, fmt: str, version: int | None, config_path: str | None
) -> None:
    """A state diagram of method NAME (Mermaid stateDiagram-v2, which Mermaid's renderer draws)."""
    echo(mermaid(_definition(config_path, name, version), settings.lang))


@workflows.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@global_options_again
@click.pass_obj
def workflows_lint(settings: Settings, files: tuple[str, ...]) -> None:
    """Check definition FILES: every problem at once (warnings too); exit 1 on an error."""
    from forloeb.workflows import lint

    found = [(file, lint(file)) for file in files]
    if settings.as_json:
        echo_json([p.as_dict() for _, problems in found for p in problems])
    else:
        for file, problems in found:
            for p in problems:
                echo(str(p))
            if not problems:
                echo(_t(settings.lang, "no_problems", file=file))
    if any(p.severity == "error" for _, problems in found for p in problems):
        raise click.exceptions.Exit(1)


@workflows.command("diff")
@click.argument("name")
@click.argument("a", type=int)
@click.argument("b", type=int)
@config_option
@global_options_again
@click.pass_obj
def workflows_diff(settings: Settings, name: str, a: int, b: int, config_path: str | None) -> None:
    """What changed in method NAME from version A to version B: + added, - removed, ~ changed."""
    from forloeb.workflows import diff

    changes = diff(_definition(config_path, name, a), _definition(config_path, name, b))
    if settings.as_json:
        echo_json([c.as_dict() for c in changes])
        return
    echo("\n".join(str(c) for c in changes) if changes else _t(settings.lang, "no_changes"))


def _parse_map(ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in values:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"{item!r}: expected OLD=NEW (stage keys)", ctx=ctx)
        mapping[old.strip()] = new.strip()
    return mapping


def _report_out(settings: Settings, report: MigrationReport, label: str) -> None:
    if settings.as_json:
        echo_json(report.to_dict())
        return
    lang = settings.lang
    key = "would_migrate" if report.dry_run else "migrated"
    params = {"workflow": label, "a": report.from_version, "b": report.to_version}
    echo(_t(lang, key, moved=report.moved, **params))
    if report.moves:
        echo(table(((a, "→", b, str(n)) for (a, b), n in sorted(report.moves.items())), indent="  "))
    if report.final:
        echo(_t(lang, "kept_final", final=report.final, **params))


@workflows.command("migrate")
@click.argument("name")
@click.option("--from", "from_version", type=int, required=True, metavar="A", help="The version to leave.")
@click.option("--to", "to_version", type=int, required=True, metavar="B", help="The version to move to.")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    callback=_parse_map,
    metavar="OLD=NEW",
    help="Where engagements in stage OLD go (a stage the new version lacks); repeatable.",
)
@click.option("--dry-run", is_flag=True, help="Count what would move; write nothing.")
@config_option
@global_options_again
@click.pass_obj
def workflows_migrate(
    settings: Settings,
    name: str,
    from_version: int,
    to_version: int,
    mapping: dict[str, str],
    dry_run: bool,
    config_path: str | None,
) -> None:
    """Move the running engagements of method NAME from version A to version B (supervisors).

    Each gets one migration event on its chain; closed ones stay where they
    ended. A stage the new version lacks must be mapped (--map old=new), or
    nothing moves.
    """
    engine, _config = open_configured(settings, config_path)
    with engine:
        report = engine.methods.migrate(
            name, from_version, to_version, mapping, actor=settings.actor, dry_run=dry_run
        )
        label = engine.workflow(name, to_version).labels.get(settings.lang)
    _report_out(settings, report, label)
