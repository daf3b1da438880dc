"""Who holds an engagement (issue 13): reassign, take, intake, areas, reporting.

Every command asks the engine (``engine.caseload``); the taxonomy of effort
areas, teams and reporting lists comes from the configuration file
(``--config`` / ``FORLOEB_CONFIG``), or the shipped defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from ._context import (
    ForloebCommand,
    ForloebGroup,
    Settings,
    config_option,
    global_options_again,
    open_configured,
    write_options,
)
from ._render import echo, echo_json, local, table

if TYPE_CHECKING:
    from forloeb import Engagement, Engine

_TEXTS: dict[str, tuple[str, str]] = {
    "reassigned": (
        "Forløb {id}: medarbejder {assignee}, leder {supervisor}, team {team} (version {version}).",
        "Engagement {id}: assignee {assignee}, supervisor {supervisor}, team {team} (version {version}).",
    ),
    "areas_set": (
        "Forløb {id}: indsatsområder {areas} (version {version}).",
        "Engagement {id}: effort areas {areas} (version {version}).",
    ),
    "reporting_set": (
        "Forløb {id}: rapporteringsoplysninger registreret; personnøgle {person} (version {version}).",
        "Engagement {id}: reporting attributes recorded; person key {person} (version {version}).",
    ),
    "intake_empty": ("Indbakken er tom.", "The intake is empty."),
    "h_id": ("Id", "Id"),
    "h_method": ("Metode", "Method"),
    "h_subject": ("Sagsnr.", "Subject"),
    "h_team": ("Team", "Team"),
    "h_stage": ("Trin", "Stage"),
    "h_since": ("Modtaget", "Received"),
    "h_key": ("Nøgle", "Key"),
    "h_label": ("Betegnelse", "Label"),
    "h_valid": ("Gyldig", "Valid"),
}


def tt(lang: str, key: str, **params: object) -> str:
    da, en = _TEXTS[key]
    return (da if lang == "da" else en).format(**params)


@contextmanager
def configured(settings: Settings, config_path: str | None) -> Iterator[Engine]:
    """The engine with the configuration's taxonomy (effort areas, teams, lists)."""
    engine, config = open_configured(settings, config_path)
    with engine:
        if config.taxonomy is not None:
            engine.caseload.taxonomy = config.taxonomy
        yield engine


def _out(settings: Settings, e: Engagement, key: str, **params: object) -> None:
    if settings.as_json:
        echo_json(e.to_dict())
        return
    echo(tt(settings.lang, key, id=e.id, version=e.version, **params))


def _assigned(settings: Settings, e: Engagement) -> None:
    _out(
        settings,
        e,
        "reassigned",
        assignee=e.assignee or "-",
        supervisor=e.supervisor or "-",
        team=e.team or "-",
    )


def _optional(value: str | None) -> str | None:
    """``-`` clears a value (no assignee, no team)."""
    return None if value == "-" else value


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@click.option("--assignee", metavar="STAFF", help="The new assignee ('-': none, back to the intake).")
@click.option("--supervisor", metavar="STAFF", help="The new supervisor (supervisors only).")
@click.option("--team", help="The new team ('-': none).")
@click.option("--reason", required=True, help="Why (kept on the event).")
@config_option
@write_options
@global_options_again
@click.pass_obj
def reassign(
    settings: Settings,
    engagement_id: int,
    assignee: str | None,
    supervisor: str | None,
    team: str | None,
    reason: str,
    config_path: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Change who holds engagement ID: a supervisor, or the assignee handing it on."""
    changes: dict[str, Any] = {
        k: _optional(v) for k, v in (("assignee", assignee), ("supervisor", supervisor), ("team", team)) if v
    }
    with configured(settings, config_path) as engine:
        e = engine.caseload.reassign(
            engagement_id,
            actor=settings.actor,
            reason=reason,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
            **changes,
        )
        _assigned(settings, e)


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@click.option("--team", help="Also route it to this team (one of yours).")
@config_option
@write_options
@global_options_again
@click.pass_obj
def take(
    settings: Settings,
    engagement_id: int,
    team: str | None,
    config_path: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Take engagement ID from the intake: you become its assignee."""
    with configured(settings, config_path) as engine:
        e = engine.caseload.take(
            engagement_id,
            actor=settings.actor,
            team=team,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )
        _assigned(settings, e)


@click.command(cls=ForloebCommand)
@click.option("--team", help="Only this team's intake.")
@click.option("--limit", type=click.IntRange(1), metavar="N")
@global_options_again
@click.pass_obj
def intake(settings: Settings, team: str | None, limit: int | None) -> None:
    """The intake: engagements nobody is assigned to yet, oldest first (take one with `forloeb take ID`)."""
    from ._context import open_engine

    lang = settings.lang
    with open_engine(settings) as engine:
        found = engine.caseload.intake(actor=settings.actor, team=team, limit=limit)
        if settings.as_json:
            echo_json([e.to_dict() for e in found])
            return
        if not found:
            echo(tt(lang, "intake_empty"))
            return
        rows = []
        for e in found:
            d = engine.workflow(e.workflow, e.workflow_version)
            stage = d.stage(e.state).labels.get(lang)
            rows.append((str(e.id), d.labels.get(lang), e.subject, e.team or "-", stage, local(e.created_at)))
        header = [tt(lang, k) for k in ("h_id", "h_method", "h_subject", "h_team", "h_stage", "h_since")]
        echo(table(rows, header))


@click.group(cls=ForloebGroup)
def areas() -> None:
    """Effort areas (indsatsområder): the taxonomy per plan period, and an engagement's areas."""


@areas.command("list")
@config_option
@global_options_again
@click.pass_obj
def areas_list(settings: Settings, config_path: str | None) -> None:
    """The configured effort areas with the plan period each is valid in."""
    from forloeb.engine import Taxonomy, load_settings

    config = load_settings(config_path)
    taxonomy = config.taxonomy or Taxonomy()
    lang = settings.lang
    if settings.as_json:
        echo_json(
            [
                {
                    "key": a.key,
                    "da": a.da,
                    "en": a.en,
                    "valid_from": a.valid_from.isoformat() if a.valid_from else None,
                    "valid_to": a.valid_to.isoformat() if a.valid_to else None,
                }
                for a in taxonomy.areas
            ]
        )
        return
    rows = [(a.key, a.label(lang), f"{a.valid_from or '…'} – {a.valid_to or '…'}") for a in taxonomy.areas]
    echo(table(rows, [tt(lang, "h_key"), tt(lang, "h_label"), tt(lang, "h_valid")]))


@areas.command("set")
@click.argument("engagement_id", metavar="ID", type=int)
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@click.option("--reason", help="Why (kept on the event).")
@config_option
@write_options
@global_options_again
@click.pass_obj
def areas_set(
    settings: Settings,
    engagement_id: int,
    keys: tuple[str, ...],
    reason: str | None,
    config_path: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Set engagement ID's effort areas to KEY... (see `forloeb areas list`)."""
    with configured(settings, config_path) as engine:
        e = engine.caseload.set_areas(
            engagement_id,
            keys,
            actor=settings.actor,
            reason=reason,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )
        _out(settings, e, "areas_set", areas=", ".join(e.tags) or "-")


@click.command(cls=ForloebCommand)
@click.argument("engagement_id", metavar="ID", type=int)
@click.option(
    "--person", metavar="KEY", help="'new' for a new resident, or the person key of their other engagement."
)
@click.option("--age-band", metavar="BAND", help="Age band (0-5, 6-12, 13-17, 18-24, 25-39, 40-64, 65+).")
@click.option("--gender", help="kvinde, mand, andet or uoplyst.")
@click.option("--afdeling", help="Boligafdeling (from the configured list).")
@config_option
@write_options
@global_options_again
@click.pass_obj
def reporting(
    settings: Settings,
    engagement_id: int,
    person: str | None,
    age_band: str | None,
    gender: str | None,
    afdeling: str | None,
    config_path: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> None:
    """Record engagement ID's reporting attributes (optional, at first contact; no CPR)."""
    given = {
        k: _optional(v)
        for k, v in (("person", person), ("age_band", age_band), ("gender", gender), ("afdeling", afdeling))
        if v is not None
    }
    with configured(settings, config_path) as engine:
        e = engine.caseload.record_reporting(
            engagement_id,
            actor=settings.actor,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
            **given,
        )
        if settings.as_json:
            echo_json(e.to_dict())
            return
        shown = engine.caseload.reporting_of(e.id, actor=settings.actor)
        _out(settings, e, "reporting_set", person=shown.get("person_key") or "-")
