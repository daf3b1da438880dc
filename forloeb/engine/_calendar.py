"""Business calendars: when is a deadline of N working days due?

Pluggable: anything with ``due(start, deadline)`` serves. The default counts
Danish working days (no weekends, no Danish public holidays from the
``holidays`` package) in Copenhagen local time, so "5 working days from a
referral on Friday at 10:00" is the next Friday at 10:00 local time.

Danish public-sector workplaces also close on juleaften, nytårsaften and
grundlovsdag, which are not public holidays: the ``holidays`` package lists
them as Denmark's *optional* category (with 1 May, which most keep open). The
default calendar closes on those three (``DEFAULT_CLOSING_DAYS``), so no
deadline falls on 24 December; the configuration names others
(``[calendar] closing_days``, ``extra_closed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import holidays

from ._definition import Deadline

# The secretariat's time zone: deadlines, digests, dates in packages and the CLI.
COPENHAGEN: Final = ZoneInfo("Europe/Copenhagen")


# The days of the holidays package's optional category for Denmark, by the
# names a secretariat uses, as (month, day): a day closes when the package
# lists it in that category for the year.
CLOSING_DAYS: Final[Mapping[str, tuple[int, int]]] = {
    "juleaften": (12, 24),
    "nytårsaften": (12, 31),
    "grundlovsdag": (6, 5),
    "1. maj": (5, 1),
}
# The same names written without Danish letters or punctuation.
_ALIASES: Final[Mapping[str, str]] = {"nytaarsaften": "nytårsaften", "1_maj": "1. maj", "1. mai": "1. maj"}
DEFAULT_CLOSING_DAYS: Final[tuple[str, ...]] = ("juleaften", "nytårsaften", "grundlovsdag")
OPTIONAL: Final = "optional"


def closing_day_names(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` as keys of :data:`CLOSING_DAYS` (``"optional"``: all of them); ValueError if unknown."""
    out: dict[str, None] = {}
    for raw in names:
        name = raw.strip().lower() if isinstance(raw, str) else raw
        if name == OPTIONAL:
            out.update(dict.fromkeys(CLOSING_DAYS))
            continue
        name = _ALIASES.get(name, name)
        if name not in CLOSING_DAYS:
            known = ", ".join([*CLOSING_DAYS, OPTIONAL])
            raise ValueError(f"unknown closing day {raw!r}; known: {known}")
        out[name] = None
    return tuple(out)


class BusinessCalendar(Protocol):
    def due(self, start: datetime, deadline: Deadline) -> datetime: ...


class WorkingDayCalendar:
    """Working days of one country, plus local closing days.

    ``closing_days``: days of the holidays package's optional category that
    count as closed, by name (:data:`CLOSING_DAYS`; default juleaften,
    nytårsaften and grundlovsdag; ``()`` for none); ``closed_days``: further
    dates (a secretariat's own closing day).
    """

    def __init__(
        self,
        country: str = "DK",
        *,
        timezone: str = "Europe/Copenhagen",
        closed_days: Iterable[date] = (),
        weekend: Iterable[int] = (5, 6),
        closing_days: Iterable[str] = DEFAULT_CLOSING_DAYS,
    ) -> None:
        self.country = country
        self.tz = ZoneInfo(timezone)
        self.closed_days = frozenset(closed_days)
        self.weekend = frozenset(weekend)
        self.closing_days = closing_day_names(closing_days)
        wanted = frozenset(CLOSING_DAYS[name] for name in self.closing_days)

        @lru_cache(maxsize=64)
        def _holidays(year: int) -> frozenset[date]:
            days = set(holidays.country_holidays(country, years=year).keys())
            if wanted:
                try:
                    optional = holidays.country_holidays(country, years=year, categories=(OPTIONAL,))
                except (NotImplementedError, ValueError):  # a country without an optional category
                    return frozenset(days)
                days.update(d for d in optional if (d.month, d.day) in wanted)
            return frozenset(days)

        self._holidays_of = _holidays

        # Deadlines are computed on every stage entry: the day arithmetic
        # depends only on (start day, n), so remember it.
        @lru_cache(maxsize=4096)
        def _plus_working_days(day: date, n: int) -> date:
            counted = 0
            while counted < n:
                day += timedelta(days=1)
                if self.is_working_day(day):
                    counted += 1
            return day

        self._plus_working_days = _plus_working_days

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() not in self.weekend
            and day not in self.closed_days
            and day not in self._holidays_of(day.year)
        )

    def add_working_days(self, start: datetime, n: int) -> datetime:
        local = start.astimezone(self.tz)
        day = self._plus_working_days(local.date(), n)
        # Same local wall-clock time on the due day (DST-safe via zoneinfo).
        due = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=self.tz)
        return due.astimezone(UTC)

    def due(self, start: datetime, deadline: Deadline) -> datetime:
        if deadline.unit == "days":
            # Calendar days keep the local wall-clock time too: a 30-day
            # review set at 09:00 in October is due at 09:00 in November, not
            # at 08:00 because the clocks went back in between.
            local = start.astimezone(self.tz)
            day = local.date() + timedelta(days=deadline.amount)
            due = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=self.tz)
            return due.astimezone(UTC)
        return self.add_working_days(start, deadline.amount)
