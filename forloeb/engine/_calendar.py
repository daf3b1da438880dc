"""Business calendars: when is a deadline of N working days due?

Pluggable: anything with ``due(start, deadline)`` serves. The default counts
Danish working days (no weekends, no Danish public holidays from the
``holidays`` package) in Copenhagen local time, so "5 working days from a
referral on Friday at 10:00" is the next Friday at 10:00 local time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import holidays

from ._definition import Deadline

# The secretariat's time zone: deadlines, digests, dates in packages and the CLI.
COPENHAGEN: Final = ZoneInfo("Europe/Copenhagen")


class BusinessCalendar(Protocol):
    def due(self, start: datetime, deadline: Deadline) -> datetime: ...


class WorkingDayCalendar:
    """Working days of one country, plus local closing days."""

    def __init__(
        self,
        country: str = "DK",
        *,
        timezone: str = "Europe/Copenhagen",
        closed_days: Iterable[date] = (),
        weekend: Iterable[int] = (5, 6),
    ) -> None:
        self.country = country
        self.tz = ZoneInfo(timezone)
        self.closed_days = frozenset(closed_days)
        self.weekend = frozenset(weekend)

        @lru_cache(maxsize=64)
        def _holidays(year: int) -> frozenset[date]:
            return frozenset(holidays.country_holidays(country, years=year).keys())

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
