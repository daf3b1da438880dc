"""The ``forloeb`` command: parses, calls the engine, renders.

Nothing here decides anything about an engagement; every rule lives in the
engine. Errors from the engine become one line on stderr (``Fejl: …`` or
``Error: …``) and exit code 1; usage errors exit with 2. ``--json`` writes
machine-readable output on stdout and nothing else there.

The global options (``--db``, ``--as``, ``--role``, ``--lang``, ``--json``) may be
given before the command or after it: ``forloeb --json show 3`` and
``forloeb show 3 --json`` are the same.

Where things are: this module holds the root group and :data:`COMMANDS`, the
one table that attaches every command; each command group lives in its own
module (``_engagements``, ``_audit``, …) and uses the shared options and
errors of ``_context``, the rendering of ``_render`` and the texts of
``forloeb.words.catalog``. A new command goes into its group's module and, if it is a new
top-level command or group, into :data:`COMMANDS`.

Commands are imported when first needed (click's "lazily attaching
commands"), and no module of this package imports the engine's heavy parts
(SQLAlchemy, Alembic, APScheduler, the notifiers) before a command runs:
``forloeb --help`` costs little more than importing click.
"""

from __future__ import annotations

import getpass
import importlib
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO, cast

import click

from forloeb import __version__
from forloeb.engine import LANGS, ROLES

from ._click_da import click_language, language_of, refuse_undecodable
from ._context import ForloebGroup, Settings

# Every role of the staff register (the engine's ROLES are the workflows').
STAFF_ROLES = (*ROLES, "admin")

if TYPE_CHECKING:
    from forloeb.engine import Lang

    from ._workflows import mermaid

__all__ = ["COMMANDS", "cli", "configure_logging", "main", "mermaid"]

# Every top-level command and group: name -> "module:attribute" in this package.
COMMANDS: Final[Mapping[str, str]] = {
    # the database
    "init": "_database:init",
    # the definitions (no database needed)
    "workflows": "_workflows:workflows",
    # engagements
    "start": "_engagements:start",
    "fire": "_engagements:fire",
    "triggers": "_engagements:triggers",
    "show": "_engagements:show",
    "list": "_engagements:list_",
    "history": "_engagements:history",
    "note": "_engagements:note",
    "record": "_engagements:record",
    "activity": "_engagements:activity",
    # audit, consent and handover
    "audit": "_audit:audit",
    # the staff register
    "staff": "_staff:staff",
    "consent": "_consent_handover:consent",
    "handover": "_consent_handover:handover",
    # reminders, delivery and the scheduler
    "reminders": "_reminders:reminders",
    "scheduler": "_reminders:scheduler",
    # erasure and retention
    "erase": "_retention:erase",
    "retention": "_retention:retention",
    # caseload and reports (issue 13)
    "reassign": "_caseload:reassign",
    "take": "_caseload:take",
    "intake": "_caseload:intake",
    "areas": "_caseload:areas",
    "reporting": "_caseload:reporting",
    "caseload": "_report:caseload",
    "report": "_report:report",
    # example data
    "demo": "_demo:demo",
    # the HTTP API and its tokens
    "serve": "_serve:serve",
    "token": "_tokens:token",
}


class LazyGroup(ForloebGroup):
    """A group whose commands are imported from :data:`COMMANDS` when first asked for."""

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        # click's own messages (usage errors) in the invocation's language.
        with click_language(sys.argv[1:] if args is None else args):
            return super().main(args, *rest, **kwargs)

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        # Inside click's error handling: bytes that are not text are one line (exit code 2).
        refuse_undecodable(args, cast("Lang", language_of(args)))
        return super().make_context(info_name, args, parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        module_name, attr = self.lazy[cmd_name].split(":")
        command = getattr(importlib.import_module(f"{__name__}.{module_name}"), attr)
        if not isinstance(command, click.Command):  # a wrong entry in COMMANDS
            raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
        self.add_command(command, cmd_name)
        return command


def configure_logging(
    format: Literal["json", "console"] | None = None,
    *,
    level: str | int | None = None,
    stream: TextIO | None = None,
) -> None:
    """:func:`forloeb.configure_logging`, imported when a command runs (structlog
    takes as long to import as click)."""
    from forloeb import configure_logging as configure

    configure(format, level=level, stream=stream)


class _Stderr:
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it per call)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@click.group(
    name="forloeb",
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.option(
    "--db",
    metavar="URL",
    envvar="FORLOEB_DB",
    help="Database URL or SQLite file path [env FORLOEB_DB; default sqlite:///forloeb.db].",
)
@click.option(
    "--as",
    "actor_id",
    metavar="STAFF_ID",
    envvar="FORLOEB_ACTOR",
    help="Act as this member of staff: admins only, recorded as such; 'system' for the "
    "background jobs [env FORLOEB_ACTOR; default: you, by your login name in the staff register].",
)
@click.option(
    "--role",
    type=click.Choice(STAFF_ROLES),
    envvar="FORLOEB_ROLE",
    help="Act in only this one of your roles [env FORLOEB_ROLE; default: all of them].",
)
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    envvar="FORLOEB_LANG",
    default="da",
    show_default=True,
    help="Language of labels and messages [env FORLOEB_LANG].",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON) on stdout.")
@click.option(
    "--teams",
    metavar="T1,T2",
    envvar="FORLOEB_TEAMS",
    help="Act for only these of your teams [env FORLOEB_TEAMS; default: all of them].",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (on stderr).")
@click.version_option(__version__, prog_name="forloeb")
@click.pass_context
def cli(
    ctx: click.Context,
    db: str | None,
    actor_id: str | None,
    role: str | None,
    lang: str,
    as_json: bool,
    teams: str | None,
    verbose: bool,
) -> None:
    """Forløb: the Vollsmose method as state machines with a hash-chained event log.

    Global options may also be given after the command. Start with `forloeb init`
    (or `forloeb demo` for example data).
    """

    def setup() -> None:
        # Looked up here, at call time: tests replace forloeb.cli.configure_logging.
        configure_logging(level="info" if verbose else "warning", stream=cast(TextIO, _Stderr()))

    ctx.obj = Settings(
        db=db or None,
        actor_id=actor_id or None,
        login=_login_name(),
        role=role,
        lang=cast("Lang", lang),
        as_json=as_json,
        teams=tuple(t.strip() for t in (teams or "").split(",") if t.strip()),
        setup=setup,
    )


def main() -> None:
    """The ``forloeb`` console script."""
    cli(prog_name="forloeb")


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        # mermaid() lives with the workflows commands; imported when asked for.
        if name == "mermaid":
            from ._workflows import mermaid

            return mermaid
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
