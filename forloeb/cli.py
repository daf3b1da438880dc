"""The ``forloeb`` command: parses, calls the engine, renders.

Nothing here decides anything about an engagement; every rule lives in the
engine. Errors from the engine become one line on stderr (``Fejl: …`` or
``Error: …``) and exit code 1; usage errors exit with 2. ``--json`` writes
machine-readable output on stdout and nothing else there.

The global options (``--db``, ``--as``, ``--role``, ``--lang``, ``--json``) may be
given before the command or after it: ``forloeb --json show 3`` and
``forloeb show 3 --json`` are the same.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, TextIO, TypeVar, cast
from zoneinfo import ZoneInfo

import click

from . import (
    Actor,
    Engagement,
    Engine,
    ErasureReceipt,
    Event,
    ForloebError,
    TriggerOption,
    UnknownWorkflow,
    WorkflowDefinition,
    __version__,
    configure_logging,
)
from ._demo import add_demo_engagements
from .engine import LANGS, RETURN_TO_CLOSED, RETURN_TO_PAUSED, ROLES, STAFF, Lang, field_label
from .workflows import BUILTIN

F = TypeVar("F", bound=Callable[..., Any])

_TZ = ZoneInfo("Europe/Copenhagen")

# The CLI's own texts; the engine's messages come translated from the engine.
_TEXTS: dict[str, tuple[str, str]] = {
    "error": ("Fejl", "Error"),
    "engagement": ("Forløb {id}", "Engagement {id}"),
    "bad_data": (
        "Ugyldig --data {item!r}: forventede nøgle=værdi",
        "Invalid --data {item!r}: expected key=value",
    ),
    "db_ready": ("Database klar: {url} (skema {rev})", "Database ready: {url} (schema {rev})"),
    "started": (
        "Forløb {id} startet: {stage} (version {version})",
        "Engagement {id} started: {stage} (version {version})",
    ),
    "fired": (
        "Forløb {id}: {action} → {stage} (version {version})",
        "Engagement {id}: {action} → {stage} (version {version})",
    ),
    "noted": (
        "Forløb {id}: notat tilføjet (version {version})",
        "Engagement {id}: note added (version {version})",
    ),
    "recorded": (
        "Forløb {id}: registreret i {stage} (version {version})",
        "Engagement {id}: recorded in {stage} (version {version})",
    ),
    "activity_done": (
        "Forløb {id}: aktivitet registreret – {kind} (version {version})",
        "Engagement {id}: activity recorded – {kind} (version {version})",
    ),
    "due": ("Frist: {due}", "Due: {due}"),
    "paused_from": ("{stage} (fra {origin})", "{stage} (from {origin})"),
    "cycle": ("cyklus {n}", "cycle {n}"),
    "no_triggers": ("Ingen handlinger mulige i fasen {stage}.", "No triggers lead anywhere from {stage}."),
    "no_engagements": ("Ingen forløb.", "No engagements."),
    "back": ("tilbage", "back"),
    "all_active": ("alle aktive faser", "every active stage"),
    "return_paused": ("fasen før pausen", "the stage before the pause"),
    "return_closed": ("fasen før afslutningen", "the stage before closing"),
    "stages": ("Faser", "Stages"),
    "transitions": ("Overgange", "Transitions"),
    "sources": ("Henvisningskilder", "Referral sources"),
    "roles": ("roller", "roles"),
    "requires": ("kræver", "requires"),
    "deadline": ("frist {amount} {unit}", "due in {amount} {unit}"),
    "rearm": ("genstartes", "restarts"),
    "working_days": ("arbejdsdage", "working days"),
    "days": ("dage", "days"),
    "kind_active": ("aktiv", "active"),
    "kind_paused": ("pause", "paused"),
    "kind_final": ("slut", "final"),
    "role_worker": ("medarbejder", "worker"),
    "role_supervisor": ("leder", "supervisor"),
    "role_auditor": ("revisor", "auditor"),
    "h_id": ("ID", "ID"),
    "h_workflow": ("Arbejdsgang", "Workflow"),
    "h_stage": ("Fase", "Stage"),
    "h_subject": ("Borger/aktør", "Subject"),
    "h_assignee": ("Medarbejder", "Assignee"),
    "h_due": ("Frist", "Due"),
    "h_trigger": ("Handling", "Trigger"),
    "h_label": ("Beskrivelse", "Label"),
    "h_dest": ("Til", "To"),
    "h_allowed": ("Mulig", "Allowed"),
    "h_reason": ("Hvorfor ikke", "Why not"),
    "yes": ("ja", "yes"),
    "no": ("nej", "no"),
    "f_stage": ("Fase", "Stage"),
    "f_version": ("Version", "Version"),
    "f_subject": ("Borger/aktør", "Subject"),
    "f_source": ("Kilde", "Source"),
    "f_assignee": ("Medarbejder", "Assignee"),
    "f_supervisor": ("Leder", "Supervisor"),
    "f_team": ("Team", "Team"),
    "f_tags": ("Mærker", "Tags"),
    "f_due": ("Frist", "Due"),
    "f_created": ("Oprettet", "Created"),
    "f_updated": ("Ændret", "Updated"),
    "f_records": ("Registreret", "Recorded"),
    "e_started": ("Startet", "Started"),
    "e_note": ("Notat", "Note"),
    "e_details": ("Registreret", "Recorded"),
    "e_activity": ("Aktivitet", "Activity"),
    "return_note": ("{label}: tilbage til {where}", "{label}: back to {where}"),
    "demo_done": ("Demo: {n} forløb tilføjet til {url}", "Demo: {n} engagements added to {url}"),
    "demo_hint": ("Prøv: {a} · {b} · {c}", "Try: {a} · {b} · {c}"),
}


def _t(lang: Lang, key: str, **params: object) -> str:
    da, en = _TEXTS[key]
    return (da if lang == "da" else en).format(**params)


# -- settings and errors ----------------------------------------------------------


@dataclass
class Settings:
    """The global options of one invocation (mutable: options after the command override)."""

    db: str | None
    actor_id: str
    role: str
    lang: Lang
    as_json: bool
    # The teams the actor works in: a worker's audit queries see these teams'
    # engagements (and those assigned to them); see forloeb/engine/_access.py.
    teams: tuple[str, ...] = ()

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_id, (self.role,), self.teams)


class _OneLineError:
    """Shows an error as one line on stderr, in the chosen language (a JSON object with --json)."""

    code = "usage"
    kind = "UsageError"
    lang: Lang = "da"
    as_json = False

    def _use(self, settings: Settings | None) -> None:
        if settings is not None:
            self.lang, self.as_json = settings.lang, settings.as_json

    def show(self, file: IO[Any] | None = None) -> None:
        # The mixin sits beside a ClickException, which holds the message
        # (a final attribute in newer click: read it, never redeclare it).
        line = " ".join(cast(click.ClickException, self).format_message().splitlines()).strip()
        if self.as_json:
            text = json.dumps({"error": self.code, "type": self.kind, "message": line}, ensure_ascii=False)
        else:
            text = f"{_t(self.lang, 'error')}: {line}"
        click.echo(text, file=file, err=file is None)


class CliError(_OneLineError, click.ClickException):
    """A :class:`forloeb.ForloebError` (exit code 1)."""

    def __init__(self, error: ForloebError, settings: Settings | None) -> None:
        self._use(settings)
        self.code = error.code
        self.kind = type(error).__name__
        super().__init__(error.message(self.lang))


class DataError(_OneLineError, click.BadParameter):
    """A malformed ``--data`` item: a usage error (exit code 2)."""

    def __init__(self, item: str, settings: Settings | None) -> None:
        self._use(settings)
        super().__init__(_t(self.lang, "bad_data", item=item))


class _Command(click.Command):
    """Turns every ForloebError from a command body into a CliError: one line, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ForloebError as exc:
            raise CliError(exc, ctx.find_object(Settings)) from exc


class _Group(click.Group):
    command_class = _Command
    group_class = type  # subgroups are _Group too


def _override(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """Callback of a global option repeated after the command: set it only when given."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        settings = ctx.find_object(Settings)
        if settings is not None and value not in (None, False):
            setattr(settings, attr, value)

    return callback


def _global_options_again(f: F) -> F:
    """The group's options, also accepted after the command (they override)."""
    same = "As before the command."
    options = [
        click.option(
            "--db", metavar="URL", expose_value=False, is_eager=True, callback=_override("db"), help=same
        ),
        click.option(
            "--as",
            "actor_id",
            metavar="ACTOR_ID",
            expose_value=False,
            is_eager=True,
            callback=_override("actor_id"),
            help=same,
        ),
        click.option(
            "--role",
            type=click.Choice(ROLES),
            expose_value=False,
            is_eager=True,
            callback=_override("role"),
            help=same,
        ),
        click.option(
            "--lang",
            type=click.Choice(LANGS),
            expose_value=False,
            is_eager=True,
            callback=_override("lang"),
            help=same,
        ),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            default=False,
            expose_value=False,
            is_eager=True,
            callback=_override("as_json"),
            help="Machine-readable output (JSON) on stdout.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _parse_data(ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> dict[str, Any]:
    """``key=value`` items; a value that parses as JSON is taken as JSON, else as text."""
    data: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise DataError(item, ctx.find_object(Settings))
        try:
            data[key] = json.loads(raw, parse_constant=_reject_constant)
        except ValueError:
            data[key] = raw
    return data


def _reject_constant(name: str) -> float:
    raise ValueError(name)  # NaN / Infinity are not JSON: keep them as text


def _data_option(f: F) -> F:
    return click.option(
        "--data",
        "data",
        multiple=True,
        metavar="KEY=VALUE",
        callback=_parse_data,
        help="Data item; VALUE is JSON if it parses, else text. Repeatable; the last of a key wins.",
    )(f)


def _write_options(f: F) -> F:
    f = click.option(
        "--idempotency-key", metavar="K", help="Retrying with the same key writes nothing twice."
    )(f)
    f = click.option(
        "--expect-version", "expected_version", type=int, metavar="N", help="Refuse unless at this version."
    )(f)
    return f


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


class _Stderr:
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it per call)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


# -- rendering helpers ------------------------------------------------------------


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _local(value: datetime | None) -> str:
    return value.astimezone(_TZ).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _one_line(text: str) -> str:
    return " ↵ ".join(text.splitlines())


def _stage_label(definition: WorkflowDefinition, key: str | None, lang: Lang) -> str:
    if key is None:
        return "-"
    try:
        return definition.stage(key).labels.get(lang)
    except KeyError:
        return key


def _stage_text(definition: WorkflowDefinition, e: Engagement, lang: Lang) -> str:
    label = _stage_label(definition, e.state, lang)
    if e.paused_from:
        label = _t(lang, "paused_from", stage=label, origin=_stage_label(definition, e.paused_from, lang))
    if e.cycle > 1:
        label = f"{label}, {_t(lang, 'cycle', n=e.cycle)}"
    return label


def _trigger_label(
    definition: WorkflowDefinition, trigger: str | None, lang: Lang, state: str | None = None
) -> str:
    if trigger is None:
        return "-"
    candidates = definition.transitions_for(trigger)
    for t in candidates:
        if state is None or state in t.source:
            return t.labels.get(lang)
    return candidates[0].labels.get(lang) if candidates else trigger


def _choice_label(definition: WorkflowDefinition, key: str, value: Any, lang: Lang) -> str:
    choices = definition.referral_sources if key == "source" else definition.choices.get(key, ())
    for c in choices:
        if c.key == value:
            return c.labels.get(lang)
    return _value(value)


def _role_label(role: str, lang: Lang) -> str:
    return _t(lang, f"role_{role}") if role in ROLES else role


def _table(rows: Iterable[Sequence[str]], header: Sequence[str] | None = None, indent: str = "") -> str:
    """Columns padded to their widest cell."""
    lines = [list(header)] if header else []
    lines += [list(r) for r in rows]
    if not lines:
        return ""
    widths = [max(len(r[i]) for r in lines) for i in range(len(lines[0]))]
    return "\n".join(
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines
    )


def _data_text(definition: WorkflowDefinition, data: Mapping[str, Any], lang: Lang) -> str:
    return "; ".join(
        f"{field_label(k, lang)}: {_choice_label(definition, k, v, lang)}" for k, v in data.items()
    )


def _snapshot_out(settings: Settings, engine: Engine, e: Engagement, key: str, **params: object) -> None:
    """What start, fire, note, record and activity print: the engagement as committed."""
    if settings.as_json:
        _echo_json(e.to_dict())
        return
    lang = settings.lang
    definition = engine.workflow(e.workflow, e.workflow_version)
    click.echo(_t(lang, key, id=e.id, stage=_stage_text(definition, e, lang), version=e.version, **params))
    if e.stage_due_at is not None and key in ("started", "fired"):
        click.echo(_t(lang, "due", due=_local(e.stage_due_at)))


def _open(settings: Settings) -> Engine:
    # migrate=False: an old or empty database is refused with SchemaOutOfDate
    # ("run forloeb init") rather than silently created.
    return Engine.open(settings.db)


def _definition(name: str) -> WorkflowDefinition:
    found = [d for d in BUILTIN if d.name == name]
    if not found:
        raise UnknownWorkflow(name, {d.name for d in BUILTIN})
    return max(found, key=lambda d: d.version)


# -- the command group ------------------------------------------------------------


@click.group(
    name="forloeb",
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.option(
    "--db",
    metavar="URL",
    envvar="FORLOEB_DB",
    help="Database URL or SQLite file path [env FORLOEB_DB; default sqlite:///forloeb.db].",
)
@click.option(
    "--as",
    "actor_id",
    metavar="ACTOR_ID",
    envvar="FORLOEB_ACTOR",
    help="Who acts [env FORLOEB_ACTOR; default: your login name].",
)
@click.option(
    "--role",
    type=click.Choice(ROLES),
    envvar="FORLOEB_ROLE",
    default="worker",
    show_default=True,
    help="The role you act in [env FORLOEB_ROLE].",
)
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    envvar="FORLOEB_LANG",
    default="da",
    show_default=True,
    help="Language of labels and messages [env FORLOEB_LANG].",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON) on stdout.")
@click.option(
    "--teams",
    metavar="T1,T2",
    envvar="FORLOEB_TEAMS",
    help="The teams you work in (a worker's audit queries see these) [env FORLOEB_TEAMS].",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (on stderr).")
@click.version_option(__version__, prog_name="forloeb")
@click.pass_context
def cli(
    ctx: click.Context,
    db: str | None,
    actor_id: str | None,
    role: str,
    lang: str,
    as_json: bool,
    teams: str | None,
    verbose: bool,
) -> None:
    """Forløb: the Vollsmose method as state machines with a hash-chained event log.

    Global options may also be given after the command. Start with `forloeb init`
    (or `forloeb demo` for example data).
    """
    configure_logging(level="info" if verbose else "warning", stream=cast(TextIO, _Stderr()))
    ctx.obj = Settings(
        db=db or None,
        actor_id=actor_id if actor_id is not None else _login_name(),
        role=role,
        lang=cast(Lang, lang),
        as_json=as_json,
        teams=tuple(t.strip() for t in (teams or "").split(",") if t.strip()),
    )


def main() -> None:
    """The ``forloeb`` console script."""
    cli(prog_name="forloeb")


# -- database ---------------------------------------------------------------------


@cli.command()
@_global_options_again
@click.pass_obj
def init(settings: Settings) -> None:
    """Create the database or upgrade its schema."""
    with Engine.open(settings.db, migrate=True) as engine:
        url, rev = engine.store.url, engine.store.schema_revision()
    if settings.as_json:
        _echo_json({"url": url, "schema": rev})
    else:
        click.echo(_t(settings.lang, "db_ready", url=url, rev=rev))


# -- workflows ----------------------------------------------------------------------


@cli.group()
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
                "trigger": t.trigger,
                "source": list(t.source),
                "dest": t.dest,
                "roles": sorted(t.roles),
                "requires": list(t.requires),
                "labels": t.labels.as_dict(),
            }
            for t in d.transitions
        ],
        "referral_sources": [{"key": c.key, "labels": c.labels.as_dict()} for c in d.referral_sources],
        "choices": {
            k: [{"key": c.key, "labels": c.labels.as_dict()} for c in v] for k, v in d.choices.items()
        },
    }


@workflows.command("list")
@_global_options_again
@click.pass_obj
def workflows_list(settings: Settings) -> None:
    """The workflows: name, label and version."""
    if settings.as_json:
        _echo_json([{"name": d.name, "version": d.version, "labels": d.labels.as_dict()} for d in BUILTIN])
        return
    click.echo(_table((d.name, d.labels.get(settings.lang), f"version {d.version}") for d in BUILTIN))


def _dest_text(dest: str, lang: Lang) -> str:
    if dest == RETURN_TO_PAUSED:
        return f"({_t(lang, 'return_paused')})"
    if dest == RETURN_TO_CLOSED:
        return f"({_t(lang, 'return_closed')})"
    return dest


@workflows.command("show")
@click.argument("name")
@_global_options_again
@click.pass_obj
def workflows_show(settings: Settings, name: str) -> None:
    """Stages, transitions and referral sources of workflow NAME."""
    d = _definition(name)
    if settings.as_json:
        _echo_json(_definition_dict(d))
        return
    lang = settings.lang
    click.echo(f"{d.labels.get(lang)} ({d.name}, version {d.version})")
    click.echo(f"\n{_t(lang, 'stages')}")
    rows = []
    for s in d.stages:
        deadline = ""
        if s.deadline is not None:
            deadline = _t(lang, "deadline", amount=s.deadline.amount, unit=_t(lang, s.deadline.unit))
            if s.deadline.rearm:
                deadline += f" ({_t(lang, 'rearm')})"
        rows.append((s.key, s.labels.get(lang), _t(lang, f"kind_{s.kind}"), deadline))
    click.echo(_table(rows, indent="  "))
    click.echo(f"\n{_t(lang, 'transitions')}")
    active = d.active_stages
    rows = []
    for t in d.transitions:
        source = _t(lang, "all_active") if t.source == active else ", ".join(t.source)
        extra = f"{_t(lang, 'roles')}: {', '.join(_role_label(r, lang) for r in sorted(t.roles))}"
        if t.requires:
            extra += f"; {_t(lang, 'requires')}: {', '.join(field_label(k, lang) for k in t.requires)}"
        rows.append((t.trigger, f"{source} → {_dest_text(t.dest, lang)}", t.labels.get(lang), extra))
    click.echo(_table(rows, indent="  "))
    click.echo(f"\n{_t(lang, 'sources')}")
    click.echo(_table(((c.key, c.labels.get(lang)) for c in d.referral_sources), indent="  "))
    for key, choices in d.choices.items():
        click.echo(f"\n{field_label(key, lang).capitalize()} ({key})")
        click.echo(_table(((c.key, c.labels.get(lang)) for c in choices), indent="  "))


def _mermaid_text(text: str) -> str:
    # Quotes end a state label and ';' ends a statement in Mermaid.
    return text.replace('"', "'").replace(";", ",")


def mermaid(d: WorkflowDefinition, lang: Lang) -> str:
    """A Mermaid stateDiagram-v2 of ``d``; return-to transitions (resume, reopen) are notes."""
    lines = ["stateDiagram-v2"]
    for s in d.stages:
        lines.append(f'    state "{_mermaid_text(s.labels.get(lang))}" as {s.key}')
    lines.append(f"    [*] --> {d.initial}")
    edges: dict[tuple[str, str], list[str]] = {}
    notes: list[tuple[str, str]] = []
    for t in d.transitions:
        label = t.labels.get(lang)
        if t.roles != STAFF:
            label += f" ({', '.join(_role_label(r, lang) for r in sorted(t.roles))})"
        if t.dest in (RETURN_TO_PAUSED, RETURN_TO_CLOSED):
            where = _t(lang, "return_paused" if t.dest == RETURN_TO_PAUSED else "return_closed")
            for src in t.source:
                notes.append((src, _t(lang, "return_note", label=label, where=where)))
            continue
        for src in t.source:
            edges.setdefault((src, t.dest), []).append(label)
    for (src, dest), labels in edges.items():
        lines.append(f"    {src} --> {dest}: {_mermaid_text(' / '.join(labels))}")
    for s in d.stages:
        if s.kind == "final":
            lines.append(f"    {s.key} --> [*]")
    for stage, text in notes:
        lines.append(f"    note right of {stage}: {_mermaid_text(text)}")
    return "\n".join(lines)


@workflows.command("diagram")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["mermaid"]), default="mermaid", show_default=True)
@_global_options_again
@click.pass_obj
def workflows_diagram(settings: Settings, name: str, fmt: str) -> None:
    """A state diagram of workflow NAME (Mermaid stateDiagram-v2)."""
    click.echo(mermaid(_definition(name), settings.lang))


# -- engagements --------------------------------------------------------------------


@cli.command()
@click.argument("workflow")
@click.option(
    "--subject", required=True, metavar="REF", help="Case reference of the resident or actor (no CPR)."
)
@click.option("--source", required=True, help="Referral source (see `forloeb workflows show`).")
@click.option("--assignee", help="The worker (medarbejder).")
@click.option("--supervisor", help="The supervisor (leder) who receives escalations.")
@click.option("--team", help="Team or department.")
@click.option("--tag", "tags", multiple=True, help="Effort area (indsatsområde). Repeatable.")
@_data_option
@click.option("--idempotency-key", metavar="K", help="Retrying with the same key writes nothing twice.")
@_global_options_again
@click.pass_obj
def start(
    settings: Settings,
    workflow: str,
    subject: str,
    source: str,
    assignee: str | None,
    supervisor: str | None,
    team: str | None,
    tags: tuple[str, ...],
    data: dict[str, Any],
    idempotency_key: str | None,
) -> None:
    """Start an engagement of WORKFLOW at its first stage (a referral)."""
    with _open(settings) as engine:
        e = engine.start(
            workflow,
            subject=subject,
            source=source,
            actor=settings.actor,
            data=data,
            assignee=assignee,
            supervisor=supervisor,
            team=team,
            tags=tags,
            idempotency_key=idempotency_key,
        )
        _snapshot_out(settings, engine, e, "started")


@cli.command()
@click.argument("engagement_id", metavar="ID", type=int)
@click.argument("trigger")
@_data_option
@click.option("--note", help="A note kept with the event.")
@_write_options
@_global_options_again
@click.pass_obj
def fire(
    settings: Settings,
    engagement_id: int,
    trigger: str,
    data: dict[str, Any],
    note: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Fire TRIGGER on engagement ID (see `forloeb triggers ID`)."""
    with _open(settings) as engine:
        e = engine.fire(
            engagement_id,
            trigger,
            actor=settings.actor,
            data=data,
            note=note,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )
        definition = engine.workflow(e.workflow, e.workflow_version)
        action = _trigger_label(definition, trigger, settings.lang)
        _snapshot_out(settings, engine, e, "fired", action=action)


@cli.command()
@click.argument("engagement_id", metavar="ID", type=int)
@_global_options_again
@click.pass_obj
def triggers(settings: Settings, engagement_id: int) -> None:
    """What can happen next to engagement ID, and why not when it cannot."""
    lang = settings.lang
    with _open(settings) as engine:
        options = engine.available_triggers(engagement_id, settings.actor)
        if settings.as_json:
            _echo_json([o.to_dict(lang) for o in options])
            return
        e = engine.get(engagement_id)
        definition = engine.workflow(e.workflow, e.workflow_version)
    if not options:
        click.echo(_t(lang, "no_triggers", stage=_stage_text(definition, e, lang)))
        return

    def dest(o: TriggerOption) -> str:
        if o.dest is not None:
            return _stage_label(definition, o.dest, lang)
        origin = e.paused_from or e.closed_from
        return f"{_t(lang, 'back')}: {_stage_label(definition, origin, lang)}" if origin else "-"

    click.echo(f"{_t(lang, 'f_stage')}: {_stage_text(definition, e, lang)}")
    click.echo(
        _table(
            (
                (
                    o.trigger,
                    _trigger_label(definition, o.trigger, lang, e.state),
                    "→ " + dest(o),
                    _t(lang, "yes" if o.allowed else "no"),
                    o.reason(lang) or "",
                )
                for o in options
            ),
            header=[_t(lang, k) for k in ("h_trigger", "h_label", "h_dest", "h_allowed", "h_reason")],
        )
    )


def _records_text(definition: WorkflowDefinition, records: Mapping[str, Any], lang: Lang) -> list[str]:
    lines: list[str] = []
    for stage in definition.stages:
        record = records.get(stage.key)
        if not record:
            continue
        lines.append(f"  {stage.labels.get(lang)}")
        for key, value in record.items():
            if key == "activities" and isinstance(value, list):
                lines.append(f"    {field_label(key, lang)}:")
                for a in value:
                    extra = {k: v for k, v in a.items() if k not in ("kind", "description", "at", "by")}
                    kind = _choice_label(definition, "kind", a.get("kind"), lang)
                    text = f"      - {_local(_parse_time(a.get('at')))} {kind}"
                    if a.get("description"):
                        text += f": {_one_line(str(a['description']))}"
                    if extra:
                        text += f" ({_data_text(definition, extra, lang)})"
                    lines.append(f"{text} [{a.get('by', '-')}]")
                continue
            lines.append(
                f"    {field_label(key, lang)}: {_one_line(_choice_label(definition, key, value, lang))}"
            )
    return lines


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@cli.command()
@click.argument("engagement_id", metavar="ID", type=int)
@_global_options_again
@click.pass_obj
def show(settings: Settings, engagement_id: int) -> None:
    """Engagement ID: stage, people, due time and what has been recorded."""
    lang = settings.lang
    with _open(settings) as engine:
        e = engine.get(engagement_id, actor=settings.actor)  # access-logged
        definition = engine.workflow(e.workflow, e.workflow_version)
    if settings.as_json:
        _echo_json(e.to_dict())
        return
    stage = _stage_text(definition, e, lang)
    if e.cycle == 1:
        stage = f"{stage} ({_t(lang, 'cycle', n=1)})"
    fields = [
        ("f_stage", stage),
        ("f_version", str(e.version)),
        ("f_subject", e.subject),
        ("f_source", _choice_label(definition, "source", e.source, lang)),
        ("f_assignee", e.assignee or "-"),
        ("f_supervisor", e.supervisor or "-"),
        ("f_team", e.team or "-"),
        ("f_tags", ", ".join(e.tags) or "-"),
        ("f_due", _local(e.stage_due_at)),
        ("f_created", _local(e.created_at)),
        ("f_updated", _local(e.updated_at)),
    ]
    click.echo(f"{_t(lang, 'engagement', id=e.id)} · {definition.labels.get(lang)}")
    click.echo(_table((f"{_t(lang, k)}:", v) for k, v in fields))
    records = _records_text(definition, e.data, lang)
    if records:
        click.echo(f"{_t(lang, 'f_records')}:")
        click.echo("\n".join(records))


@cli.command("list")
@click.option("--workflow", help="Only this workflow.")
@click.option("--state", help="Only engagements in this stage (key, e.g. action).")
@click.option("--assignee", help="Only this worker's.")
@click.option("--supervisor", help="Only this supervisor's.")
@click.option("--team", help="Only this team's.")
@click.option("--tag", help="Only engagements with this tag.")
@click.option("--subject", metavar="REF", help="Only this subject reference.")
@click.option("--stale", is_flag=True, help="Only engagements past their stage's due time.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N engagements.")
@_global_options_again
@click.pass_obj
def list_(
    settings: Settings,
    workflow: str | None,
    state: str | None,
    assignee: str | None,
    supervisor: str | None,
    team: str | None,
    tag: str | None,
    subject: str | None,
    stale: bool,
    limit: int | None,
) -> None:
    """Engagements, by id, filtered."""
    lang = settings.lang
    with _open(settings) as engine:
        found = engine.list(
            workflow=workflow,
            state=state,
            assignee=assignee,
            supervisor=supervisor,
            team=team,
            tag=tag,
            subject=subject,
            stale=stale,
            limit=limit,
            actor=settings.actor,  # access-logged: the criteria and who was shown
        )
        if settings.as_json:
            _echo_json([e.to_dict() for e in found])
            return
        if not found:
            click.echo(_t(lang, "no_engagements"))
            return
        rows = []
        for e in found:
            definition = engine.workflow(e.workflow, e.workflow_version)
            rows.append(
                (
                    str(e.id),
                    definition.labels.get(lang),
                    _stage_text(definition, e, lang),
                    e.subject,
                    e.assignee or "-",
                    _local(e.stage_due_at),
                )
            )
    header = [_t(lang, k) for k in ("h_id", "h_workflow", "h_stage", "h_subject", "h_assignee", "h_due")]
    click.echo(_table(rows, header=header))


def _event_text(definition: WorkflowDefinition, ev: Event, lang: Lang) -> str:
    data = ev.data
    if ev.type == "started":
        return f"{_t(lang, 'e_started')} → {_stage_label(definition, ev.to_state, lang)}"
    if ev.type == "transition":
        text = (
            f"{_trigger_label(definition, ev.trigger, lang, ev.from_state)}: "
            f"{_stage_label(definition, ev.from_state, lang)} → {_stage_label(definition, ev.to_state, lang)}"
        )
        if data.get("data"):
            text += f" · {_data_text(definition, data['data'], lang)}"
        if data.get("note"):
            text += f" · {_t(lang, 'e_note').lower()}: {data['note']}"
        return _one_line(text)
    if ev.type == "note":
        return _one_line(f"{_t(lang, 'e_note')}: {data.get('text', '')}")
    if ev.type == "details":
        return _one_line(f"{_t(lang, 'e_details')}: {_data_text(definition, data.get('data', {}), lang)}")
    if ev.type == "activity":
        kind = _choice_label(definition, "kind", data.get("kind"), lang)
        extra = {k: v for k, v in data.items() if k not in ("kind", "description")}
        text = f"{_t(lang, 'e_activity')} ({kind})"
        if data.get("description"):
            text += f": {data['description']}"
        if extra:
            text += f" · {_data_text(definition, extra, lang)}"
        return _one_line(text)
    return _one_line(f"{ev.type}: {_value(dict(data))}")


@cli.command()
@click.argument("engagement_id", metavar="ID", type=int)
@_global_options_again
@click.pass_obj
def history(settings: Settings, engagement_id: int) -> None:
    """The event log of engagement ID, oldest first."""
    lang = settings.lang
    with _open(settings) as engine:
        events = engine.history(engagement_id, actor=settings.actor)  # access-logged
        if settings.as_json:
            _echo_json([ev.to_dict() for ev in events])
            return
        e = engine.get(engagement_id)
        definition = engine.workflow(e.workflow, e.workflow_version)
    width = len(str(events[-1].seq)) if events else 1
    for ev in events:
        who = f"{ev.actor} ({_role_label(ev.role, lang)})"
        click.echo(f"{ev.seq:>{width}}  {_local(ev.occurred_at)}  {who}  {_event_text(definition, ev, lang)}")


@cli.command()
@click.argument("engagement_id", metavar="ID", type=int)
@click.argument("text")
@_write_options
@_global_options_again
@click.pass_obj
def note(
    settings: Settings,
    engagement_id: int,
    text: str,
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Add a dated note to engagement ID (notatpligt)."""
    with _open(settings) as engine:
        e = engine.add_note(
            engagement_id,
            text,
            actor=settings.actor,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )
        _snapshot_out(settings, engine, e, "noted")


@cli.command()
@click.argument("engagement_id", metavar="ID", type=int)
@_data_option
@_write_options
@_global_options_again
@click.pass_obj
def record(
    settings: Settings,
    engagement_id: int,
    data: dict[str, Any],
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Record items of the current stage (focus, goals, plan …) without moving on."""
    with _open(settings) as engine:
        e = engine.record_details(
            engagement_id,
            data,
            actor=settings.actor,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )
        _snapshot_out(settings, engine, e, "recorded")


@cli.command()
@click.argument("engagement_id", metavar="ID", type=int)
@click.argument("kind")
@click.option("--description", help="What was done.")
@_data_option
@_write_options
@_global_options_again
@click.pass_obj
def activity(
    settings: Settings,
    engagement_id: int,
    kind: str,
    description: str | None,
    data: dict[str, Any],
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Record an activity of KIND in the action stage.

    KIND: investigate, wonder, gather_knowledge, collaborate or agreement.
    """
    with _open(settings) as engine:
        e = engine.record_activity(
            engagement_id,
            kind,
            actor=settings.actor,
            description=description,
            data=data,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )
        definition = engine.workflow(e.workflow, e.workflow_version)
        _snapshot_out(
            settings, engine, e, "activity_done", kind=_choice_label(definition, "kind", kind, settings.lang)
        )


# -- demo ---------------------------------------------------------------------------


@cli.command()
@click.option(
    "--count",
    type=click.IntRange(min=1),
    metavar="N",
    help="How many engagements [default: one per scenario].",
)
@_global_options_again
@click.pass_obj
def demo(settings: Settings, count: int | None) -> None:
    """Create (or upgrade) the database and add example engagements of both workflows.

    A fixed set of scenarios with Danish data, spread over the past weeks: some
    closed, one handed over, one paused, one begun anew, some left mid-way.
    """
    lang = settings.lang
    created = add_demo_engagements(settings.db, count)
    with _open(settings) as engine:
        overview = {
            d.name: {s.key: 0 for s in d.stages} for d in (engine.workflow(n) for n in engine.workflow_names)
        }
        for e in engine.list():
            overview.setdefault(e.workflow, {})
            overview[e.workflow][e.state] = overview[e.workflow].get(e.state, 0) + 1
        url = engine.store.url
        definitions = {n: engine.workflow(n) for n in engine.workflow_names}
    if settings.as_json:
        _echo_json({"db": url, "created": created, "overview": overview})
        return
    click.echo(_t(lang, "demo_done", n=len(created), url=url))
    for name, counts in overview.items():
        definition = definitions.get(name)
        click.echo(f"\n{definition.labels.get(lang) if definition else name}")
        rows = [
            (_stage_label(definition, key, lang) if definition else key, str(n)) for key, n in counts.items()
        ]
        click.echo(_table(rows, indent="  "))
    first = created[0]
    # Name the database in the hint unless it is the default or comes from FORLOEB_DB.
    db = f" --db {settings.db}" if settings.db and settings.db != os.environ.get("FORLOEB_DB") else ""
    click.echo(
        "\n"
        + _t(
            lang,
            "demo_hint",
            a=f"forloeb{db} list",
            b=f"forloeb{db} show {first}",
            c=f"forloeb{db} history {first}",
        )
    )


# -- audit, handover and consent ------------------------------------------------------

_TEXTS.update(
    {
        "no_events": ("Ingen hændelser.", "No events."),
        "next_page": ("Næste side: --cursor {cursor}", "Next page: --cursor {cursor}"),
        "verify_ok": (
            "Hændelsesloggen er intakt: {events} hændelser i {engagements} forløb ({algo}).",
            "The event log is intact: {events} events in {engagements} engagements ({algo}).",
        ),
        "verify_broken": (
            "{n} brud fundet i {events} hændelser:",
            "{n} breaks found in {events} events:",
        ),
        "verify_checkpoint": ("Sammenlignet med kontrolpunkt {at}.", "Compared with checkpoint {at}."),
        "warning": ("Advarsel", "Warning"),
        "checkpoint_written": (
            "Kontrolpunkt skrevet til {path}: {n} forløb ({how}). Gem det et andet sted.",
            "Checkpoint written to {path}: {n} engagements ({how}). Store it elsewhere.",
        ),
        "signed": ("signeret med HMAC-SHA256", "signed with HMAC-SHA256"),
        "unsigned": (
            "USIGNERET – sæt FORLOEB_AUDIT_KEY for at signere",
            "UNSIGNED – set FORLOEB_AUDIT_KEY to sign",
        ),
        "purged": (
            "{n} adgangslogposter slettet (ældre end {days} dage).",
            "{n} access-log entries deleted (older than {days} days).",
        ),
        "no_access": ("Ingen poster i adgangsloggen.", "No access-log entries."),
        "written": ("Skrevet til {path}", "Written to {path}"),
        "exported": (
            "Overleveringspakke for forløb {id} skrevet til {path} (sha256 {sha}).",
            "Handover package for engagement {id} written to {path} (sha256 {sha}).",
        ),
        "consent_given": (
            "Forløb {id}: samtykke nr. {cid} registreret (version {version})",
            "Engagement {id}: consent no. {cid} recorded (version {version})",
        ),
        "consent_withdrawn": (
            "Forløb {id}: samtykke nr. {cid} trukket tilbage (version {version})",
            "Engagement {id}: consent no. {cid} withdrawn (version {version})",
        ),
        "no_consents": ("Intet samtykke registreret.", "No consent recorded."),
        "current": ("gældende", "current"),
        "withdrawn_on": ("trukket tilbage {date}", "withdrawn {date}"),
        "h_seq": ("Nr.", "Seq"),
        "h_time": ("Tidspunkt", "Time"),
        "h_actor": ("Medarbejder", "Actor"),
        "h_role": ("Rolle", "Role"),
        "h_event": ("Hændelse", "Event"),
        "h_action": ("Handling", "Action"),
        "h_purpose": ("Formål", "Purpose"),
        "h_to": ("Til", "To"),
        "h_information": ("Oplysninger", "Information"),
        "h_given": ("Givet", "Given"),
        "h_status": ("Status", "Status"),
        "t_reminder": ("Påmindelse niveau {level} til {who}", "Reminder level {level} to {who}"),
        "t_acknowledged": ("kvitteret {at} af {who}", "acknowledged {at} by {who}"),
    }
)

_CSV_COLUMNS = (
    "engagement_id",
    "seq",
    "occurred_at",
    "actor",
    "role",
    "type",
    "trigger",
    "from_state",
    "to_state",
    "workflow",
    "subject",
    "team",
    "data",
    "hash",
)


def _write_out(text: str, out: str | None) -> None:
    """``text`` to the file ``out``, or to stdout."""
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    with open(out, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


@cli.group()
def audit() -> None:
    """Audit: query the event log, verify its hash chains, checkpoints, the access log."""


@audit.command("query")
@click.option("--engagement", "engagement_id", type=int, metavar="ID", help="Only this engagement.")
@click.option("--workflow", help="Only this workflow.")
@click.option("--actor", metavar="A", help="Only what this staff member did.")
@click.option("--type", "type_", metavar="TYPE", help="Event type: started, transition, note, details …")
@click.option("--trigger", help="Only this trigger (e.g. hand_over).")
@click.option("--state", help="Only events that led to this stage.")
@click.option("--since", metavar="TIME", help="From this ISO time or date (Copenhagen time).")
@click.option("--until", metavar="TIME", help="Up to this ISO time, or to the end of this date.")
@click.option("--tag", help="Only engagements with this tag.")
@click.option("--team", help="Only this team's engagements.")
@click.option("--order", type=click.Choice(["asc", "desc"]), default="asc", show_default=True)
@click.option("--limit", type=int, metavar="N", help="At most N events (page size).")
@click.option("--cursor", help="Continue after the page that printed this cursor.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "csv"]),
    default="table",
    show_default=True,
)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
@click.option("--purpose", help="Why you query (kept in the access log).")
@_global_options_again
@click.pass_obj
def audit_query(
    settings: Settings,
    engagement_id: int | None,
    workflow: str | None,
    actor: str | None,
    type_: str | None,
    trigger: str | None,
    state: str | None,
    since: str | None,
    until: str | None,
    tag: str | None,
    team: str | None,
    order: str,
    limit: int | None,
    cursor: str | None,
    fmt: str,
    out: str | None,
    purpose: str | None,
) -> None:
    """Who did what, when, to which engagement: events matching every filter."""
    lang = settings.lang
    if settings.as_json and fmt == "table":
        fmt = "json"
    with _open(settings) as engine:
        page = engine.audit.query(
            settings.actor,
            engagement_id=engagement_id,
            workflow=workflow,
            actor=actor,
            type=type_,
            trigger=trigger,
            state=state,
            since=since,
            until=until,
            tag=tag,
            team=team,
            order=cast(Any, order),
            limit=limit,
            cursor=cursor,
            purpose=purpose,
            export=None if fmt == "table" and out is None else fmt,
        )
        definitions = {n: engine.workflow(n) for n in engine.workflow_names}
    rows = [r.to_dict() for r in page.records]
    if fmt == "json":
        _write_out(
            json.dumps({"records": rows, "next_cursor": page.next_cursor}, ensure_ascii=False, indent=2)
            + "\n",
            out,
        )
        return
    if fmt == "jsonl":
        _write_out("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), out)
    elif fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(_CSV_COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    json.dumps(r[c], ensure_ascii=False) if c == "data" else ("" if r[c] is None else r[c])
                    for c in _CSV_COLUMNS
                ]
            )
        _write_out(buffer.getvalue(), out)
    else:
        if not rows:
            click.echo(_t(lang, "no_events"))
        else:
            table = _table(
                (
                    (
                        str(rec.event.engagement_id),
                        str(rec.event.seq),
                        _local(rec.event.occurred_at),
                        rec.event.actor,
                        _role_label(rec.event.role, lang),
                        _event_text(definitions[rec.workflow], rec.event, lang)
                        if rec.workflow in definitions
                        else rec.event.type,
                    )
                    for rec in page.records
                ),
                header=[_t(lang, k) for k in ("h_id", "h_seq", "h_time", "h_actor", "h_role", "h_event")],
            )
            _write_out(table + "\n", out)
    if page.next_cursor:
        click.echo(_t(lang, "next_page", cursor=page.next_cursor), err=True)


@audit.command("timeline")
@click.argument("engagement_id", metavar="ID", type=int)
@click.option("--purpose", help="Why you read it (kept in the access log).")
@_global_options_again
@click.pass_obj
def audit_timeline(settings: Settings, engagement_id: int, purpose: str | None) -> None:
    """Engagement ID's full history, stage by stage: who did what, and when."""
    lang = settings.lang
    with _open(settings) as engine:
        engagement, events, reminders = engine.audit.timeline(settings.actor, engagement_id, purpose=purpose)
        definition = engine.workflow(engagement["workflow"], engagement["workflow_version"])
    if settings.as_json:
        _echo_json(
            {
                "engagement": engagement,
                "events": [e.to_dict() for e in events],
                "reminders": reminders,
            }
        )
        return
    title = _t(lang, "engagement", id=engagement_id)
    click.echo(f"{title} · {definition.labels.get(lang)} · {engagement['subject']}")
    # Reminders are placed among the events by when they were raised; a
    # heading marks each stage the engagement entered.
    items: list[tuple[datetime, int, str | None, str]] = []
    for ev in events:
        who = f"{ev.actor} ({_role_label(ev.role, lang)})"
        line = f"  {ev.seq:>4}  {_local(ev.occurred_at)}  {who}  {_event_text(definition, ev, lang)}"
        items.append((ev.occurred_at, 0, ev.to_state, line))
    for r in reminders:
        raised = datetime.fromisoformat(r["raised_at"])
        text = _t(lang, "t_reminder", level=r["level"], who=r.get("recipient") or r["recipient_role"])
        if r.get("acknowledged_at"):
            text += "; " + _t(
                lang,
                "t_acknowledged",
                at=_local(datetime.fromisoformat(r["acknowledged_at"])),
                who=r.get("acknowledged_by") or "-",
            )
        items.append((raised, 1, None, f"     ⏰ {_local(raised)}  {text}"))
    stage: str | None = None
    for _at, _kind, to_state, line in sorted(items, key=lambda i: (i[0], i[1])):
        if to_state is not None and to_state != stage:
            stage = to_state
            click.echo(f"\n{_stage_label(definition, stage, lang)}")
        click.echo(line)


@audit.command("verify")
@click.option("--engagement", "engagement_id", type=int, metavar="ID", help="Only this engagement's chain.")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Also compare with this checkpoint (detects a cut-off tail).",
)
@_global_options_again
@click.pass_context
def audit_verify(ctx: click.Context, engagement_id: int | None, checkpoint_file: str | None) -> None:
    """Recompute every hash chain and report each break. Exit code 1 when anything is broken."""
    settings = ctx.find_object(Settings)
    assert settings is not None
    lang = settings.lang
    checkpoint = None
    if checkpoint_file is not None:
        try:
            with open(checkpoint_file, encoding="utf-8") as fh:
                checkpoint = json.load(fh)
        except (OSError, ValueError) as exc:
            raise click.BadParameter(str(exc), param_hint="--checkpoint") from None
    with _open(settings) as engine:
        report = engine.audit.verify(settings.actor, engagement_id=engagement_id, checkpoint=checkpoint)
    if settings.as_json:
        _echo_json(report.to_dict())
    else:
        for w in report.warnings_in(lang):
            click.echo(f"{_t(lang, 'warning')}: {w}", err=True)
        if report.checkpoint:
            click.echo(_t(lang, "verify_checkpoint", at=report.checkpoint))
        if report.ok:
            algo = "HMAC-SHA256" if report.keyed else "SHA-256"
            click.echo(_t(lang, "verify_ok", events=report.events, engagements=report.engagements, algo=algo))
        else:
            click.echo(_t(lang, "verify_broken", n=len(report.breaks), events=report.events))
            for b in report.breaks:
                click.echo(f"  {b.text(lang)}")
        # Erased since the checkpoint (and logged): information, not a break.
        for b in report.erased:
            click.echo(f"  {b.text(lang)}")
    if not report.ok:
        ctx.exit(1)


@audit.command("checkpoint")
@click.option(
    "--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file (default stdout)."
)
@_global_options_again
@click.pass_obj
def audit_checkpoint(settings: Settings, out: str | None) -> None:
    """A signed checkpoint of every chain (head hash and event count) to store elsewhere."""
    lang = settings.lang
    with _open(settings) as engine:
        data = engine.audit.checkpoint(settings.actor)
    if not data["signature"]:
        click.echo(f"{_t(lang, 'warning')}: {_t(lang, 'unsigned')}", err=True)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    _write_out(text, out)
    if out is not None and not settings.as_json:
        how = _t(lang, "signed" if data["signature"] else "unsigned")
        click.echo(_t(lang, "checkpoint_written", path=out, n=len(data["engagements"]), how=how))


@audit.command("access")
@click.option("--subject", metavar="REF", help="Only entries about this subject reference.")
@click.option("--actor", metavar="A", help="Only what this staff member did.")
@click.option("--engagement", "engagement_id", type=int, metavar="ID", help="Only this engagement.")
@click.option("--since", metavar="TIME", help="From this ISO time or date.")
@click.option("--until", metavar="TIME", help="Up to this ISO time, or to the end of this date.")
@click.option("--limit", type=int, metavar="N")
@click.option(
    "--for-subject",
    metavar="REF",
    help="For a resident's access request: export (JSON) what was done with their data.",
)
@click.option("--redact-staff", is_flag=True, help="With --for-subject: leave out staff identities.")
@click.option("--purpose", help="Why (kept in the access log).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
@_global_options_again
@click.pass_obj
def audit_access(
    settings: Settings,
    subject: str | None,
    actor: str | None,
    engagement_id: int | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    for_subject: str | None,
    redact_staff: bool,
    purpose: str | None,
    out: str | None,
) -> None:
    """The access log: who read, searched, exported or deleted engagement data."""
    lang = settings.lang
    with _open(settings) as engine:
        if for_subject is not None:
            result = engine.audit.for_subject(
                settings.actor, for_subject, redact_staff=redact_staff, purpose=purpose
            )
            _write_out(json.dumps(result, ensure_ascii=False, indent=2) + "\n", out)
            if out is not None:
                click.echo(_t(lang, "written", path=out))
            return
        entries = engine.audit.access(
            settings.actor,
            subject=subject,
            actor=actor,
            engagement_id=engagement_id,
            since=since,
            until=until,
            limit=limit,
        )
    if settings.as_json:
        _write_out(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2) + "\n", out)
        return
    if not entries:
        click.echo(_t(lang, "no_access"))
        return
    table = _table(
        (
            (
                _local(e.occurred_at),
                e.actor,
                _role_label(e.role, lang),
                e.action,
                str(e.engagement_id) if e.engagement_id is not None else "-",
                e.subject or "-",
                json.dumps(e.criteria, ensure_ascii=False) if e.criteria else "",
                e.purpose or "",
            )
            for e in entries
        ),
        header=[
            _t(lang, k)
            for k in ("h_time", "h_actor", "h_role", "h_action", "h_id", "h_subject", "h_label", "h_purpose")
        ],
    )
    _write_out(table + "\n", out)


@audit.command("purge-access")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    metavar="N",
    help="Keep the last N days [default: FORLOEB_ACCESS_LOG_DAYS or 183, about six months].",
)
@_global_options_again
@click.pass_obj
def audit_purge_access(settings: Settings, days: int | None) -> None:
    """Delete access-log entries older than the retention period (the purge is logged)."""
    from datetime import timedelta

    with _open(settings) as engine:
        retention = timedelta(days=days) if days is not None else engine.audit.retention
        n = engine.audit.purge_access(settings.actor, retention=retention)
    if settings.as_json:
        _echo_json({"deleted": n, "retention_days": retention.days})
    else:
        click.echo(_t(settings.lang, "purged", n=n, days=retention.days))


@cli.group()
def handover() -> None:
    """Handover packages for another organisation."""


@handover.command("export")
@click.argument("engagement_id", metavar="ID", type=int)
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
@click.option("--receiver", help="Receiver (default: the one recorded at the handover).")
@click.option("--purpose", help="Why (kept in the access log and the event).")
@_global_options_again
@click.pass_obj
def handover_export(
    settings: Settings,
    engagement_id: int,
    fmt: str,
    out: str | None,
    receiver: str | None,
    purpose: str | None,
) -> None:
    """Build engagement ID's handover package from the event log (recorded as an event)."""
    with _open(settings) as engine:
        package = engine.export_handover(
            engagement_id,
            actor=settings.actor,
            format=cast(Any, fmt),
            lang=settings.lang,
            receiver=receiver,
            purpose=purpose,
        )
    _write_out(package.text, out)
    if out is not None:
        click.echo(_t(settings.lang, "exported", id=engagement_id, path=out, sha=package.sha256[:16]))


@cli.group()
def consent() -> None:
    """The resident's consent to share information (given, withdrawn, shown)."""


@consent.command("give")
@click.argument("engagement_id", metavar="ID", type=int)
@click.option(
    "--information",
    required=True,
    metavar="S1,S2",
    help="Which information: referral, first_contact, plan, activities, self_help, status, "
    "deadlines, notes (or all).",
)
@click.option("--to", "to", required=True, metavar="R1,R2", help="To whom: receivers from the register.")
@click.option("--purpose", required=True, help="For what purpose.")
@click.option("--date", "given_on", metavar="YYYY-MM-DD", help="When it was given [default: today].")
@click.option(
    "--how",
    type=click.Choice(["written", "oral", "skriftligt", "mundtligt"]),
    default="written",
    show_default=True,
)
@click.option("--idempotency-key", metavar="K", help="Retrying with the same key writes nothing twice.")
@_global_options_again
@click.pass_obj
def consent_give(
    settings: Settings,
    engagement_id: int,
    information: str,
    to: str,
    purpose: str,
    given_on: str | None,
    how: str,
    idempotency_key: str | None,
) -> None:
    """Record the resident's consent on engagement ID (an event on its chain)."""
    with _open(settings) as engine:
        e = engine.give_consent(
            engagement_id,
            actor=settings.actor,
            information=information,
            to=to,
            purpose=purpose,
            given_on=given_on,
            how=how,
            idempotency_key=idempotency_key,
        )
    if settings.as_json:
        _echo_json(e.to_dict())
    else:
        click.echo(_t(settings.lang, "consent_given", id=e.id, cid=e.version, version=e.version))


@consent.command("withdraw")
@click.argument("engagement_id", metavar="ID", type=int)
@click.argument("consent_id", metavar="CONSENT", type=int)
@click.option("--date", "withdrawn_on", metavar="YYYY-MM-DD", help="From when [default: today].")
@click.option("--reason", help="Why (optional).")
@_global_options_again
@click.pass_obj
def consent_withdraw(
    settings: Settings, engagement_id: int, consent_id: int, withdrawn_on: str | None, reason: str | None
) -> None:
    """Record that consent CONSENT on engagement ID was withdrawn."""
    with _open(settings) as engine:
        e = engine.withdraw_consent(
            engagement_id, consent_id, actor=settings.actor, withdrawn_on=withdrawn_on, reason=reason
        )
    if settings.as_json:
        _echo_json(e.to_dict())
    else:
        click.echo(_t(settings.lang, "consent_withdrawn", id=e.id, cid=consent_id, version=e.version))


@consent.command("show")
@click.argument("engagement_id", metavar="ID", type=int)
@_global_options_again
@click.pass_obj
def consent_show(settings: Settings, engagement_id: int) -> None:
    """The consents recorded on engagement ID."""
    from .engine import DEFAULT_RECEIVERS, SECTIONS

    lang = settings.lang
    with _open(settings) as engine:
        consents = engine.consents(engagement_id, actor=settings.actor)
        receivers = dict(engine.receivers) or dict(DEFAULT_RECEIVERS)
    if settings.as_json:
        _echo_json([c.to_dict() for c in consents])
        return
    if not consents:
        click.echo(_t(lang, "no_consents"))
        return
    click.echo(
        _table(
            (
                (
                    str(c.id),
                    c.given_on.isoformat(),
                    ", ".join(receivers[r].get(lang) if r in receivers else r for r in c.to),
                    ", ".join(SECTIONS[s].get(lang) if s in SECTIONS else s for s in c.information),
                    c.purpose,
                    _t(lang, "current")
                    if c.current
                    else _t(lang, "withdrawn_on", date=c.withdrawn_on.isoformat() if c.withdrawn_on else "-"),
                )
                for c in consents
            ),
            header=[
                _t(lang, k) for k in ("h_id", "h_given", "h_to", "h_information", "h_purpose", "h_status")
            ],
        )
    )


# -- reminders, delivery and the scheduler ------------------------------------------------------

_TEXTS.update(
    {
        "raised": (
            "Forløb {engagement}: {stage}, niveau {level} til {who}",
            "Engagement {engagement}: {stage}, level {level} to {who}",
        ),
        "raised_none": ("Ingen påmindelser forfaldne.", "No reminders due."),
        "dispatched": (
            "Leveret: {delivered}, prøves igen: {retried}, opgivet: {dead}",
            "Delivered: {delivered}, to retry: {retried}, dead: {dead}",
        ),
        "no_reminders": ("Ingen påmindelser.", "No reminders."),
        "no_failed": ("Ingen fejlede beskeder.", "No failed messages."),
        "acked": ("Påmindelse {id} kvitteret.", "Reminder {id} acknowledged."),
        "snoozed": ("Påmindelse {id} udsat til {until}.", "Reminder {id} snoozed until {until}."),
        "digests": ("Oversigter lagt i udbakken: {n}", "Digests queued: {n}"),
        "scheduler_started": (
            "Planlægger kører (gennemgang hvert {sweep:g}. s, levering hvert {dispatch:g}. s); "
            "Ctrl-C stopper.",
            "Scheduler running (sweep every {sweep:g} s, dispatch every {dispatch:g} s); Ctrl-C stops it.",
        ),
        "scheduler_stopped": ("Planlægger stoppet.", "Scheduler stopped."),
        "h_engagement": ("Forløb", "Engagement"),
        "h_level": ("Niveau", "Level"),
        "h_recipient": ("Modtager", "Recipient"),
        "h_raised": ("Rejst", "Raised"),
        "h_state": ("Status", "Status"),
        "h_attempts": ("Forsøg", "Attempts"),
        "h_error": ("Sidste fejl", "Last error"),
        "h_channel": ("Kanal", "Channel"),
        "r_open": ("åben", "open"),
        "r_snoozed": ("udsat til {until}", "snoozed until {until}"),
        "r_acked": ("kvitteret", "acknowledged"),
    }
)


class _TimeParam(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 time; without an offset it is Danish local time."""

    name = "ISO-TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time (e.g. 2026-03-09T09:00)", param, ctx)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_TZ)


_TIME = _TimeParam()


def _config_option(f: F) -> F:
    return click.option(
        "--config",
        "config_path",
        metavar="FILE",
        envvar="FORLOEB_CONFIG",
        type=click.Path(dir_okay=False),
        help="Configuration file (TOML: notifiers, routes, deadlines …) [env FORLOEB_CONFIG].",
    )(f)


def _open_configured(settings: Settings, config_path: str | None) -> tuple[Engine, Any]:
    """The engine opened with the configuration file's router, deadlines and team leads."""
    from .engine import load_settings

    config = load_settings(config_path)  # bad config: InvalidData, before the database is touched
    return Engine.open(settings.db, **config.engine_options()), config


def _raised_row(engine: Engine, r: Any, lang: Lang) -> dict[str, Any]:
    e = engine.get(r.engagement_id)
    definition = engine.workflow(e.workflow, e.workflow_version)
    return {**r.to_dict(), "stage_label": _stage_label(definition, r.stage, lang)}


@cli.group()
def reminders() -> None:
    """Reminders and escalations: sweep, deliver, list, acknowledge, snooze."""


@reminders.command("sweep")
@click.option("--now", type=_TIME, help="Sweep as of this time [default: now].")
@_config_option
@_global_options_again
@click.pass_obj
def reminders_sweep(settings: Settings, now: datetime | None, config_path: str | None) -> None:
    """Raise every reminder and escalation that is due (once; safe to repeat)."""
    lang = settings.lang
    engine, _ = _open_configured(settings, config_path)
    with engine:
        raised = [_raised_row(engine, r, lang) for r in engine.sweep(now)]
    if settings.as_json:
        _echo_json(raised)
        return
    if not raised:
        click.echo(_t(lang, "raised_none"))
    for r in raised:
        who = r["recipient"] or _role_label(r["recipient_role"], lang)
        click.echo(
            _t(
                lang,
                "raised",
                engagement=r["engagement_id"],
                stage=r["stage_label"],
                level=r["level"],
                who=who,
            )
        )


@reminders.command("dispatch")
@click.option("--now", type=_TIME, help="Deliver what is due at this time [default: now].")
@_config_option
@_global_options_again
@click.pass_obj
def reminders_dispatch(settings: Settings, now: datetime | None, config_path: str | None) -> None:
    """Deliver the messages waiting in the outbox (with retries)."""
    engine, _ = _open_configured(settings, config_path)
    with engine:
        result = engine.dispatch(now)
    if settings.as_json:
        _echo_json(result.to_dict())
    else:
        click.echo(
            _t(
                settings.lang,
                "dispatched",
                delivered=result.delivered,
                retried=result.retried,
                dead=result.dead,
            )
        )


@reminders.command("list")
@click.option("--supervisor", help="Only reminders of this supervisor's engagements.")
@click.option("--assignee", help="Only reminders of this worker's engagements.")
@click.option("--open", "open_only", is_flag=True, help="Only those not acknowledged.")
@click.option("--failed", is_flag=True, help="Instead: outbox messages that could not be delivered.")
@_global_options_again
@click.pass_obj
def reminders_list(
    settings: Settings, supervisor: str | None, assignee: str | None, open_only: bool, failed: bool
) -> None:
    """Reminders by id (or, with --failed, undeliverable messages and their last error)."""
    lang = settings.lang
    with _open(settings) as engine:
        if failed:
            dead = engine.outbox(status="dead")
            if settings.as_json:
                _echo_json([m.to_dict() for m in dead])
            elif not dead:
                click.echo(_t(lang, "no_failed"))
            else:
                header = [_t(lang, k) for k in ("h_id", "h_channel", "h_recipient", "h_attempts", "h_error")]
                failed_rows = [
                    (
                        str(m.id),
                        m.channel,
                        m.recipient or "-",
                        str(m.attempts),
                        _one_line(m.last_error or "-"),
                    )
                    for m in dead
                ]
                click.echo(_table(failed_rows, header=header))
            return
        found = engine.reminders(supervisor=supervisor, assignee=assignee, open_only=open_only)
        if settings.as_json:
            _echo_json([r.to_dict() for r in found])
            return
        if not found:
            click.echo(_t(lang, "no_reminders"))
            return
        rows = []
        for r in found:
            if r.acknowledged_at is not None:
                status = _t(lang, "r_acked")
            elif r.snoozed_until is not None:
                status = _t(lang, "r_snoozed", until=_local(r.snoozed_until))
            else:
                status = _t(lang, "r_open")
            rows.append(
                (
                    str(r.id),
                    str(r.engagement_id),
                    r.stage,
                    str(r.level),
                    r.recipient or _role_label(r.recipient_role, lang),
                    _local(r.due_at),
                    status,
                )
            )
    keys = ("h_id", "h_engagement", "h_stage", "h_level", "h_recipient", "h_due", "h_state")
    click.echo(_table(rows, header=[_t(lang, k) for k in keys]))


@reminders.command("ack")
@click.argument("reminder_id", metavar="ID", type=int)
@_global_options_again
@click.pass_obj
def reminders_ack(settings: Settings, reminder_id: int) -> None:
    """Acknowledge reminder ID (you have seen it)."""
    with _open(settings) as engine:
        r = engine.acknowledge_reminder(reminder_id, actor=settings.actor)
    if settings.as_json:
        _echo_json(r.to_dict())
    else:
        click.echo(_t(settings.lang, "acked", id=r.id))


@reminders.command("snooze")
@click.argument("reminder_id", metavar="ID", type=int)
@click.option("--until", required=True, type=_TIME, help="Hold the next escalation until this time.")
@click.option("--reason", required=True, help="Why (kept on the engagement's log).")
@_global_options_again
@click.pass_obj
def reminders_snooze(settings: Settings, reminder_id: int, until: datetime, reason: str) -> None:
    """Hold back the escalation after reminder ID until a time, for a reason."""
    with _open(settings) as engine:
        r = engine.snooze_reminder(reminder_id, until=until, reason=reason, actor=settings.actor)
    if settings.as_json:
        _echo_json(r.to_dict())
    else:
        click.echo(_t(settings.lang, "snoozed", id=r.id, until=_local(r.snoozed_until)))


@reminders.command("digest")
@click.option("--now", type=_TIME, help="The day of the digest [default: today].")
@_config_option
@_global_options_again
@click.pass_obj
def reminders_digest(settings: Settings, now: datetime | None, config_path: str | None) -> None:
    """Queue today's digest of open reminders for each supervisor (once a day)."""
    engine, _ = _open_configured(settings, config_path)
    with engine:
        ids = engine.send_digests(now)
    if settings.as_json:
        _echo_json({"enqueued": len(ids), "message_ids": ids})
    else:
        click.echo(_t(settings.lang, "digests", n=len(ids)))


_TEXTS.update(
    {
        "no_attempts": ("Besked {id} er ikke forsøgt leveret endnu.", "Message {id} has not been tried yet."),
        "h_attempt": ("Forsøg", "Attempt"),
        "h_outcome": ("Udfald", "Outcome"),
        "h_attempt_error": ("Fejl", "Error"),
        "o_delivered": ("leveret", "delivered"),
        "o_failed": ("fejlede", "failed"),
        "o_dead": ("opgivet", "dead"),
    }
)


@reminders.command("attempts")
@click.argument("outbox_id", metavar="OUTBOX_ID", type=int)
@_global_options_again
@click.pass_obj
def reminders_attempts(settings: Settings, outbox_id: int) -> None:
    """The delivery attempts of outbox message OUTBOX_ID (see `reminders list --failed`)."""
    from .engine._errors import OutboxMessageNotFound

    lang = settings.lang
    with _open(settings) as engine:
        attempts = engine.outbox_attempts(outbox_id)
        # No attempts: a message not tried yet, or no such message at all.
        if not attempts and not any(m.id == outbox_id for m in engine.outbox()):
            raise OutboxMessageNotFound(outbox_id)
    if settings.as_json:
        _echo_json([{**a, "at": a["at"].isoformat()} for a in attempts])
        return
    if not attempts:
        click.echo(_t(lang, "no_attempts", id=outbox_id))
        return
    outcomes = {"delivered", "failed", "dead"}
    rows = [
        (
            str(a["attempt"]),
            _local(a["at"]),
            _t(lang, f"o_{a['outcome']}") if a["outcome"] in outcomes else a["outcome"],
            _one_line(a["error"] or "-"),
        )
        for a in attempts
    ]
    header = [_t(lang, k) for k in ("h_attempt", "h_time", "h_outcome", "h_attempt_error")]
    click.echo(_table(rows, header=header))


@cli.group()
def scheduler() -> None:
    """Run the sweep and the delivery on a timer."""


@scheduler.command("run")
@click.option("--sweep-every", type=click.FloatRange(min=0, min_open=True), metavar="S", help="Seconds.")
@click.option("--dispatch-every", type=click.FloatRange(min=0, min_open=True), metavar="S", help="Seconds.")
@click.option("--digest-at", metavar="HH:MM", help="Queue the daily digest at this Danish time.")
@_config_option
@_global_options_again
@click.pass_obj
def scheduler_run(
    settings: Settings,
    sweep_every: float | None,
    dispatch_every: float | None,
    digest_at: str | None,
    config_path: str | None,
) -> None:
    """Sweep and deliver in the foreground until SIGINT or SIGTERM (then finish the job in flight).

    Run one per node if you like: the work is safe to run on several at once.
    """
    import signal

    from .engine._scheduler import build_scheduler

    lang = settings.lang
    engine, config = _open_configured(settings, config_path)
    with engine:
        sweep_s = sweep_every if sweep_every is not None else config.sweep_every
        dispatch_s = dispatch_every if dispatch_every is not None else config.dispatch_every
        blocking = build_scheduler(
            engine,
            background=False,
            sweep_every=sweep_s,
            dispatch_every=dispatch_s,
            digest_at=digest_at if digest_at is not None else config.digest_at,
        )

        def stop(signum: int, _frame: Any) -> None:
            # From the handler, as APScheduler's BlockingScheduler expects:
            # wait=True lets a sweep or delivery in flight finish and record
            # its outcome; start() then returns in the main thread.
            if blocking.running:
                blocking.shutdown(wait=True)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            if not settings.as_json:
                click.echo(_t(lang, "scheduler_started", sweep=sweep_s, dispatch=dispatch_s))
            blocking.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if settings.as_json:
        _echo_json({"stopped": True})
    else:
        click.echo(_t(lang, "scheduler_stopped"))


# -- erasure and retention ------------------------------------------------------------

_TEXTS.update(
    {
        "erase_confirm": (
            "Slet forløb {id} og alle dets data permanent? Det kan ikke fortrydes",
            "Erase engagement {id} and all its data permanently? This cannot be undone",
        ),
        "purge_confirm": (
            "Slet disse {n} forløb permanent? Det kan ikke fortrydes",
            "Erase these {n} engagements permanently? This cannot be undone",
        ),
        "yes_required": (
            "--json kræver --yes (der kan ikke spørges om bekræftelse)",
            "--json needs --yes (there is no one to ask for confirmation)",
        ),
        "erased": (
            "Forløb {id} ({workflow}, {subject}) slettet {at} af {by}: {events} hændelser. "
            "Begrundelse: {reason}",
            "Engagement {id} ({workflow}, {subject}) erased {at} by {by}: {events} events. Reason: {reason}",
        ),
        "would_erase": (
            "Forløb {id} ({workflow}, {subject}) ville blive slettet: {events} hændelser. "
            "Begrundelse: {reason}",
            "Engagement {id} ({workflow}, {subject}) would be erased: {events} events. Reason: {reason}",
        ),
        "nothing_to_purge": ("Ingen forløb at slette.", "No engagements to erase."),
    }
)


class _YesRequired(_OneLineError, click.UsageError):
    """--json without --yes on a command that would ask (exit code 2)."""

    def __init__(self, settings: Settings | None) -> None:
        self._use(settings)
        super().__init__(_t(self.lang, "yes_required"))


def _receipts_out(settings: Settings, engine: Engine, receipts: Sequence[ErasureReceipt]) -> None:
    """What erase and retention purge print: one line per engagement erased (or, dry run, to erase)."""
    if settings.as_json:
        _echo_json([r.to_dict() for r in receipts])
        return
    lang = settings.lang
    if not receipts:
        click.echo(_t(lang, "nothing_to_purge"))
    for r in receipts:
        try:
            workflow = engine.workflow(r.workflow).labels.get(lang)
        except UnknownWorkflow:
            workflow = r.workflow
        click.echo(
            _t(
                lang,
                "would_erase" if r.dry_run else "erased",
                id=r.engagement_id,
                workflow=workflow,
                subject=r.subject,
                at=_local(r.erased_at),
                by=r.by,
                events=r.events_deleted,
                reason=r.reason,
            )
        )


@cli.command()
@click.argument("engagement_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="Why (kept in the access log), e.g. the erasure request.")
@click.option("--purpose", help="Further context (kept in the access log entry's criteria).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required with --json).")
@_global_options_again
@click.pass_obj
def erase(settings: Settings, engagement_id: int, reason: str, purpose: str | None, yes: bool) -> None:
    """Delete engagement ID and all its data for real (supervisors; the deletion is logged)."""
    if not yes:
        if settings.as_json:
            raise _YesRequired(settings)
        click.confirm(_t(settings.lang, "erase_confirm", id=engagement_id), abort=True, err=True)
    with _open(settings) as engine:
        receipt = engine.erase(engagement_id, actor=settings.actor, reason=reason, purpose=purpose)
        _receipts_out(settings, engine, [receipt])


@cli.group()
def retention() -> None:
    """Retention: erase engagements closed longer ago than the deletion deadline;
    delete finished outbox messages."""


@retention.command("purge")
@click.option(
    "--older-than-years",
    "years",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    metavar="N",
    help="Erase engagements whose last event (closing, or a later note) is older than N years.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be erased.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required with --json).")
@_global_options_again
@click.pass_obj
def retention_purge(settings: Settings, years: int, dry_run: bool, yes: bool) -> None:
    """Erase every closed or handed-over engagement older than the deadline (KL: 5 years)."""
    with _open(settings) as engine:
        _preview_then_purge(
            settings,
            yes=yes,
            dry_run=dry_run,
            purge=lambda dry: engine.purge_closed(older_than_years=years, actor=settings.actor, dry_run=dry),
            show=lambda receipts, _dry: _receipts_out(settings, engine, receipts),
            count=len,
            confirm="purge_confirm",
        )


_T = TypeVar("_T")


def _preview_then_purge(
    settings: Settings,
    *,
    yes: bool,
    dry_run: bool,
    purge: Callable[[bool], _T],
    show: Callable[[_T, bool], None],
    count: Callable[[_T], int],
    confirm: str,
) -> None:
    """Purge, after showing what would go and asking, unless --yes or --dry-run.

    The real purge checks every row again as it deletes: the preview only
    informs the question.
    """
    if not (yes or dry_run):
        if settings.as_json:
            raise _YesRequired(settings)
        preview = purge(True)
        show(preview, True)
        if not count(preview):
            return
        click.confirm(_t(settings.lang, confirm, n=count(preview)), abort=True, err=True)
    show(purge(dry_run), dry_run)


_TEXTS.update(
    {
        "purge_outbox_confirm": (
            "Slet disse {n} leverede eller opgivne beskeder og deres leveringsforsøg permanent? "
            "Det kan ikke fortrydes",
            "Delete these {n} delivered or dead messages and their delivery attempts permanently? "
            "This cannot be undone",
        ),
        "outbox_purged": (
            "{n} leverede eller opgivne beskeder ældre end {days} dage slettet fra udbakken "
            "med deres leveringsforsøg.",
            "{n} delivered or dead messages older than {days} days deleted from the outbox "
            "with their delivery attempts.",
        ),
        "outbox_would_purge": (
            "{n} leverede eller opgivne beskeder ældre end {days} dage ville blive slettet fra udbakken.",
            "{n} delivered or dead messages older than {days} days would be deleted from the outbox.",
        ),
        "outbox_nothing_to_purge": (
            "Ingen leverede eller opgivne beskeder ældre end {days} dage i udbakken.",
            "No delivered or dead messages older than {days} days in the outbox.",
        ),
    }
)


def _outbox_purge_out(settings: Settings, n: int, days: int, dry_run: bool) -> None:
    if settings.as_json:
        _echo_json({"messages": n, "older_than_days": days, "dry_run": dry_run})
    elif n == 0:
        click.echo(_t(settings.lang, "outbox_nothing_to_purge", days=days))
    else:
        click.echo(_t(settings.lang, "outbox_would_purge" if dry_run else "outbox_purged", n=n, days=days))


@retention.command("purge-outbox")
@click.option(
    "--older-than-days",
    "days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    metavar="N",
    help="Delete delivered and dead messages created more than N days ago (pending ones stay).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required with --json).")
@_global_options_again
@click.pass_obj
def retention_purge_outbox(settings: Settings, days: int, dry_run: bool, yes: bool) -> None:
    """Delete finished outbox messages and their delivery attempts (supervisors)."""
    with _open(settings) as engine:
        _preview_then_purge(
            settings,
            yes=yes,
            dry_run=dry_run,
            purge=lambda dry: engine.purge_outbox(older_than_days=days, actor=settings.actor, dry_run=dry),
            show=lambda n, dry: _outbox_purge_out(settings, n, days, dry),
            count=lambda n: n,
            confirm="purge_outbox_confirm",
        )
