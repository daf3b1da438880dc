"""What every command shares: the global options and their :class:`Settings`,
the option helpers (``--data``, ``--expect-version``, ``--idempotency-key``,
``--config``, times, engine defaults), opening the engine, progress bars, and
how errors become one line and an exit code.

Errors: a :class:`forloeb.ForloebError` from a command body becomes
:class:`CliError`, one line on stderr (``Fejl: …`` / ``Error: …``; a JSON
object with ``--json``) and exit code 1. A malformed ``--data`` item, a local
time that does not exist and ``--json`` without ``--yes`` are one line with
exit code 2; click's own usage errors exit with 2 too.

Only light modules are imported here (click, and the engine's names that live
in its leaf modules): the engine itself is imported when a command runs, so
``forloeb --help`` and ``forloeb <group> --help`` stay fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

import click

from forloeb.engine import LANGS, ROLES
from forloeb.words.catalog import t

from ._render import echo, to_json

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from forloeb import Actor, Engine, ForloebError, WorkflowDefinition
    from forloeb.engine import Lang
    from forloeb.engine import Settings as EngineSettings

F = TypeVar("F", bound=Callable[..., Any])

Progress = Callable[[int, int], None]


class Settings:
    """The global options of one invocation (mutable: options after the command override).

    A plain class rather than a dataclass: this module is imported to show
    help, and ``dataclasses`` is not needed for that (start-up time).

    Identity (issue 11): who acts is the operating-system login (``login``),
    mapped to its entry in the staff register by the entry's login name.
    ``actor_id`` (``--as``) is honoured only for an admin, who then acts as
    that person (an impersonation, recorded on everything it causes), and for
    the background jobs (``--as system``). ``role`` (``--role``) picks one of
    the caller's own roles; ``teams`` (``--teams``) narrows to some of its own
    teams. Nothing here can add a role or a team: the engine resolves the
    actor in the register and refuses what it does not grant.
    """

    def __init__(
        self,
        *,
        db: str | None,
        actor_id: str | None,
        role: str | None,
        lang: Lang,
        as_json: bool,
        teams: tuple[str, ...] = (),
        setup: Callable[[], None] | None = None,
        login: str | None = None,
    ) -> None:
        self.db = db
        self.actor_id = actor_id
        self.role = role
        self.lang = lang
        self.as_json = as_json
        self.teams = teams
        # Run once, just before a command's body (the root group configures
        # logging here): help and usage errors never import the logging stack.
        self.setup = setup
        self.login = login or actor_id or "unknown"
        self._engine: Engine | None = None
        self._actors: dict[bool, Actor] = {}

    def bind(self, engine: Engine) -> Engine:
        """The engine the identity is resolved with (``open_engine`` binds it)."""
        self._engine = engine
        self._actors.clear()
        return engine

    def _resolve(self, system_job: bool) -> Actor:
        if system_job not in self._actors:
            if self._engine is None:  # pragma: no cover - a command that forgot open_engine
                raise RuntimeError("the identity needs an open engine")
            self._actors[system_job] = self._engine.staff.actor_for_login(
                self.login,
                acting_as=self.actor_id,
                roles=(self.role,) if self.role else (),
                teams=self.teams,
                system_job=system_job,
            )
        return self._actors[system_job]

    @property
    def actor(self) -> Actor:
        """Who acts: the login's register entry (or, for an admin's ``--as``, the person acted for)."""
        return self._resolve(False)

    @property
    def job_actor(self) -> Actor:
        """Who runs a background job (sweep, dispatch, digest, scheduler): as ``actor``,
        or the system actor with ``--as system``."""
        return self._resolve(True)


# -- errors: one line, an exit code ----------------------------------------------


class OneLineError:
    """Shows an error as one line on stderr, in the chosen language (a JSON object with --json)."""

    code = "usage"
    kind = "UsageError"
    lang: Lang = "da"
    as_json = False

    def _use(self, settings: Settings | None) -> None:
        if settings is not None:
            self.lang, self.as_json = settings.lang, settings.as_json

    def show(self, file: IO[Any] | None = None) -> None:
        # The mixin sits beside a ClickException, which holds the message
        # (a final attribute in newer click: read it, never redeclare it).
        line = " ".join(cast(click.ClickException, self).format_message().splitlines()).strip()
        if self.as_json:
            text = to_json({"error": self.code, "type": self.kind, "message": line})
        else:
            text = f"{t(self.lang, 'error')}: {line}"
        echo(text, file=file, err=file is None)


class CliError(OneLineError, click.ClickException):
    """A :class:`forloeb.ForloebError` (exit code 1)."""

    def __init__(self, error: ForloebError, settings: Settings | None) -> None:
        self._use(settings)
        self.code = error.code
        self.kind = type(error).__name__
        super().__init__(error.message(self.lang))


class DataError(OneLineError, click.BadParameter):
    """A malformed ``--data`` item: a usage error (exit code 2)."""

    def __init__(self, item: str, settings: Settings | None, key: str = "bad_data") -> None:
        self._use(settings)
        super().__init__(t(self.lang, key, item=item))


class LocalTimeError(OneLineError, click.UsageError):
    """A local time that the spring clock change skips: a usage error (exit code 2)."""

    def __init__(self, option: str, value: str, example: str, settings: Settings | None) -> None:
        self._use(settings)
        super().__init__(t(self.lang, "time_missing", option=option, value=value, example=example))


class YesRequired(OneLineError, click.UsageError):
    """--json without --yes on a command that would ask (exit code 2)."""

    def __init__(self, settings: Settings | None) -> None:
        self._use(settings)
        super().__init__(t(self.lang, "yes_required"))


class ForloebCommand(click.Command):
    """Runs the invocation's setup, then the body; every ForloebError becomes a CliError
    (one line, no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        from forloeb import ForloebError

        settings = ctx.find_object(Settings)
        if settings is not None and settings.setup is not None:
            setup, settings.setup = settings.setup, None
            setup()
        try:
            return super().invoke(ctx)
        except ForloebError as exc:
            raise CliError(exc, settings) from exc


class ForloebGroup(click.Group):
    command_class = ForloebCommand
    group_class = type  # subgroups are ForloebGroups too


# -- options ----------------------------------------------------------------------


def _override(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """Callback of a global option repeated after the command: set it only when given."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        settings = ctx.find_object(Settings)
        if settings is not None and value not in (None, False):
            setattr(settings, attr, value)

    return callback


def global_options_again(f: F) -> F:
    """The group's options, also accepted after the command (they override)."""
    same = "As before the command."
    options = [
        click.option(
            "--db", metavar="URL", expose_value=False, is_eager=True, callback=_override("db"), help=same
        ),
        click.option(
            "--as",
            "actor_id",
            metavar="STAFF_ID",
            expose_value=False,
            is_eager=True,
            callback=_override("actor_id"),
            help=same,
        ),
        click.option(
            "--role",
            type=click.Choice((*ROLES, "admin")),
            expose_value=False,
            is_eager=True,
            callback=_override("role"),
            help=same,
        ),
        click.option(
            "--lang",
            type=click.Choice(LANGS),
            expose_value=False,
            is_eager=True,
            callback=_override("lang"),
            help=same,
        ),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            default=False,
            expose_value=False,
            is_eager=True,
            callback=_override("as_json"),
            help="Machine-readable output (JSON) on stdout.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _parse_data(ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> dict[str, Any]:
    """``key=value`` items; a value that parses as JSON is taken as JSON, else as text."""
    data: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise DataError(item, ctx.find_object(Settings))
        try:
            data[key] = _json_loads(raw)
        except ValueError:
            data[key] = raw
        except RecursionError:  # deeper than the parser goes: refused, not kept as text
            raise DataError(f"{key}=…", ctx.find_object(Settings), "data_too_deep") from None
    return data


def _json_loads(text: str) -> Any:
    import json  # here, not above: showing help never needs it (start-up time)

    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> float:
    raise ValueError(name)  # NaN / Infinity are not JSON: keep them as text


def data_option(f: F) -> F:
    return click.option(
        "--data",
        "data",
        multiple=True,
        metavar="KEY=VALUE",
        callback=_parse_data,
        help="Data item; VALUE is JSON if it parses, else text. Repeatable; the last of a key wins.",
    )(f)


def idempotency_option(f: F) -> F:
    return click.option(
        "--idempotency-key", metavar="K", help="Retrying with the same key writes nothing twice."
    )(f)


def write_options(f: F) -> F:
    f = idempotency_option(f)
    f = click.option(
        "--expect-version", "expected_version", type=int, metavar="N", help="Refuse unless at this version."
    )(f)
    return f


def config_option(f: F) -> F:
    return click.option(
        "--config",
        "config_path",
        metavar="FILE",
        envvar="FORLOEB_CONFIG",
        type=click.Path(dir_okay=False),
        help="Configuration file (TOML: notifiers, routes, deadlines …) [env FORLOEB_CONFIG].",
    )(f)


def yes_option(f: F) -> F:
    return click.option("--yes", is_flag=True, help="Do not ask for confirmation (required with --json).")(f)


def engine_constant(name: str) -> Any:
    """The constant ``name`` of :mod:`forloeb.engine` (its module is imported now)."""
    import forloeb.engine

    return getattr(forloeb.engine, name)


class EngineDefault(click.Option):
    """An option whose default is a constant of :mod:`forloeb.engine`, read when it is
    needed (the command runs without the option, or its own help is shown).

    The engine keeps such constants beside the code that uses them, whose
    modules import SQLAlchemy; reading them when the command is defined would
    make ``forloeb <group> --help`` import the whole engine. With ``show``, the
    constant is not the default but is named in ``help`` as ``{default}``
    (formatted by ``show``, e.g. a timedelta's days).
    """

    def __init__(
        self,
        *args: Any,
        engine_default: str,
        show: Callable[[Any], object] | None = None,
        **kwargs: Any,
    ) -> None:
        if show is None:
            kwargs["default"] = lambda: engine_constant(engine_default)
        super().__init__(*args, **kwargs)
        self.engine_default = engine_default
        self._show = show
        self._help = self.help

    def get_default(self, ctx: click.Context, call: bool = True) -> Any:
        # The value itself, also for the help's "[default: …]" (click would show "(dynamic)").
        return super().get_default(ctx, call=True)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        if self._show is not None and self._help is not None:
            self.help = self._help.format(default=self._show(engine_constant(self.engine_default)))
        return super().get_help_record(ctx)


class TimeParam(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 time; without an offset it is Danish local time.

    A local time that the spring clock change skips (2027-03-28T02:30) is
    refused; one that the autumn change repeats (2027-10-31T02:30) is read as
    the first of the two, and a note on stderr says so and how to write the
    second.
    """

    name = "ISO-TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            settings = ctx.find_object(Settings) if ctx is not None else None
            lang: Lang = settings.lang if settings is not None else "da"
            self.fail(t(lang, "not_iso_time", value=value), param, ctx)
        if parsed.tzinfo is not None:
            return parsed
        return _danish_time(parsed, text, param, ctx)


def _danish_time(
    naive: datetime, text: str, param: click.Parameter | None, ctx: click.Context | None
) -> datetime:
    from forloeb.engine import COPENHAGEN

    first = naive.replace(tzinfo=COPENHAGEN, fold=0)
    second = naive.replace(tzinfo=COPENHAGEN, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first  # every time but the hour around a clock change
    settings = ctx.find_object(Settings) if ctx is not None else None
    option = "/".join(param.opts) if param is not None and param.opts else "--now"
    # In the spring gap the wall time does not come back from UTC; in the
    # autumn overlap it does, for both offsets.
    if first.astimezone(UTC).astimezone(COPENHAGEN).replace(tzinfo=None) != naive:
        example = _iso(naive) + _offset(second if first.dst() else first)  # standard time's offset
        raise LocalTimeError(option, text, example, settings)
    lang: Lang = settings.lang if settings is not None else "da"
    taken, other = _iso(naive) + _offset(first), _iso(naive) + _offset(second)
    echo(t(lang, "time_ambiguous", option=option, value=text, taken=taken, other=other), err=True)
    return first


def _iso(naive: datetime) -> str:
    return naive.isoformat(timespec="minutes" if not (naive.second or naive.microsecond) else "auto")


def _offset(aware: datetime) -> str:
    """``+02:00`` for an aware time's UTC offset."""
    return aware.isoformat()[-6:]


TIME = TimeParam()


# -- the engine ---------------------------------------------------------------------


def open_engine(settings: Settings) -> Engine:
    """The engine on the invocation's database.

    migrate=False: an old or empty database is refused with SchemaOutOfDate
    ("run forloeb init") rather than silently created.
    """
    from forloeb import Engine

    return settings.bind(Engine.open(settings.db))


def open_configured(settings: Settings, config_path: str | None) -> tuple[Engine, EngineSettings]:
    """The engine opened with the configuration file's router, deadlines and team leads."""
    from forloeb import Engine, load_settings

    config = load_settings(config_path)  # bad config: InvalidData, before the database is touched
    return settings.bind(Engine.open(settings.db, **config.engine_options())), config


def definition(name: str) -> WorkflowDefinition:
    """The newest built-in definition of workflow ``name`` (no database needed)."""
    from forloeb import UnknownWorkflow
    from forloeb.workflows import BUILTIN

    found = [d for d in BUILTIN if d.name == name]
    if not found:
        raise UnknownWorkflow(name, {d.name for d in BUILTIN})
    return max(found, key=lambda d: d.version)


# -- progress on long work ------------------------------------------------------------


def _on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def progress_bar(settings: Settings, label: str) -> Iterator[Progress | None]:
    """A ``progress(done, total)`` callback that draws a bar on stderr, or None.

    Only on a terminal (stdout and stderr both), never with ``--json``: pipes,
    files and machine-readable output stay as they were. The bar appears with
    the first report and is finished (a newline) when the block ends.
    """
    if settings.as_json or not _on_terminal():
        yield None
        return
    with ExitStack() as stack:
        bars: list[ProgressBar[int]] = []

        def progress(done: int, total: int) -> None:
            if not bars:
                bar = click.progressbar(length=max(total, 1), label=t(settings.lang, label), file=sys.stderr)
                bars.append(stack.enter_context(bar))
            bar = bars[0]
            bar.length = max(total, done, 1)  # a total may grow as the work finds more
            bar.update(max(done - bar.pos, 0))

        yield progress
