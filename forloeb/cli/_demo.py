"""``forloeb demo``: a database with example engagements of both workflows."""

from __future__ import annotations

import os

import click

from forloeb.words.catalog import t

from ._context import ForloebCommand, Settings, global_options_again, open_engine, progress_bar
from ._render import echo, echo_json, stage_label, table

# Where ``forloeb serve`` listens by default (its --host and --port).
CONSOLE = "http://127.0.0.1:8080"


@click.command(cls=ForloebCommand)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    metavar="N",
    help="How many engagements [default: one per scenario].",
)
@global_options_again
@click.pass_obj
def demo(settings: Settings, count: int | None) -> None:
    """Create (or upgrade) the database and add example engagements of both workflows.

    A fixed set of scenarios with Danish data, spread over the past weeks: some
    closed, one handed over, one paused, one begun anew, some left mid-way.
    """
    from forloeb._demo import DEMO_LOGINS, add_demo_engagements, set_demo_passwords

    lang = settings.lang
    with progress_bar(settings, "progress_demo") as progress:
        created = add_demo_engagements(settings.db, count, progress=progress, operator=settings.login)
    with open_engine(settings) as engine:
        overview = {
            d.name: {s.key: 0 for s in d.stages} for d in (engine.workflow(n) for n in engine.workflow_names)
        }
        for e in engine.list(actor=settings.actor):
            overview.setdefault(e.workflow, {})
            overview[e.workflow][e.state] = overview[e.workflow].get(e.state, 0) + 1
        url = engine.store.url
        definitions = {n: engine.workflow(n) for n in engine.workflow_names}
        passwords = set_demo_passwords(engine, settings.login)
    logins = [{"staff_id": who, "role": role, "password": passwords[who]} for who, role in DEMO_LOGINS]
    if settings.as_json:
        echo_json({"db": url, "created": created, "overview": overview, "console": CONSOLE, "logins": logins})
        return
    echo(t(lang, "demo_done", n=len(created), url=url))
    for name, counts in overview.items():
        definition = definitions.get(name)
        echo(f"\n{definition.labels.get(lang) if definition else name}")
        rows = [
            (stage_label(definition, key, lang) if definition else key, str(n)) for key, n in counts.items()
        ]
        echo(table(rows, indent="  "))
    first = created[0]
    # Name the database in the hint unless it is the default or comes from FORLOEB_DB.
    db = f" --db {settings.db}" if settings.db and settings.db != os.environ.get("FORLOEB_DB") else ""
    echo(
        "\n"
        + t(
            lang,
            "demo_hint",
            a=f"forloeb{db} list",
            b=f"forloeb{db} show {first}",
            c=f"forloeb{db} history {first}",
        )
    )
    # The web console's logins: fresh passwords on every run (issue 15).
    echo("\n" + t(lang, "demo_console", serve=f"forloeb{db} serve", url=CONSOLE))
    rows = [(f"{x['staff_id']} / {x['password']}", f"({t(lang, 'demo_role_' + x['role'])})") for x in logins]
    echo(table(rows, indent="  "))
