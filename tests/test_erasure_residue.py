"""Erasure without residue (issue 12, M5) and database files for the owner only (L1).

An erased note must not survive in the SQLite files (the WAL keeps the pages
as they were before the delete until a checkpoint; freed pages keep their
bytes unless ``secure_delete`` is on), and on PostgreSQL the tables an
erasure deletes from are VACUUMed after it.
"""

from __future__ import annotations

import os
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import FakeClock, drive, start
from sqlalchemy import text

from forloeb import Actor, Engine
from forloeb.persistence import SqlStore

MARKER = "RESTTEKST-7f3a9c-psykiater"


def _sqlite_bytes(url: str) -> bytes:
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def _secure_delete(store: SqlStore) -> int:
    with store.sa_engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA secure_delete").scalar_one())


@pytest.mark.sqlite_only
def test_m5_every_sqlite_connection_has_secure_delete_on(engine: Engine) -> None:
    assert isinstance(engine.store, SqlStore)
    assert _secure_delete(engine.store) == 1


@pytest.mark.sqlite_only
def test_m5_an_erased_note_leaves_no_trace_in_the_sqlite_files(
    db_url: str, engine: Engine, worker: Actor, supervisor: Actor
) -> None:
    kept = start(engine, worker, subject="sag-bliver")
    gone = start(engine, worker, subject="sag-slettes")
    engine.add_note(gone.id, f"Samtale: {MARKER}", actor=worker)
    engine.add_note(kept.id, "Almindeligt notat", actor=worker)
    assert MARKER.encode() in _sqlite_bytes(db_url)  # on disk before (the WAL or the file)

    engine.erase(gone.id, actor=supervisor, reason="anmodning om sletning")

    assert MARKER.encode() not in _sqlite_bytes(db_url)
    assert not Path(db_url.removeprefix("sqlite:///") + "-wal").stat().st_size  # truncated


@pytest.mark.sqlite_only
def test_m5_a_retention_purge_leaves_no_trace_in_the_sqlite_files(
    db_url: str, clock: FakeClock, worker: Actor, supervisor: Actor
) -> None:
    clock.set(datetime(2015, 1, 5, 9, 0, tzinfo=UTC))
    with Engine.open(db_url, migrate=True, clock=clock) as engine:
        old = drive(engine, worker, "closed", subject="sag-gammel")
        engine.add_note(old.id, f"Efter afslutning: {MARKER}", actor=worker)
        clock.set(datetime(2021, 3, 1, 9, 0, tzinfo=UTC))
        assert MARKER.encode() in _sqlite_bytes(db_url)

        [receipt] = engine.purge_closed(actor=supervisor)

        assert receipt.engagement_id == old.id
        # While the engine is open (closing the last connection would checkpoint anyway).
        assert MARKER.encode() not in _sqlite_bytes(db_url)


def _last_vacuum(engine: Engine, table: str) -> datetime | None:
    assert isinstance(engine.store, SqlStore)
    with engine.store.sa_engine.connect() as conn:
        value: datetime | None = conn.execute(
            text("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = :t"), {"t": table}
        ).scalar()
        return value


@pytest.mark.postgresql
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_m5_postgresql_vacuums_the_erased_tables_after_an_erasure(
    engine: Engine, worker: Actor, supervisor: Actor
) -> None:
    gone = start(engine, worker, subject="sag-slettes")
    engine.add_note(gone.id, f"Samtale: {MARKER}", actor=worker)
    before = {t: _last_vacuum(engine, t) for t in ("events", "engagements")}

    engine.erase(gone.id, actor=supervisor, reason="anmodning om sletning")

    # The statistics arrive a moment after the VACUUM itself.
    deadline = time.monotonic() + 5
    while True:
        after = {t: _last_vacuum(engine, t) for t in before}
        done = all(after[t] is not None and (before[t] is None or after[t] > before[t]) for t in before)
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert done, (before, after)
    with engine.store.sa_engine.connect() as conn:  # type: ignore[attr-defined]
        dead = conn.execute(
            text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'events'")
        ).scalar_one()
    assert dead == 0


@pytest.mark.sqlite_only
def test_l1_a_new_database_file_is_for_its_owner_only(db_url: str, worker: Actor) -> None:
    old = os.umask(0o022)  # the usual umask, which alone would give 0644
    try:
        with Engine.open(db_url, migrate=True) as engine:
            start(engine, worker)
            path = db_url.removeprefix("sqlite:///")
            for name in (path, f"{path}-wal", f"{path}-shm"):
                assert stat.S_IMODE(os.stat(name).st_mode) == 0o600, name
    finally:
        os.umask(old)


@pytest.mark.sqlite_only
def test_m5_a_purged_access_log_entry_leaves_no_trace_in_the_sqlite_files(
    db_url: str, clock: FakeClock, worker: Actor, supervisor: Actor
) -> None:
    """The access-log purge scrubs like an erasure (its entries name who read which case, and why)."""
    from datetime import timedelta

    with Engine.open(db_url, migrate=True, clock=clock) as engine:
        e = start(engine, worker, subject="sag-laest")
        engine.get(e.id, actor=supervisor, purpose=f"Opslag: {MARKER}")
        assert MARKER.encode() in _sqlite_bytes(db_url)
        clock.advance(days=2)
        assert engine.audit.purge_access(supervisor, retention=timedelta(days=1)) >= 1
        assert MARKER.encode() not in _sqlite_bytes(db_url)
