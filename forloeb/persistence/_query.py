"""Building filtered SELECTs: every value a bound parameter, never SQL text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select

S = TypeVar("S", bound=Select[Any])


def where_equal(stmt: S, pairs: Iterable[tuple[ColumnElement[Any], object]]) -> S:
    """Add ``column = value`` for each pair whose value is given (not None)."""
    for column, value in pairs:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def where_between(stmt: S, column: ColumnElement[Any], since: datetime | None, until: datetime | None) -> S:
    """Add ``since <= column < until`` for the bounds that are given."""
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt
