"""``forloeb consent`` (given, withdrawn, shown) and ``forloeb handover`` (the package for a receiver)."""

from __future__ import annotations

from typing import Any, cast

import click

from forloeb.words.catalog import t

from ._context import ForloebGroup, Settings, global_options_again, idempotency_option, open_engine
from ._output import out_options, output
from ._render import echo, echo_json, table


@click.group(cls=ForloebGroup)
def handover() -> None:
    """Handover packages for another organisation."""


@handover.command("export")
@click.argument("engagement_id", metavar="ID", type=int)
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@out_options
@click.option("--receiver", help="Receiver (default: the one recorded at the handover).")
@click.option("--purpose", help="Why (kept in the access log and the event).")
@global_options_again
@click.pass_obj
def handover_export(
    settings: Settings,
    engagement_id: int,
    fmt: str,
    out: str | None,
    force: bool,
    receiver: str | None,
    purpose: str | None,
) -> None:
    """Build engagement ID's handover package from the event log (recorded as an event)."""
    # The file first: a path that cannot be written records no export.
    with output(settings, out, force) as dest:
        with open_engine(settings) as engine:
            package = engine.export_handover(
                engagement_id,
                actor=settings.actor,
                format=cast(Any, fmt),
                lang=settings.lang,
                receiver=receiver,
                purpose=purpose,
            )
        dest.write(package.text)
    if out is not None:
        echo(t(settings.lang, "exported", id=engagement_id, path=out, sha=package.sha256[:16]))


@click.group(cls=ForloebGroup)
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
@idempotency_option
@global_options_again
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
    with open_engine(settings) as engine:
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
        echo_json(e.to_dict())
    else:
        echo(t(settings.lang, "consent_given", id=e.id, cid=e.version, version=e.version))


@consent.command("withdraw")
@click.argument("engagement_id", metavar="ID", type=int)
@click.argument("consent_id", metavar="CONSENT", type=int)
@click.option("--date", "withdrawn_on", metavar="YYYY-MM-DD", help="From when [default: today].")
@click.option("--reason", help="Why (optional).")
@global_options_again
@click.pass_obj
def consent_withdraw(
    settings: Settings, engagement_id: int, consent_id: int, withdrawn_on: str | None, reason: str | None
) -> None:
    """Record that consent CONSENT on engagement ID was withdrawn."""
    with open_engine(settings) as engine:
        e = engine.withdraw_consent(
            engagement_id, consent_id, actor=settings.actor, withdrawn_on=withdrawn_on, reason=reason
        )
    if settings.as_json:
        echo_json(e.to_dict())
    else:
        echo(t(settings.lang, "consent_withdrawn", id=e.id, cid=consent_id, version=e.version))


@consent.command("show")
@click.argument("engagement_id", metavar="ID", type=int)
@global_options_again
@click.pass_obj
def consent_show(settings: Settings, engagement_id: int) -> None:
    """The consents recorded on engagement ID."""
    from forloeb.engine import DEFAULT_RECEIVERS, SECTIONS

    lang = settings.lang
    with open_engine(settings) as engine:
        consents = engine.consents(engagement_id, actor=settings.actor)
        receivers = dict(engine.receivers) or dict(DEFAULT_RECEIVERS)
    if settings.as_json:
        echo_json([c.to_dict() for c in consents])
        return
    if not consents:
        echo(t(lang, "no_consents"))
        return
    echo(
        table(
            (
                (
                    str(c.id),
                    c.given_on.isoformat(),
                    ", ".join(receivers[r].get(lang) if r in receivers else r for r in c.to),
                    ", ".join(SECTIONS[s].get(lang) if s in SECTIONS else s for s in c.information),
                    c.purpose,
                    t(lang, "current")
                    if c.current
                    else t(lang, "withdrawn_on", date=c.withdrawn_on.isoformat() if c.withdrawn_on else "-"),
                )
                for c in consents
            ),
            header=[
                t(lang, k) for k in ("h_id", "h_given", "h_to", "h_information", "h_purpose", "h_status")
            ],
        )
    )
