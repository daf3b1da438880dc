"""The database: ``forloeb init``."""

from __future__ import annotations

import click

from forloeb.words.catalog import t

from ._context import ForloebCommand, Settings, global_options_again
from ._render import echo_json


@click.command(cls=ForloebCommand)
@click.option(
    "--admin",
    "admin_id",
    metavar="ID",
    help="On a new database: the first admin's staff id [default: your login name]. "
    "Your login name acts as it.",
)
@global_options_again
@click.pass_obj
def init(settings: Settings, admin_id: str | None) -> None:
    """Create the database or upgrade its schema; on a new one, register you as its first admin."""
    from forloeb import Engine, StaffMember

    with Engine.open(settings.db, migrate=True) as engine:
        url, rev = engine.store.url, engine.store.schema_revision()
        # Only while the register is empty: nobody could act on the database otherwise.
        first = engine.staff.bootstrap(
            [
                StaffMember(
                    id=admin_id or settings.login,
                    display_name=admin_id or settings.login,
                    roles=frozenset({"admin"}),
                    login=settings.login,
                )
            ]
        )
    if settings.as_json:
        echo_json({"url": url, "schema": rev, "first_admin": first[0].id if first else None})
        return
    click.echo(t(settings.lang, "db_ready", url=url, rev=rev))
    if first:
        from ._staff import tt

        click.echo(tt(settings.lang, "first_admin", id=first[0].id, login=settings.login))
