"""``forloeb reminders`` (sweep, deliver, list, acknowledge, snooze, digest, attempts)
and ``forloeb scheduler`` (both on a timer)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from forloeb.words.catalog import t

from ._context import (
    TIME,
    ForloebGroup,
    Settings,
    config_option,
    global_options_again,
    open_configured,
    open_engine,
)
from ._render import echo, echo_json, local, one_line, role_label, stage_label, table

if TYPE_CHECKING:
    from forloeb import Engine, Reminder
    from forloeb.engine import Lang


def _raised_row(engine: Engine, r: Reminder, lang: Lang) -> dict[str, Any]:
    e = engine.get(r.engagement_id, actor=engine.staff.system)  # the job's own read
    definition = engine.workflow(e.workflow, e.workflow_version)
    return {**r.to_dict(), "stage_label": stage_label(definition, r.stage, lang)}


@click.group(cls=ForloebGroup)
def reminders() -> None:
    """Reminders and escalations: sweep, deliver, list, acknowledge, snooze."""


@reminders.command("sweep")
@click.option("--now", type=TIME, help="Sweep as of this time [default: now; never ahead of the clock].")
@click.option(
    "--simulate",
    is_flag=True,
    help="Sweep a throw-away copy of the (SQLite) database: --now may then lie ahead of the clock.",
)
@config_option
@global_options_again
@click.pass_obj
def reminders_sweep(
    settings: Settings, now: datetime | None, simulate: bool, config_path: str | None
) -> None:
    """Raise every reminder and escalation that is due (once; safe to repeat).

    Supervisors, admins and the system actor (--as system) only.
    """
    lang = settings.lang
    if simulate:
        from forloeb import Engine, load_settings

        from ._staff import simulation_copy

        config = load_settings(config_path)
        with simulation_copy(settings.db) as copy:
            engine = settings.bind(Engine.open(copy, simulation=True, **config.engine_options()))
            with engine:
                raised = [_raised_row(engine, r, lang) for r in engine.sweep(now, actor=settings.job_actor)]
    else:
        engine, _ = open_configured(settings, config_path)
        with engine:
            raised = [_raised_row(engine, r, lang) for r in engine.sweep(now, actor=settings.job_actor)]
    if settings.as_json:
        echo_json(raised)
        return
    if not raised:
        echo(t(lang, "raised_none"))
    for r in raised:
        who = r["recipient"] or role_label(r["recipient_role"], lang)
        echo(
            t(
                lang,
                "raised",
                engagement=r["engagement_id"],
                stage=r["stage_label"],
                level=r["level"],
                who=who,
            )
        )


@reminders.command("dispatch")
@click.option("--now", type=TIME, help="Deliver what is due at this time [default: now].")
@config_option
@global_options_again
@click.pass_obj
def reminders_dispatch(settings: Settings, now: datetime | None, config_path: str | None) -> None:
    """Deliver the messages waiting in the outbox (with retries)."""
    engine, _ = open_configured(settings, config_path)
    with engine:
        result = engine.dispatch(now, actor=settings.job_actor)
    if settings.as_json:
        echo_json(result.to_dict())
    else:
        echo(
            t(
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
@global_options_again
@click.pass_obj
def reminders_list(
    settings: Settings, supervisor: str | None, assignee: str | None, open_only: bool, failed: bool
) -> None:
    """Reminders by id (or, with --failed, undeliverable messages and their last error)."""
    lang = settings.lang
    with open_engine(settings) as engine:
        if failed:
            dead = engine.outbox(status="dead")
            if settings.as_json:
                echo_json([m.to_dict() for m in dead])
            elif not dead:
                echo(t(lang, "no_failed"))
            else:
                header = [t(lang, k) for k in ("h_id", "h_channel", "h_recipient", "h_attempts", "h_error")]
                failed_rows = [
                    (
                        str(m.id),
                        m.channel,
                        m.recipient or "-",
                        str(m.attempts),
                        one_line(m.last_error or "-"),
                    )
                    for m in dead
                ]
                echo(table(failed_rows, header=header))
            return
        found = engine.reminders(supervisor=supervisor, assignee=assignee, open_only=open_only)
        if settings.as_json:
            echo_json([r.to_dict() for r in found])
            return
        if not found:
            echo(t(lang, "no_reminders"))
            return
        rows = []
        for r in found:
            if r.acknowledged_at is not None:
                status = t(lang, "r_acked")
            elif r.snoozed_until is not None:
                status = t(lang, "r_snoozed", until=local(r.snoozed_until))
            else:
                status = t(lang, "r_open")
            rows.append(
                (
                    str(r.id),
                    str(r.engagement_id),
                    r.stage,
                    str(r.level),
                    r.recipient or role_label(r.recipient_role, lang),
                    local(r.due_at),
                    status,
                )
            )
    keys = ("h_id", "h_engagement", "h_stage", "h_level", "h_recipient", "h_due", "h_state")
    echo(table(rows, header=[t(lang, k) for k in keys]))


@reminders.command("ack")
@click.argument("reminder_id", metavar="ID", type=int)
@global_options_again
@click.pass_obj
def reminders_ack(settings: Settings, reminder_id: int) -> None:
    """Acknowledge reminder ID (you have seen it)."""
    with open_engine(settings) as engine:
        r = engine.acknowledge_reminder(reminder_id, actor=settings.actor)
    if settings.as_json:
        echo_json(r.to_dict())
    else:
        echo(t(settings.lang, "acked", id=r.id))


@reminders.command("snooze")
@click.argument("reminder_id", metavar="ID", type=int)
@click.option("--until", required=True, type=TIME, help="Hold the next escalation until this time.")
@click.option("--reason", required=True, help="Why (kept on the engagement's log).")
@global_options_again
@click.pass_obj
def reminders_snooze(settings: Settings, reminder_id: int, until: datetime, reason: str) -> None:
    """Hold back the escalation after reminder ID until a time, for a reason."""
    with open_engine(settings) as engine:
        r = engine.snooze_reminder(reminder_id, until=until, reason=reason, actor=settings.actor)
    if settings.as_json:
        echo_json(r.to_dict())
    else:
        echo(t(settings.lang, "snoozed", id=r.id, until=local(r.snoozed_until)))


@reminders.command("digest")
@click.option("--now", type=TIME, help="The day of the digest [default: today].")
@config_option
@global_options_again
@click.pass_obj
def reminders_digest(settings: Settings, now: datetime | None, config_path: str | None) -> None:
    """Queue today's digest of open reminders for each supervisor (once a day)."""
    engine, _ = open_configured(settings, config_path)
    with engine:
        ids = engine.send_digests(now, actor=settings.job_actor)
    if settings.as_json:
        echo_json({"enqueued": len(ids), "message_ids": ids})
    else:
        echo(t(settings.lang, "digests", n=len(ids)))


@reminders.command("attempts")
@click.argument("outbox_id", metavar="OUTBOX_ID", type=int)
@global_options_again
@click.pass_obj
def reminders_attempts(settings: Settings, outbox_id: int) -> None:
    """The delivery attempts of outbox message OUTBOX_ID (see `reminders list --failed`)."""
    from forloeb import OutboxMessageNotFound

    lang = settings.lang
    with open_engine(settings) as engine:
        attempts = engine.outbox_attempts(outbox_id)
        # No attempts: a message not tried yet, or no such message at all.
        if not attempts and not any(m.id == outbox_id for m in engine.outbox()):
            raise OutboxMessageNotFound(outbox_id)
    if settings.as_json:
        echo_json([{**a, "at": a["at"].isoformat()} for a in attempts])
        return
    if not attempts:
        echo(t(lang, "no_attempts", id=outbox_id))
        return
    outcomes = {"delivered", "failed", "dead"}
    rows = [
        (
            str(a["attempt"]),
            local(a["at"]),
            t(lang, f"o_{a['outcome']}") if a["outcome"] in outcomes else a["outcome"],
            one_line(a["error"] or "-"),
        )
        for a in attempts
    ]
    header = [t(lang, k) for k in ("h_attempt", "h_time", "h_outcome", "h_attempt_error")]
    echo(table(rows, header=header))


@click.group(cls=ForloebGroup)
def scheduler() -> None:
    """Run the sweep and the delivery on a timer."""


@scheduler.command("run")
@click.option("--sweep-every", type=click.FloatRange(min=0, min_open=True), metavar="S", help="Seconds.")
@click.option("--dispatch-every", type=click.FloatRange(min=0, min_open=True), metavar="S", help="Seconds.")
@click.option("--digest-at", metavar="HH:MM", help="Queue the daily digest at this Danish time.")
@config_option
@global_options_again
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
    lang = settings.lang
    engine, config = open_configured(settings, config_path)
    with engine:
        # The jobs act as the system actor; who starts them must be allowed to (M6).
        engine.staff.authorize_jobs(settings.job_actor)
        sweep_s = sweep_every if sweep_every is not None else config.sweep_every
        dispatch_s = dispatch_every if dispatch_every is not None else config.dispatch_every

        def started() -> None:
            # Said once the arguments are checked (a bad --digest-at is only an error).
            if not settings.as_json:
                echo(t(lang, "scheduler_started", sweep=sweep_s, dispatch=dispatch_s))

        # Blocks in this (the main) thread until SIGTERM or SIGINT; the job in
        # flight finishes and records its outcome first.
        engine.run_scheduler(
            sweep_every=sweep_s,
            dispatch_every=dispatch_s,
            digest_at=digest_at if digest_at is not None else config.digest_at,
            on_start=started,
        )
    if settings.as_json:
        echo_json({"stopped": True})
    else:
        echo(t(lang, "scheduler_stopped"))
