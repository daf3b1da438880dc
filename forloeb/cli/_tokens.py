"""API tokens of the HTTP API: ``forloeb token create|list|revoke`` (admins only).

A token is shown once, when it is created; the database keeps only its
SHA-256 digest and its public id (the ``flb_<id>_`` part), by which it is
listed and revoked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._context import ForloebGroup, Settings, global_options_again, open_engine
from ._render import echo, echo_json, local, table

if TYPE_CHECKING:
    from forloeb.engine import ApiToken, Lang

# key -> (Danish, English)
TEXTS: dict[str, tuple[str, str]] = {
    "created": (
        "API-nøgle {id} til {staff} ({name}){expires}. Den vises kun denne ene gang:",
        "API token {id} for {staff} ({name}){expires}. It is shown this once only:",
    ),
    "expires": (", udløber {at}", ", expires {at}"),
    "revoked": ("API-nøgle {id} er tilbagekaldt.", "API token {id} revoked."),
    "none": ("Ingen API-nøgler.", "No API tokens."),
    "h_id": ("Id", "Id"),
    "h_staff": ("Medarbejder", "Staff"),
    "h_name": ("Navn", "Name"),
    "h_created": ("Oprettet", "Created"),
    "h_expires": ("Udløber", "Expires"),
    "h_status": ("Status", "Status"),
    "active": ("aktiv", "active"),
    "expired": ("udløbet", "expired"),
    "revoked_s": ("tilbagekaldt", "revoked"),
}


def tt(lang: Lang, key: str, **params: object) -> str:
    da, en = TEXTS[key]
    return (da if lang == "da" else en).format(**params)


@click.group(cls=ForloebGroup)
def token() -> None:
    """API tokens for the HTTP API (`forloeb serve`): create, list, revoke (admins only)."""


@token.command("create")
@click.option("--staff", "staff_id", required=True, metavar="ID", help="The staff entry the token acts as.")
@click.option("--name", required=True, help="What the token is for (the app, the integration).")
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=1),
    metavar="N",
    help="Valid N days [default: until revoked].",
)
@global_options_again
@click.pass_obj
def token_create(settings: Settings, staff_id: str, name: str, expires_in_days: int | None) -> None:
    """Create a token acting as staff member ID; it is printed once and never again."""
    with open_engine(settings) as engine:
        issued = engine.tokens.create(settings.actor, staff_id, name=name, expires_in_days=expires_in_days)
    info = issued.info
    if settings.as_json:
        echo_json({"token": issued.token, **info.to_dict()})
        return
    lang = settings.lang
    expires = tt(lang, "expires", at=local(info.expires_at)) if info.expires_at else ""
    echo(tt(lang, "created", id=info.id, staff=info.staff_id, name=info.name, expires=expires), err=True)
    echo(issued.token)


def _status(lang: Lang, t: ApiToken, now: object) -> str:
    from datetime import datetime

    assert isinstance(now, datetime)
    status = t.status(now)
    return tt(lang, "revoked_s" if status == "revoked" else status)


@token.command("list")
@click.option("--staff", "staff_id", metavar="ID", help="Only this staff member's tokens.")
@global_options_again
@click.pass_obj
def token_list(settings: Settings, staff_id: str | None) -> None:
    """The tokens (never their secrets): id, staff member, name, expiry, status."""
    from datetime import UTC, datetime

    with open_engine(settings) as engine:
        found = engine.tokens.list(settings.actor, staff_id=staff_id)
    if settings.as_json:
        echo_json([t.to_dict() for t in found])
        return
    lang = settings.lang
    if not found:
        echo(tt(lang, "none"))
        return
    now = datetime.now(UTC)
    rows = (
        (t.id, t.staff_id, t.name, local(t.created_at), local(t.expires_at), _status(lang, t, now))
        for t in found
    )
    header = [tt(lang, k) for k in ("h_id", "h_staff", "h_name", "h_created", "h_expires", "h_status")]
    echo(table(rows, header=header))


@token.command("revoke")
@click.argument("token_id", metavar="ID")
@global_options_again
@click.pass_obj
def token_revoke(settings: Settings, token_id: str) -> None:
    """Revoke token ID (its id from `forloeb token list`): refused from the next request on."""
    with open_engine(settings) as engine:
        info = engine.tokens.revoke(settings.actor, token_id)
    if settings.as_json:
        echo_json(info.to_dict())
    else:
        echo(tt(settings.lang, "revoked", id=info.id))
