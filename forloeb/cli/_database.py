"""The database: ``forloeb init``."""

from __future__ import annotations

import click

from ._context import ForloebCommand, Settings, global_options_again
from ._render import echo_json
from ._texts import t


@click.command(cls=ForloebCommand)
@global_options_again
@click.pass_obj
def init(settings: Settings) -> None:
    """Create the database or upgrade its schema."""
    from forloeb import Engine

    with Engine.open(settings.db, migrate=True) as engine:
        url, rev = engine.store.url, engine.store.schema_revision()
    if settings.as_json:
        echo_json({"url": url, "schema": rev})
    else:
        click.echo(t(settings.lang, "db_ready", url=url, rev=rev))
