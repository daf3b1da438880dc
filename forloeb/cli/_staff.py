"""The staff register: ``forloeb staff add|update|deactivate|list|show`` (admins only),
``forloeb staff password`` (an admin for anyone, anyone for themself: the web
console's password), and the identity commands' words (``init --admin``, ``audit access-request``,
``audit purge-access``) kept beside them.

Who you are is your operating-system login, found in the register by its
login name; an admin may act as someone else with ``--as`` (recorded as such).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from ._context import ForloebGroup, Settings, global_options_again, open_engine
from ._render import echo, echo_json, table

if TYPE_CHECKING:
    from forloeb import StaffMember
    from forloeb.engine import Lang

STAFF_ROLES = ("worker", "supervisor", "auditor", "admin")

# The words of the register's commands: key -> (Danish, English).
TEXTS: dict[str, tuple[str, str]] = {
    "added": ("{id} er oprettet i personaleregistret.", "{id} added to the staff register."),
    "updated": ("{id} er rettet.", "{id} updated."),
    "deactivated": ("{id} er deaktiveret.", "{id} deactivated."),
    "empty": ("Personaleregistret er tomt.", "The staff register is empty."),
    "password_prompt": ("Ny adgangskode til webkonsollen for {id}", "New web-console password for {id}"),
    "password_repeat": ("Gentag adgangskoden", "Repeat the password"),
    "password_set": (
        "Adgangskoden til webkonsollen er sat for {id}.",
        "The web-console password of {id} is set.",
    ),
    "active": ("aktiv", "active"),
    "inactive": ("deaktiveret", "deactivated"),
    "h_id": ("Id", "Id"),
    "h_name": ("Navn", "Name"),
    "h_roles": ("Roller", "Roles"),
    "h_teams": ("Teams", "Teams"),
    "h_login": ("Login", "Login"),
    "h_state": ("Status", "State"),
    "first_admin": (
        "Første administrator: {id} (login {login}). Opret personalet med 'forloeb staff add'.",
        "First admin: {id} (login {login}). Add the staff with 'forloeb staff add'.",
    ),
    "access_request_written": (
        "Indsigtspakke for {subject} skrevet til {path} ({n} forløb, sha256 {sha}).",
        "Access-request package for {subject} written to {path} ({n} engagements, sha256 {sha}).",
    ),
    "purge_access_preview": (
        "{n} poster i adgangsloggen er ældre end opbevaringstiden ({days} dage; "
        "sletteregistreringer {years} år).",
        "{n} access-log entries are older than their retention ({days} days; "
        "deletion records {years} years).",
    ),
    "purge_access_confirm": ("Slet {n} poster fra adgangsloggen?", "Delete {n} access-log entries?"),
}


def tt(lang: Lang, key: str, **params: object) -> str:
    da, en = TEXTS[key]
    return (da if lang == "da" else en).format(**params)


@click.group(cls=ForloebGroup)
def staff() -> None:
    """The staff register: who may act, in which roles and teams (admins only)."""


def _split(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _member(settings: Settings, m: StaffMember) -> None:
    if settings.as_json:
        echo_json(m.to_dict())
        return
    lang = settings.lang
    rows = [
        (tt(lang, "h_id"), m.id),
        (tt(lang, "h_name"), m.display_name),
        ("E-mail", m.email or "-"),
        (tt(lang, "h_roles"), ", ".join(sorted(m.roles)) or "-"),
        (tt(lang, "h_teams"), ", ".join(sorted(m.teams)) or "-"),
        (tt(lang, "h_login"), m.login or "-"),
        (tt(lang, "h_state"), tt(lang, "active" if m.active else "inactive") + f" ({m.kind})"),
    ]
    echo(table(rows))


_roles_option = click.option(
    "--roles", metavar="R1,R2", help=f"Roles, comma-separated: {', '.join(STAFF_ROLES)}."
)
_teams_option = click.option("--teams", metavar="T1,T2", help="Teams, comma-separated.")


@staff.command("add")
@click.argument("staff_id", metavar="ID")
@click.option("--name", "display_name", help="Display name [default: the id].")
@click.option("--email")
@_roles_option
@_teams_option
@click.option("--login", help="The operating-system login name that acts as this entry in the CLI.")
@click.option("--service", is_flag=True, help="A service account (an app, a job runner), not a person.")
@global_options_again
@click.pass_obj
def staff_add(
    settings: Settings,
    staff_id: str,
    display_name: str | None,
    email: str | None,
    roles: str | None,
    teams: str | None,
    login: str | None,
    service: bool,
) -> None:
    """Add a member of staff (or a service account) to the register."""
    with open_engine(settings) as engine:
        m = engine.staff.add(
            settings.actor,
            staff_id,
            display_name=display_name,
            email=email,
            roles=_split(roles) or (),
            teams=_split(teams) or (),
            login=login,
            kind="service" if service else "person",
        )
    if settings.as_json:
        echo_json(m.to_dict())
    else:
        echo(tt(settings.lang, "added", id=m.id))


@staff.command("update")
@click.argument("staff_id", metavar="ID")
@click.option("--name", "display_name")
@click.option("--email", help="'' clears it.")
@_roles_option
@_teams_option
@click.option("--login", help="'' clears it.")
@click.option("--activate", is_flag=True, help="Make a deactivated entry active again.")
@global_options_again
@click.pass_obj
def staff_update(
    settings: Settings,
    staff_id: str,
    display_name: str | None,
    email: str | None,
    roles: str | None,
    teams: str | None,
    login: str | None,
    activate: bool,
) -> None:
    """Change an entry: what is given replaces what is there."""
    with open_engine(settings) as engine:
        m = engine.staff.update(
            settings.actor,
            staff_id,
            display_name=display_name,
            email=email,
            roles=_split(roles),
            teams=_split(teams),
            login=login,
            active=True if activate else None,
        )
    if settings.as_json:
        echo_json(m.to_dict())
    else:
        echo(tt(settings.lang, "updated", id=m.id))


@staff.command("deactivate")
@click.argument("staff_id", metavar="ID")
@click.option("--reason", help="Why (kept in the access log's records).")
@global_options_again
@click.pass_obj
def staff_deactivate(settings: Settings, staff_id: str, reason: str | None) -> None:
    """Deactivate an entry: it can no longer act or read; its history stays."""
    with open_engine(settings) as engine:
        m = engine.staff.deactivate(settings.actor, staff_id, reason=reason)
    if settings.as_json:
        echo_json(m.to_dict())
    else:
        echo(tt(settings.lang, "deactivated", id=m.id))


@staff.command("list")
@global_options_again
@click.pass_obj
def staff_list(settings: Settings) -> None:
    """Every entry of the register."""
    lang = settings.lang
    with open_engine(settings) as engine:
        members = engine.staff.list(settings.actor)
    if settings.as_json:
        echo_json([m.to_dict() for m in members])
        return
    if not members:
        echo(tt(lang, "empty"))
        return
    rows: list[tuple[Any, ...]] = [
        (
            m.id,
            m.display_name,
            ", ".join(sorted(m.roles)) or "-",
            ", ".join(sorted(m.teams)) or "-",
            m.login or "-",
            tt(lang, "active" if m.active else "inactive"),
        )
        for m in members
    ]
    header = [tt(lang, k) for k in ("h_id", "h_name", "h_roles", "h_teams", "h_login", "h_state")]
    echo(table(rows, header=header))


@staff.command("show")
@click.argument("staff_id", metavar="ID")
@global_options_again
@click.pass_obj
def staff_show(settings: Settings, staff_id: str) -> None:
    """One entry of the register."""
    with open_engine(settings) as engine:
        m = engine.staff.show(settings.actor, staff_id)
    _member(settings, m)


@staff.command("password")
@click.argument("staff_id", metavar="ID")
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from one line of standard input instead of asking twice.",
)
@global_options_again
@click.pass_obj
def staff_password(settings: Settings, staff_id: str, from_stdin: bool) -> None:
    """Set the web console's password of ID: an admin for anyone, anyone for themself.

    Asks twice without showing what is typed (or reads one line with --stdin).
    12 to 1024 characters, not the id or login name. The password is never shown
    or logged; the database keeps an argon2id hash of it.
    """
    lang = settings.lang
    with open_engine(settings) as engine:
        actor = settings.actor  # who you are is checked before you type anything
        if from_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(
                tt(lang, "password_prompt", id=staff_id),
                hide_input=True,
                confirmation_prompt=tt(lang, "password_repeat"),
                err=True,  # stdout stays for the result (--json)
            )
        engine.logins.set_password(actor, staff_id, password)
    if settings.as_json:
        echo_json({"staff_id": staff_id, "password_set": True})
    else:
        echo(tt(lang, "password_set", id=staff_id))


# -- background work: who may run it, and simulating it on a copy ---------------------------


@contextmanager
def simulation_copy(db: str | None) -> Iterator[str]:
    """A throw-away copy of the SQLite database ``db`` to simulate on (M6: a sweep
    ahead of the clock may only ever write to a copy). PostgreSQL: refused (restore a
    backup into a database of its own and point ``--db`` at that)."""
    import os
    import sqlite3
    import tempfile

    from sqlalchemy.engine import make_url

    from forloeb import InvalidData
    from forloeb.persistence import DEFAULT_URL, normalize_url

    url = make_url(normalize_url(db or os.environ.get("FORLOEB_DB") or DEFAULT_URL))
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:" or not os.path.exists(path):
        raise InvalidData(
            "--simulate copies a SQLite database file; for PostgreSQL restore a backup into a "
            "database of its own and sweep that",
            detail_da="--simulate kopierer en SQLite-databasefil; for PostgreSQL: gendan en "
            "sikkerhedskopi i en database for sig og kør der",
        )
    with tempfile.TemporaryDirectory(prefix="forloeb-simulation-") as folder:
        copy = os.path.join(folder, "simulation.db")
        source, target = sqlite3.connect(path), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        yield f"sqlite:///{copy}"
