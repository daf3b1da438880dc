"""Engagements: start, fire, triggers, show, list, history, note, record, activity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from forloeb.engine import field_label
from forloeb.words.catalog import t

from ._context import (
    EngineDefault,
    ForloebCommand,
    Settings,
    data_option,
    global_options_again,
    idempotency_option,
    open_engine,
    write_options,
)
from ._render import (
    choice_label,
    data_text,
    echo,
    echo_json,
    event_text,
    local,
    one_line,
    parse_time,
    role_label,
    stage_label,
    stage_text,
    table,
    trigger_label,
)

if TYPE_CHECKING:
    from forloeb import Engagement, Engine, TriggerOption, WorkflowDefinition
    from forloeb.engine import Lang


def _snapshot_out(settings: Settings, engine: Engine, e: Engagement, key: str, **params: object) -> None:
    """What start, fire, note, record and activity print: the engagement as committed."""
    if settings.as_json:
        echo_json(e.to_dict())
        return
    lang = settings.lang
    definition = engine.workflow(e.workflow, e.workflow_version)
    echo(t(lang, key, id=e.id, stage=stage_text(definition, e, lang), version=e.version, **params))
    if e.stage_due_at is not None and key in ("started", "fired"):
        echo(t(lang, "due", due=local(e.stage_due_at)))


@click.command(cls=ForloebCommand)
@click.argument("workflow")
@click.option(
    "--subject", required=True, metavar="REF", help="Case reference of the resident or actor (no CPR)."
)
@click.option("--source", required=True, help="Referral source (see `forloeb workflows show`).")
@click.option("--assignee", help="The worker (medarbejder).")
@click.option("--supervisor", help="The supervisor (leder) who receives escalations.")
@click.option("--team", help="Team or department.")
@click.option("--tag", "tags", multiple=True, help="Effort area (indsatsområde). Repeatable.")
@data_option
@idempotency_option
@global_options_again
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
    with open_engine(settings) as engine:
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


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@click.argument("trigger")
@data_option
@click.option("--note", help="A note kept with the event.")
@click.option(
    "--outcome", metavar="KEY", help="The result the move ends with (goal_reached …): --data outcome=KEY."
)
@write_options
@global_options_again
@click.pass_obj
def fire(
    settings: Settings,
    engagement_id: int,
    trigger: str,
    data: dict[str, Any],
    note: str | None,
    outcome: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Fire TRIGGER on engagement ID (see `forloeb triggers ID`)."""
    if outcome is not None:
        data = {**data, "outcome": outcome}
    with open_engine(settings) as engine:
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
        action = trigger_label(definition, trigger, settings.lang)
        _snapshot_out(settings, engine, e, "fired", action=action)


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@global_options_again
@click.pass_obj
def triggers(settings: Settings, engagement_id: int) -> None:
    """What can happen next to engagement ID, and why not when it cannot."""
    lang = settings.lang
    with open_engine(settings) as engine:
        options = engine.available_triggers(engagement_id, settings.actor)
        if settings.as_json:
            echo_json([o.to_dict(lang) for o in options])
            return
        e = engine.get(engagement_id, actor=settings.actor)
        definition = engine.workflow(e.workflow, e.workflow_version)
    if not options:
        echo(t(lang, "no_triggers", stage=stage_text(definition, e, lang)))
        return

    def dest(o: TriggerOption) -> str:
        if o.dest is not None:
            return stage_label(definition, o.dest, lang)
        origin = e.paused_from or e.closed_from
        return f"{t(lang, 'back')}: {stage_label(definition, origin, lang)}" if origin else "-"

    echo(f"{t(lang, 'f_stage')}: {stage_text(definition, e, lang)}")
    echo(
        table(
            (
                (
                    o.trigger,
                    trigger_label(definition, o.trigger, lang, e.state),
                    "→ " + dest(o),
                    t(lang, "yes" if o.allowed else "no"),
                    o.reason(lang) or "",
                )
                for o in options
            ),
            header=[t(lang, k) for k in ("h_trigger", "h_label", "h_dest", "h_allowed", "h_reason")],
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
                    kind = choice_label(definition, "kind", a.get("kind"), lang)
                    text = f"      - {local(parse_time(a.get('at')))} {kind}"
                    if a.get("description"):
                        text += f": {one_line(str(a['description']))}"
                    if extra:
                        text += f" ({data_text(definition, extra, lang)})"
                    lines.append(f"{text} [{a.get('by', '-')}]")
                continue
            lines.append(
                f"    {field_label(key, lang)}: {one_line(choice_label(definition, key, value, lang))}"
            )
    return lines


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@global_options_again
@click.pass_obj
def show(settings: Settings, engagement_id: int) -> None:
    """Engagement ID: stage, people, due time and what has been recorded."""
    lang = settings.lang
    with open_engine(settings) as engine:
        e = engine.get(engagement_id, actor=settings.actor)  # access-logged
        definition = engine.workflow(e.workflow, e.workflow_version)
    if settings.as_json:
        echo_json(e.to_dict())
        return
    stage = stage_text(definition, e, lang)
    if e.cycle == 1:
        stage = f"{stage} ({t(lang, 'cycle', n=1)})"
    fields = [
        ("f_stage", stage),
        ("f_version", str(e.version)),
        ("f_subject", e.subject),
        ("f_source", choice_label(definition, "source", e.source, lang)),
        ("f_assignee", e.assignee or "-"),
        ("f_supervisor", e.supervisor or "-"),
        ("f_team", e.team or "-"),
        ("f_tags", ", ".join(e.tags) or "-"),
        ("f_due", local(e.stage_due_at)),
        ("f_created", local(e.created_at)),
        ("f_updated", local(e.updated_at)),
    ]
    echo(f"{t(lang, 'engagement', id=e.id)} · {definition.labels.get(lang)}")
    echo(table((f"{t(lang, k)}:", v) for k, v in fields))
    records = _records_text(definition, e.data, lang)
    if records:
        echo(f"{t(lang, 'f_records')}:")
        echo("\n".join(records))


@click.command("list", cls=ForloebCommand)
@click.option("--workflow", help="Only this workflow.")
@click.option("--state", help="Only engagements in this stage (key, e.g. action).")
@click.option("--assignee", help="Only this worker's.")
@click.option("--supervisor", help="Only this supervisor's.")
@click.option("--team", help="Only this team's.")
@click.option("--tag", help="Only engagements with this tag.")
@click.option("--subject", metavar="REF", help="Only this subject reference.")
@click.option("--stale", is_flag=True, help="Only engagements past their stage's due time.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    cls=EngineDefault,
    engine_default="DEFAULT_PAGE",
    show_default=True,
    metavar="N",
    help="At most N engagements (a page).",
)
@click.option("--cursor", help="Continue after the page that printed this cursor.")
@global_options_again
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
    limit: int,
    cursor: str | None,
) -> None:
    """Engagements, by id (--stale: by due time), filtered, a page at a time."""
    lang = settings.lang
    with open_engine(settings) as engine:
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
            cursor=cursor,
            actor=settings.actor,  # access-logged: one entry per page, naming who was shown
        )
        if found.next_cursor:
            # On stderr: the JSON on stdout keeps its shape (a list).
            echo(t(lang, "next_page", cursor=found.next_cursor), err=True)
        if settings.as_json:
            echo_json([e.to_dict() for e in found])
            return
        if not found:
            echo(t(lang, "no_engagements"))
            return
        rows = []
        for e in found:
            definition = engine.workflow(e.workflow, e.workflow_version)
            rows.append(
                (
                    str(e.id),
                    definition.labels.get(lang),
                    stage_text(definition, e, lang),
                    e.subject,
                    e.assignee or "-",
                    local(e.stage_due_at),
                )
            )
    header = [t(lang, k) for k in ("h_id", "h_workflow", "h_stage", "h_subject", "h_assignee", "h_due")]
    echo(table(rows, header=header))


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@global_options_again
@click.pass_obj
def history(settings: Settings, engagement_id: int) -> None:
    """The event log of engagement ID, oldest first."""
    lang = settings.lang
    with open_engine(settings) as engine:
        events = engine.history(engagement_id, actor=settings.actor)  # access-logged
        if settings.as_json:
            echo_json([ev.to_dict() for ev in events])
            return
        e = engine.get(engagement_id, actor=settings.actor)
        definition = engine.workflow(e.workflow, e.workflow_version)
    width = len(str(events[-1].seq)) if events else 1
    for ev in events:
        who = f"{ev.actor} ({role_label(ev.role, lang)})"
        echo(f"{ev.seq:>{width}}  {local(ev.occurred_at)}  {who}  {event_text(definition, ev, lang)}")


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@click.argument("text")
@write_options
@global_options_again
@click.pass_obj
def note(
    settings: Settings,
    engagement_id: int,
    text: str,
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Add a dated note to engagement ID (notatpligt)."""
    with open_engine(settings) as engine:
        e = engine.add_note(
            engagement_id,
            text,
            actor=settings.actor,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )
        _snapshot_out(settings, engine, e, "noted")


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@data_option
@click.option(
    "--fields",
    "as_fields",
    is_flag=True,
    help="The data are the engagement's own fields (a group's contact person, participants …).",
)
@click.option(
    "--self-help",
    "level",
    metavar="LEVEL",
    help="Record the self-help level reached (wants, can, does), in action or self-help.",
)
@write_options
@global_options_again
@click.pass_obj
def record(
    settings: Settings,
    engagement_id: int,
    data: dict[str, Any],
    as_fields: bool,
    level: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Record answers of the current stage (focus, goals, plan …) without moving on;
    or the engagement's fields (--fields); or the self-help level reached (--self-help)."""
    with open_engine(settings) as engine:
        options: dict[str, Any] = {
            "actor": settings.actor,
            "expected_version": expected_version,
            "idempotency_key": idempotency_key,
        }
        if level is not None and not data:
            e = engine.progress.record_self_help(engagement_id, level, **options)
        elif as_fields:
            e = engine.progress.update_fields(engagement_id, data, **options)
        else:
            e = engine.record_details(engagement_id, data, **options)
        if level is not None and data:
            # Both: the answers first, then the level, each its own event.
            e = engine.progress.record_self_help(engagement_id, level, actor=settings.actor)
        _snapshot_out(settings, engine, e, "recorded")


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@click.argument("kind")
@click.option("--description", help="What was done.")
@data_option
@write_options
@global_options_again
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
    with open_engine(settings) as engine:
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
            settings, engine, e, "activity_done", kind=choice_label(definition, "kind", kind, settings.lang)
        )
