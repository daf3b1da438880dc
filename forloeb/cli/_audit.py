"""``forloeb audit``: query the event log, verify its chains, checkpoints, the access log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import click

from forloeb.reporting.exports import audit_csv_lines, audit_jsonl_lines
from forloeb.words.catalog import t

from ._context import (
    EngineDefault,
    ForloebGroup,
    OneLineError,
    Settings,
    YesRequired,
    global_options_again,
    open_engine,
    progress_bar,
    yes_option,
)
from ._output import out_options, output
from ._render import (
    echo,
    echo_json,
    event_text,
    local,
    role_label,
    stage_label,
    table,
    to_json,
)

if TYPE_CHECKING:
    from forloeb.engine import Lang

_ACCESS_HEADINGS = ("h_time", "h_actor", "h_role", "h_action", "h_id", "h_subject", "h_label", "h_purpose")


@click.group(cls=ForloebGroup)
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
@out_options
@click.option("--purpose", help="Why you query (kept in the access log).")
@global_options_again
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
    force: bool,
    purpose: str | None,
) -> None:
    """Who did what, when, to which engagement: events matching every filter."""
    lang = settings.lang
    if settings.as_json and fmt == "table":
        fmt = "json"
    # The file first: a path that cannot be written records no export (M4).
    with output(settings, out, force) as dest:
        with open_engine(settings) as engine:
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
            dest.write(to_json({"records": rows, "next_cursor": page.next_cursor}, indent=2) + "\n")
            return
        if fmt == "jsonl":
            dest.write("".join(audit_jsonl_lines(rows)))
        elif fmt == "csv":
            # The columns and the escaping shared with the console's export.
            dest.write("".join(audit_csv_lines(rows)))
        elif not rows and not dest.to_file:
            echo(t(lang, "no_events"))
        else:
            text = table(
                (
                    (
                        str(rec.event.engagement_id),
                        str(rec.event.seq),
                        local(rec.event.occurred_at),
                        rec.event.actor,
                        role_label(rec.event.role, lang),
                        event_text(definitions[rec.workflow], rec.event, lang)
                        if rec.workflow in definitions
                        else rec.event.type,
                    )
                    for rec in page.records
                ),
                header=[t(lang, k) for k in ("h_id", "h_seq", "h_time", "h_actor", "h_role", "h_event")],
            )
            dest.write(text + "\n")
    if page.next_cursor:
        echo(t(lang, "next_page", cursor=page.next_cursor), err=True)


@audit.command("timeline")
@click.argument("engagement_id", metavar="ID", type=int)
@click.option("--purpose", help="Why you read it (kept in the access log).")
@global_options_again
@click.pass_obj
def audit_timeline(settings: Settings, engagement_id: int, purpose: str | None) -> None:
    """Engagement ID's full history, stage by stage: who did what, and when."""
    lang = settings.lang
    with open_engine(settings) as engine:
        engagement, events, reminders = engine.audit.timeline(settings.actor, engagement_id, purpose=purpose)
        definition = engine.workflow(engagement["workflow"], engagement["workflow_version"])
    if settings.as_json:
        echo_json(
            {
                "engagement": engagement,
                "events": [e.to_dict() for e in events],
                "reminders": reminders,
            }
        )
        return
    title = t(lang, "engagement", id=engagement_id)
    echo(f"{title} · {definition.labels.get(lang)} · {engagement['subject']}")
    # Reminders are placed among the events by when they were raised; a
    # heading marks each stage the engagement entered.
    items: list[tuple[datetime, int, str | None, str]] = []
    for ev in events:
        who = f"{ev.actor} ({role_label(ev.role, lang)})"
        line = f"  {ev.seq:>4}  {local(ev.occurred_at)}  {who}  {event_text(definition, ev, lang)}"
        items.append((ev.occurred_at, 0, ev.to_state, line))
    for r in reminders:
        raised = datetime.fromisoformat(r["raised_at"])
        text = t(lang, "t_reminder", level=r["level"], who=r.get("recipient") or r["recipient_role"])
        if r.get("acknowledged_at"):
            text += "; " + t(
                lang,
                "t_acknowledged",
                at=local(datetime.fromisoformat(r["acknowledged_at"])),
                who=r.get("acknowledged_by") or "-",
            )
        items.append((raised, 1, None, f"     ⏰ {local(raised)}  {text}"))
    stage: str | None = None
    for _at, _kind, to_state, line in sorted(items, key=lambda i: (i[0], i[1])):
        if to_state is not None and to_state != stage:
            stage = to_state
            echo(f"\n{stage_label(definition, stage, lang)}")
        echo(line)


@audit.command("verify")
@click.option("--engagement", "engagement_id", type=int, metavar="ID", help="Only this engagement's chain.")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Also compare with this checkpoint (detects a cut-off tail).",
)
@global_options_again
@click.pass_context
def audit_verify(ctx: click.Context, engagement_id: int | None, checkpoint_file: str | None) -> None:
    """Recompute every hash chain and report each break. Exit code 1 when anything is broken."""
    settings = ctx.find_object(Settings)
    assert settings is not None
    lang = settings.lang
    checkpoint = None
    if checkpoint_file is not None:
        try:
            import json

            with open(checkpoint_file, encoding="utf-8") as fh:
                checkpoint = json.load(fh)
        except (OSError, ValueError, RecursionError) as exc:
            # Unreadable, not text, not JSON, nested too deeply: one line (L6), in the language (L8).
            raise CheckpointFileError(_unreadable(exc, lang), settings) from None
    with open_engine(settings) as engine, progress_bar(settings, "progress_verify") as progress:
        report = engine.audit.verify(
            settings.actor, engagement_id=engagement_id, checkpoint=checkpoint, progress=progress
        )
    if settings.as_json:
        echo_json(report.to_dict())
    else:
        for w in report.warnings_in(lang):
            echo(f"{t(lang, 'warning')}: {w}", err=True)
        if report.checkpoint:
            echo(t(lang, "verify_checkpoint", at=report.checkpoint))
        if report.ok:
            algo = "HMAC-SHA256" if report.keyed else "SHA-256"
            echo(t(lang, "verify_ok", events=report.events, engagements=report.engagements, algo=algo))
        else:
            echo(t(lang, "verify_broken", n=len(report.breaks), events=report.events))
            for b in report.breaks:
                echo(f"  {b.text(lang)}")
        # Erased since the checkpoint (and logged): information, not a break.
        for b in report.erased:
            echo(f"  {b.text(lang)}")
    if not report.ok:
        ctx.exit(1)


class CheckpointFileError(OneLineError, click.BadParameter):
    """A --checkpoint file that cannot be read as one: one line, exit code 2."""

    def __init__(self, why: str, settings: Settings | None) -> None:
        self._use(settings)
        super().__init__(why, param_hint="--checkpoint")


def _unreadable(exc: BaseException, lang: Lang) -> str:
    """Why a checkpoint file cannot be read, in ``lang``."""
    if isinstance(exc, OSError):
        return f"{t(lang, 'checkpoint_unreadable')} ({exc.strerror or exc})"
    if isinstance(exc, UnicodeDecodeError):
        return t(lang, "checkpoint_not_text")
    if isinstance(exc, RecursionError):
        return t(lang, "checkpoint_too_deep")
    return f"{t(lang, 'checkpoint_not_json')} ({exc})"


@audit.command("checkpoint")
@out_options
@global_options_again
@click.pass_obj
def audit_checkpoint(settings: Settings, out: str | None, force: bool) -> None:
    """A signed checkpoint of every chain (head hash and event count) to store elsewhere."""
    lang = settings.lang
    with output(settings, out, force) as dest:
        with open_engine(settings) as engine:
            data = engine.audit.checkpoint(settings.actor)
        if not data["signature"]:
            echo(f"{t(lang, 'warning')}: {t(lang, 'unsigned')}", err=True)
        dest.write(to_json(data, indent=2) + "\n")
    if out is not None and not settings.as_json:
        how = t(lang, "signed" if data["signature"] else "unsigned")
        echo(t(lang, "checkpoint_written", path=out, n=len(data["engagements"]), how=how))


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
@click.option(
    "--redact-staff/--show-staff",
    default=True,
    help="With --for-subject: leave out staff identities, also in free text [default: leave out].",
)
@click.option("--purpose", help="Why (kept in the access log).")
@out_options
@global_options_again
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
    force: bool,
) -> None:
    """The access log: who read, searched, exported or deleted engagement data."""
    lang = settings.lang
    with output(settings, out, force) as dest:
        with open_engine(settings) as engine:
            if for_subject is not None:
                result = engine.audit.for_subject(
                    settings.actor, for_subject, redact_staff=redact_staff, purpose=purpose
                )
            else:
                entries = engine.audit.access(
                    settings.actor,
                    subject=subject,
                    actor=actor,
                    engagement_id=engagement_id,
                    since=since,
                    until=until,
                    limit=limit,
                )
        if for_subject is not None:
            dest.write(to_json(result, indent=2) + "\n")
            if out is not None:
                echo(t(lang, "written", path=out))
            return
        if settings.as_json:
            dest.write(to_json([e.to_dict() for e in entries], indent=2) + "\n")
            return
        if not entries and not dest.to_file:
            echo(t(lang, "no_access"))
            return
        text = table(
            (
                (
                    local(e.occurred_at),
                    e.actor,
                    role_label(e.role, lang),
                    e.action,
                    str(e.engagement_id) if e.engagement_id is not None else "-",
                    e.subject or "-",
                    to_json(e.criteria) if e.criteria else "",
                    e.purpose or "",
                )
                for e in entries
            ),
            header=[t(lang, k) for k in _ACCESS_HEADINGS],
        )
        dest.write(text + "\n")


@audit.command("purge-access")
@click.option(
    "--days",
    cls=EngineDefault,
    engine_default="DEFAULT_RETENTION",
    show=lambda retention: retention.days,
    # A bound: beyond a century the cutoff falls before year 1 (an overflow, not an answer).
    type=click.IntRange(min=0, max=36_500),
    metavar="N",
    help="Keep the last N days [default: FORLOEB_ACCESS_LOG_DAYS or {default}, about six months].",
)
@click.option(
    "--records-years",
    type=click.FloatRange(min=0, max=100),
    metavar="Y",
    help="Keep deletion records, purge records and register changes Y years "
    "[default: FORLOEB_RECORDS_YEARS or 5].",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@yes_option
@global_options_again
@click.pass_obj
def audit_purge_access(
    settings: Settings, days: int | None, records_years: float | None, dry_run: bool, yes: bool
) -> None:
    """Delete access-log entries older than their retention (supervisors and admins;
    the purge is itself recorded, and kept as long as the deletion records)."""
    from datetime import timedelta

    from ._staff import tt

    with open_engine(settings) as engine:
        retention = timedelta(days=days) if days is not None else engine.audit.retention
        records = (
            timedelta(days=round(records_years * 365.25))
            if records_years is not None
            else engine.audit.records_retention
        )

        def purge(dry: bool) -> int:
            return engine.audit.purge_access(
                settings.actor, retention=retention, records_retention=records, dry_run=dry
            )

        if not (yes or dry_run):
            if settings.as_json:
                raise YesRequired(settings)
            n = purge(True)
            years = round(records.days / 365.25, 1)
            echo(tt(settings.lang, "purge_access_preview", n=n, days=retention.days, years=years), err=True)
            click.confirm(tt(settings.lang, "purge_access_confirm", n=n), abort=True, err=True)
        n = purge(dry_run)
    if settings.as_json:
        echo_json({"deleted": n, "retention_days": retention.days, "dry_run": dry_run})
    elif dry_run:
        years = round(records.days / 365.25, 1)
        echo(tt(settings.lang, "purge_access_preview", n=n, days=retention.days, years=years))
    else:
        echo(t(settings.lang, "purged", n=n, days=retention.days))


@audit.command("access-request")
@click.argument("subject", metavar="SUBJECT")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("md", "json")),
    default="md",
    show_default=True,
    help="A readable document in Danish (md) or the data (json).",
)
@click.option(
    "--redact-staff/--show-staff",
    default=True,
    help="Leave out staff identities, also in free text [default: leave out].",
)
@click.option("--purpose", help="Why (kept in the access log).")
@out_options
@global_options_again
@click.pass_obj
def audit_access_request(
    settings: Settings,
    subject: str,
    fmt: str,
    redact_staff: bool,
    purpose: str | None,
    out: str | None,
    force: bool,
) -> None:
    """A resident's right of access (GDPR art. 15): every engagement of SUBJECT with its
    data and history, and the access log about them, in one package (the request is logged)."""
    from ._staff import tt

    with output(settings, out, force) as dest:
        with open_engine(settings) as engine:
            package = engine.audit.access_request(
                settings.actor, subject, redact_staff=redact_staff, purpose=purpose
            )
        dest.write(package.text if fmt == "md" else package.json)
    if out is not None:
        n = len(package.content["engagements"])
        echo(
            tt(
                settings.lang,
                "access_request_written",
                subject=subject,
                path=out,
                n=n,
                sha=package.sha256[:12],
            )
        )
