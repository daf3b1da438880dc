"""Opening the store, and database faults raised as forloeb errors.

The kernel's units of work, the audit store and the dispatcher all reach the
database through these, so that a locked, full or read-only file or a server
gone is a :class:`DatabaseError` wherever it happens.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from ..persistence import SCHEMA_HEAD, SqlStore, Store, StoreFault, safe_url, sqlite_file_missing
from ._errors import SchemaOutOfDate, database_error, is_newer_revision

_T = TypeVar("_T")


def open_store(
    url: str | None, *, migrate: bool, pool_size: int | None, connect_timeout: float | None
) -> Store:
    """The store at ``url`` (default ``FORLOEB_DB`` or ``./forloeb.db``) at the current schema.

    ``migrate``: create or upgrade the schema first; otherwise an older,
    newer, empty or missing schema is :class:`SchemaOutOfDate` (and a missing
    SQLite file is not created: a typo in --db leaves no litter).
    """
    url = url or os.environ.get("FORLOEB_DB") or None
    if not migrate and sqlite_file_missing(url):
        raise SchemaOutOfDate(None, SCHEMA_HEAD)
    try:
        store = SqlStore.open(url, pool_size=pool_size, connect_timeout=connect_timeout)
    except StoreFault as exc:
        raise database_error(safe_url(url), exc) from exc
    try:
        with translate_faults(store.url):
            if migrate:
                before = store.schema_revision()
                if is_newer_revision(before, SCHEMA_HEAD):
                    raise SchemaOutOfDate(before, SCHEMA_HEAD)
                store.upgrade()
            current = store.schema_revision()
        if current != SCHEMA_HEAD:
            raise SchemaOutOfDate(current, SCHEMA_HEAD)
    except BaseException:
        store.close()
        raise
    return store


@contextmanager
def translate_faults(url: str) -> Iterator[None]:
    """Database faults (a server gone, a locked, full or read-only SQLite file) raised
    inside as the forloeb errors they stand for (:class:`DatabaseError`), not driver errors."""
    try:
        yield
    except StoreFault as exc:
        raise database_error(url, exc) from exc


@contextmanager
def available(url: str, transaction: AbstractContextManager[_T]) -> Iterator[_T]:
    """``transaction``, with database faults raised as forloeb errors."""
    with translate_faults(url), transaction as tx:
        yield tx


class FaultTranslating:
    """A proxy whose method calls (and the iterators they return) raise database
    faults as forloeb errors: the audit queries run outside a unit of work."""

    def __init__(self, inner: object, url: str) -> None:
        self._inner = inner
        self._url = url

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with translate_faults(self._url):
                result = attr(*args, **kwargs)
            if isinstance(result, Iterator):
                return translating_iter(result, self._url)
            return result

        return call


def translating_iter(items: Iterator[_T], url: str) -> Iterator[_T]:
    with translate_faults(url):
        yield from items


__all__ = ["FaultTranslating", "available", "open_store", "translate_faults", "translating_iter"]
