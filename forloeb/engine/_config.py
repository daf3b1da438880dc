"""The configuration file (TOML): notifiers and routes, deadlines, team leads, scheduling,
closing days, and a folder of the secretariat's own method definitions.

One file per installation, given with ``--config FILE`` or ``FORLOEB_CONFIG``
(see ``docs/forloeb.example.toml``). Everything is checked when it is loaded,
so a typo stops the scheduler at start-up instead of losing the first
escalation; secrets stay in the environment (``password_env``, ``secret_env``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from ._calendar import DEFAULT_CLOSING_DAYS, WorkingDayCalendar
from ._checks import check_interval, parse_digest_time
from ._definition import Deadline, Escalation
from ._errors import InvalidData
from ._taxonomy import Taxonomy, taxonomy_from_config
from .notifiers import Route, Router

CONFIG_ENV: Final = "FORLOEB_CONFIG"
_TOP: Final = frozenset(
    {"notifiers", "routes", "address_book", "deadlines", "team_leads", "scheduler", "calendar", "workflows"}
    | {"areas", "teams", "reporting"}  # issue 13: what reports count by (_taxonomy)
)
_CALENDAR: Final = frozenset({"closing_days", "extra_closed"})
_WORKFLOWS: Final = frozenset({"folder"})
_SCHEDULER: Final = frozenset({"sweep_every", "dispatch_every", "digest_at"})
_DEADLINE: Final = frozenset({"amount", "unit", "rearm", "escalation", "none"})
_ESCALATION: Final = frozenset({"to", "after", "unit"})
_UNITS: Final = ("working_days", "days")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """A loaded configuration: what ``Engine.open`` and the scheduler take."""

    path: str | None = None
    router: Router = field(default_factory=lambda: Router([], {}))
    # The mapping the router was built from (notifiers, routes, address_book).
    router_config: Mapping[str, Any] = field(default_factory=dict)
    deadlines: Mapping[str, Mapping[str, Deadline | None]] = field(default_factory=dict)
    team_leads: Mapping[str, str] = field(default_factory=dict)
    sweep_every: float = 60.0
    dispatch_every: float = 15.0
    digest_at: str | None = None
    # ``[calendar]``: the working-day calendar with the configured closing days
    # (None: the default, which closes on juleaften, nytårsaften and grundlovsdag).
    calendar: WorkingDayCalendar | None = None
    # ``[workflows] folder``: the secretariat's own definition files (relative
    # to the configuration file), loaded beside the shipped ones.
    workflows_folder: str | None = None
    # ``[[areas]]``, ``[[teams]]``, ``[reporting]``: effort areas per plan period, the
    # organisation's teams and the reporting lists (None: the shipped defaults).
    taxonomy: Taxonomy | None = None

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`Engine.open`."""
        options: dict[str, Any] = {
            "deadlines": self.deadlines or None,
            "team_leads": self.team_leads or None,
            "router": self.router,
        }
        if self.calendar is not None:
            options["calendar"] = self.calendar
        if self.workflows_folder is not None:
            options["workflows_folder"] = self.workflows_folder
        return options


def load_settings(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``path`` (default: ``FORLOEB_CONFIG``; neither: the defaults)."""
    env = os.environ if environ is None else environ
    chosen = os.fspath(path) if path is not None else env.get(CONFIG_ENV) or None
    if chosen is None:
        return Settings(router=default_router())
    try:
        with open(chosen, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise InvalidData(
            f"config file {chosen} does not exist", detail_da=f"konfigurationsfilen {chosen} findes ikke"
        ) from None
    except OSError as exc:
        raise InvalidData(
            f"cannot read config file {chosen}: {exc.strerror}",
            detail_da=f"konfigurationsfilen {chosen} kan ikke læses: {exc.strerror}",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidData(
            f"config file {chosen} is not valid TOML: {exc}",
            detail_da=f"konfigurationsfilen {chosen} er ikke gyldig TOML: {exc}",
        ) from None
    except (UnicodeDecodeError, RecursionError):  # not UTF-8; nested deeper than the parser goes
        raise InvalidData(
            f"config file {chosen} is not valid TOML (UTF-8 text, not nested too deeply)",
            detail_da=f"konfigurationsfilen {chosen} er ikke gyldig TOML "
            "(UTF-8-tekst, ikke indlejret for dybt)",
        ) from None
    try:
        return settings_from_mapping(data, path=str(Path(chosen)), environ=env)
    except InvalidData as exc:
        raise InvalidData(f"{chosen}: {exc.detail}", detail_da=f"{chosen}: {exc.detail_da}") from None


def settings_from_mapping(
    data: Mapping[str, Any], *, path: str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Check and convert a parsed configuration (a TOML or JSON document)."""
    unknown = set(data) - _TOP
    if unknown:
        raise InvalidData(
            f"unknown section(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(_TOP))}",
            detail_da=f"ukendt(e) afsnit: {', '.join(sorted(unknown))}; kendte: {', '.join(sorted(_TOP))}",
        )
    router_config = {k: data[k] for k in ("notifiers", "routes", "address_book") if k in data}
    router = Router.from_config(router_config, environ=environ) if router_config else default_router()
    scheduler = _table("scheduler", data.get("scheduler", {}))
    _known("scheduler", scheduler, _SCHEDULER)
    digest_at = scheduler.get("digest_at")
    if digest_at is not None:
        parse_digest_time(digest_at)
    team_leads = _table("team_leads", data.get("team_leads", {}))
    for team, lead in team_leads.items():
        if not isinstance(lead, str) or not lead.strip():
            raise InvalidData(
                f"team_leads.{team} must be a staff id (text), not {lead!r}",
                detail_da=f"team_leads.{team} skal være et medarbejder-id (tekst), ikke {lead!r}",
            )
    return Settings(
        path=path,
        router=router,
        router_config=router_config,
        deadlines=_deadlines(data.get("deadlines", {})),
        team_leads=dict(team_leads),
        sweep_every=check_interval("scheduler.sweep_every", scheduler.get("sweep_every", 60)),
        dispatch_every=check_interval("scheduler.dispatch_every", scheduler.get("dispatch_every", 15)),
        digest_at=digest_at,
        calendar=_calendar(data["calendar"]) if "calendar" in data else None,
        workflows_folder=_workflows_folder(data.get("workflows"), path),
        taxonomy=(
            taxonomy_from_config(data.get("areas"), data.get("teams"), data.get("reporting"))
            if {"areas", "teams", "reporting"} & data.keys()
            else None
        ),
    )


def _calendar(value: object) -> WorkingDayCalendar:
    """``[calendar]``: ``closing_days`` (names from the holidays package's optional
    category for Denmark, or "optional" for all of it) and ``extra_closed`` (dates)."""
    spec = _table("calendar", value)
    _known("calendar", spec, _CALENDAR)
    names = spec.get("closing_days", list(DEFAULT_CLOSING_DAYS))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidData(
            'calendar.closing_days must be a list of names, e.g. ["juleaften", "grundlovsdag"]',
            detail_da="calendar.closing_days skal være en liste af navne, "
            'f.eks. ["juleaften", "grundlovsdag"]',
        )
    extra = spec.get("extra_closed", [])
    if not isinstance(extra, list):
        raise InvalidData(
            'calendar.extra_closed must be a list of dates, e.g. ["2026-12-23"]',
            detail_da='calendar.extra_closed skal være en liste af datoer, f.eks. ["2026-12-23"]',
        )
    dates: list[date] = []
    for item in extra:
        if isinstance(item, date) and not isinstance(item, datetime):
            dates.append(item)  # a TOML date
            continue
        try:
            dates.append(date.fromisoformat(item) if isinstance(item, str) else date.fromisoformat(""))
        except ValueError:
            raise InvalidData(
                f"calendar.extra_closed: {item!r} is not a date (YYYY-MM-DD)",
                detail_da=f"calendar.extra_closed: {item!r} er ikke en dato (ÅÅÅÅ-MM-DD)",
            ) from None
    try:
        return WorkingDayCalendar(closing_days=names, closed_days=dates)
    except ValueError as exc:
        # The calendar's own message (_calendar.py) is English only.
        raise InvalidData(
            f"calendar.closing_days: {exc}", detail_da=f"calendar.closing_days: {exc}"
        ) from None


def _workflows_folder(value: object, path: str | None) -> str | None:
    """``[workflows] folder``: a folder of definition files, relative to the configuration file."""
    if value is None:
        return None
    spec = _table("workflows", value)
    _known("workflows", spec, _WORKFLOWS)
    folder = spec.get("folder")
    if not isinstance(folder, str) or not folder.strip():
        raise InvalidData(
            f"workflows.folder must be the path of a folder, not {folder!r}",
            detail_da=f"workflows.folder skal være stien til en mappe, ikke {folder!r}",
        )
    if path is not None and not Path(folder).is_absolute():
        return str(Path(path).parent / folder)
    return folder


def default_router() -> Router:
    """Everything to the log: what an engine without configuration delivers."""
    return Router([Route(channel="log")], {})


def _table(what: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidData(
            f"{what} must be a table, not {type(value).__name__}",
            detail_da=f"{what} skal være en tabel, ikke {type(value).__name__}",
        )
    return value


def _known(what: str, value: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = set(value) - known
    if unknown:
        raise InvalidData(
            f"unknown key(s) in {what}: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}",
            detail_da=f"ukendt(e) nøgle(r) i {what}: {', '.join(sorted(unknown))}; "
            f"kendte: {', '.join(sorted(known))}",
        )


def _deadlines(value: object) -> dict[str, dict[str, Deadline | None]]:
    """``[deadlines.<workflow>.<stage>]`` tables; ``none = true`` removes a stage's deadline.

    Workflow and stage names are checked against the definitions when the
    engine opens (an unknown one is an error there).
    """
    result: dict[str, dict[str, Deadline | None]] = {}
    for workflow, stages in _table("deadlines", value).items():
        for stage, spec in _table(f"deadlines.{workflow}", stages).items():
            what = f"deadlines.{workflow}.{stage}"
            spec = _table(what, spec)
            _known(what, spec, _DEADLINE)
            if spec.get("none") is True:
                if len(spec) > 1:
                    raise InvalidData(
                        f"{what}: none = true takes no other keys",
                        detail_da=f"{what}: none = true kan ikke stå sammen med andre nøgler",
                    )
                result.setdefault(workflow, {})[stage] = None
                continue
            result.setdefault(workflow, {})[stage] = _deadline(what, spec)
    return result


def _deadline(what: str, spec: Mapping[str, Any]) -> Deadline:
    amount = spec.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidData(
            f"{what}: amount must be a positive whole number, not {amount!r}",
            detail_da=f"{what}: amount skal være et positivt helt tal, ikke {amount!r}",
        )
    unit = spec.get("unit", "working_days")
    if unit not in _UNITS:
        raise InvalidData(
            f"{what}: unit must be working_days or days, not {unit!r}",
            detail_da=f"{what}: unit skal være working_days eller days, ikke {unit!r}",
        )
    rearm = spec.get("rearm", False)
    if not isinstance(rearm, bool):
        raise InvalidData(
            f"{what}: rearm must be true or false", detail_da=f"{what}: rearm skal være true eller false"
        )
    options: dict[str, Any] = {"amount": amount, "unit": unit, "rearm": rearm}
    if "escalation" in spec:
        ladder = spec["escalation"]
        if not isinstance(ladder, list):
            raise InvalidData(
                f'{what}: escalation must be a list of tables ({{to = "supervisor"}})',
                detail_da=f'{what}: escalation skal være en liste af tabeller ({{to = "supervisor"}})',
            )
        rungs = []
        for i, rung in enumerate(ladder):
            rung = _table(f"{what}.escalation[{i}]", rung)
            _known(f"{what}.escalation[{i}]", rung, _ESCALATION)
            try:
                rungs.append(Escalation(**rung))
            except (TypeError, ValueError) as exc:
                # Escalation's own message (_definition.py) is English only.
                raise InvalidData(
                    f"{what}.escalation[{i}]: {exc}", detail_da=f"{what}.escalation[{i}]: {exc}"
                ) from None
        options["escalation"] = tuple(rungs)
    try:
        return Deadline(**options)
    except ValueError as exc:
        # Deadline's own message (_definition.py) is English only.
        raise InvalidData(f"{what}: {exc}", detail_da=f"{what}: {exc}") from None
