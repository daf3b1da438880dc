"""Argument checks shared by the engine's commands (one clear InvalidData each)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ._errors import InvalidData


def positive_int(name: str, value: object) -> int:
    """``value`` as a whole number of at least 1 (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidData(
            f"{name} must be a whole number of at least 1",
            detail_da=f"{name} skal være et helt tal på mindst 1",
        )
    return value


def check_aware(now: object) -> None:
    """A given ``now`` must be an aware datetime (None means "the clock's")."""
    if now is not None and (not isinstance(now, datetime) or now.tzinfo is None):
        raise InvalidData("now must be an aware datetime", detail_da="now skal have en tidszone")


def aware_now(now: datetime | None, clock: Callable[[], datetime]) -> datetime:
    """``now`` checked, or the clock's time when it is None."""
    check_aware(now)
    return clock() if now is None else now
