"""Erasure and retention: ``forloeb erase`` and ``forloeb retention`` (purge, purge-outbox)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import click

from forloeb.words.catalog import t

from ._context import (
    EngineDefault,
    ForloebCommand,
    ForloebGroup,
    Settings,
    YesRequired,
    global_options_again,
    open_engine,
    progress_bar,
    yes_option,
)
from ._render import echo, echo_json, local

if TYPE_CHECKING:
    from forloeb import Engine, ErasureReceipt

_T = TypeVar("_T")


def _receipts_out(settings: Settings, engine: Engine, receipts: Sequence[ErasureReceipt]) -> None:
    """What erase and retention purge print: one line per engagement erased (or, dry run, to erase)."""
    from forloeb import UnknownWorkflow

    if settings.as_json:
        echo_json([r.to_dict() for r in receipts])
        return
    lang = settings.lang
    if not receipts:
        echo(t(lang, "nothing_to_purge"))
    for r in receipts:
        try:
            workflow = engine.workflow(r.workflow).labels.get(lang)
        except UnknownWorkflow:
            workflow = r.workflow
        echo(
            t(
                lang,
                "would_erase" if r.dry_run else "erased",
                id=r.engagement_id,
                workflow=workflow,
                subject=r.subject,
                at=local(r.erased_at),
                by=r.by,
                events=r.events_deleted,
                reason=r.reason,
            )
        )


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
            raise YesRequired(settings)
        preview = purge(True)
        show(preview, True)
        if not count(preview):
            return
        click.confirm(t(settings.lang, confirm, n=count(preview)), abort=True, err=True)
    show(purge(dry_run), dry_run)


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="Why (kept in the access log), e.g. the erasure request.")
@click.option("--purpose", help="Further context (kept in the access log entry's criteria).")
@yes_option
@global_options_again
@click.pass_obj
def erase(settings: Settings, engagement_id: int, reason: str, purpose: str | None, yes: bool) -> None:
    """Delete engagement ID and all its data for real (supervisors; the deletion is logged)."""
    if not yes:
        if settings.as_json:
            raise YesRequired(settings)
        click.confirm(t(settings.lang, "erase_confirm", id=engagement_id), abort=True, err=True)
    with open_engine(settings) as engine:
        receipt = engine.erase(engagement_id, actor=settings.actor, reason=reason, purpose=purpose)
        _receipts_out(settings, engine, [receipt])


@click.group(cls=ForloebGroup)
def retention() -> None:
    """Retention: erase engagements closed longer ago than the deletion deadline;
    delete finished outbox messages."""


@retention.command("purge")
@click.option(
    "--older-than-years",
    "years",
    cls=EngineDefault,
    engine_default="DEFAULT_RETENTION_YEARS",
    type=click.IntRange(min=1, max=100),
    show_default=True,
    metavar="N",
    help="Erase engagements whose last event (closing, or a later note) is older than N years.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be erased.")
@yes_option
@global_options_again
@click.pass_obj
def retention_purge(settings: Settings, years: int, dry_run: bool, yes: bool) -> None:
    """Erase every closed or handed-over engagement older than the deadline (KL: 5 years)."""
    with open_engine(settings) as engine:

        def purge(dry: bool) -> list[ErasureReceipt]:
            # The bar only for the real purge: the preview is a quick scan.
            with progress_bar(settings, "progress_purge") as progress:
                return engine.purge_closed(
                    older_than_years=years,
                    actor=settings.actor,
                    dry_run=dry,
                    progress=None if dry else progress,
                )

        _preview_then_purge(
            settings,
            yes=yes,
            dry_run=dry_run,
            purge=purge,
            show=lambda receipts, _dry: _receipts_out(settings, engine, receipts),
            count=len,
            confirm="purge_confirm",
        )


def _outbox_purge_out(settings: Settings, n: int, days: int, dry_run: bool) -> None:
    if settings.as_json:
        echo_json({"messages": n, "older_than_days": days, "dry_run": dry_run})
    elif n == 0:
        echo(t(settings.lang, "outbox_nothing_to_purge", days=days))
    else:
        echo(t(settings.lang, "outbox_would_purge" if dry_run else "outbox_purged", n=n, days=days))


@retention.command("purge-outbox")
@click.option(
    "--older-than-days",
    "days",
    cls=EngineDefault,
    engine_default="DEFAULT_OUTBOX_RETENTION_DAYS",
    type=click.IntRange(min=1, max=36_500),
    show_default=True,
    metavar="N",
    help="Delete delivered and dead messages created more than N days ago (pending ones stay).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@yes_option
@global_options_again
@click.pass_obj
def retention_purge_outbox(settings: Settings, days: int, dry_run: bool, yes: bool) -> None:
    """Delete finished outbox messages and their delivery attempts (supervisors)."""
    with open_engine(settings) as engine:
        _preview_then_purge(
            settings,
            yes=yes,
            dry_run=dry_run,
            purge=lambda dry: engine.purge_outbox(older_than_days=days, actor=settings.actor, dry_run=dry),
            show=lambda n, dry: _outbox_purge_out(settings, n, days, dry),
            count=lambda n: n,
            confirm="purge_outbox_confirm",
        )
