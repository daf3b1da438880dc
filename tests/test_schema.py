"""The schema: migrations equal the models; the engine refuses an old database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from helpers import start
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import IntegrityError

from forloeb import Actor, DatabaseUnavailable, Engine, ForloebError, SchemaOutOfDate
from forloeb.engine import GENESIS
from forloeb.persistence import SCHEMA_HEAD, SqlStore, metadata
from forloeb.persistence._migrate import head_revision
from forloeb.persistence._tables import events


def test_migrations_produce_the_models_schema(empty_db_url: str) -> None:
    store = SqlStore.open(empty_db_url)
    try:
        store.upgrade()
        with store.sa_engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
            assert diff == []
            assert set(inspect(conn).get_table_names()) == {*metadata.tables, "alembic_version"}
        assert store.schema_revision() == SCHEMA_HEAD
    finally:
        store.close()


def test_schema_head_is_alembics_head() -> None:
    assert head_revision() == SCHEMA_HEAD


def test_upgrade_is_idempotent(db_url: str) -> None:
    store = SqlStore.open(db_url)
    try:
        store.upgrade()
        store.upgrade()
        assert store.schema_revision() == SCHEMA_HEAD
    finally:
        store.close()


def test_an_empty_database_is_refused(empty_db_url: str) -> None:
    with pytest.raises(SchemaOutOfDate) as info:
        Engine.open(empty_db_url)
    assert info.value.current is None
    assert info.value.required == SCHEMA_HEAD
    assert "forloeb init" in str(info.value)
    assert "forloeb init" in info.value.message("da")


def test_an_initialised_database_opens(db_url: str, worker: Actor) -> None:
    Engine.open(db_url, migrate=True).close()
    with Engine.open(db_url) as engine:
        assert start(engine, worker).version == 1


def test_an_older_schema_is_refused(db_url: str) -> None:
    Engine.open(db_url, migrate=True).close()
    store = SqlStore.open(db_url)
    try:
        with store.sa_engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    finally:
        store.close()
    with pytest.raises(SchemaOutOfDate) as info:
        Engine.open(db_url)
    assert info.value.current == "0000"


@pytest.mark.parametrize("migrate", [False, True])
def test_a_newer_schema_is_refused_with_a_forloeb_error(db_url: str, migrate: bool) -> None:
    """A database written by a newer release (a revision this one does not know):
    refused with SchemaOutOfDate whether or not we were asked to migrate."""
    Engine.open(db_url, migrate=True).close()
    store = SqlStore.open(db_url)
    try:
        with store.sa_engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        store.close()
    with pytest.raises(SchemaOutOfDate) as info:
        Engine.open(db_url, migrate=migrate)
    assert info.value.current == "9999"


def test_an_unreachable_database_is_a_forloeb_error(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    with pytest.raises(DatabaseUnavailable) as info:
        Engine.open(url, migrate=True)
    assert isinstance(info.value, ForloebError)
    assert "x.db" in info.value.url
    assert info.value.message("da").startswith("Kan ikke forbinde")


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine: Engine, worker: Actor) -> None:
    with engine.store.sa_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # ... and on the connection the engine writes with.
    e = start(engine, worker)
    with engine.store.sa_engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(
            text("INSERT INTO engagement_tags (engagement_id, tag) VALUES (:id, 't')"),
            {"id": e.id + 1000},
        )


def _event_row(engagement_id: int, seq: int) -> dict[str, Any]:
    return {
        "engagement_id": engagement_id,
        "seq": seq,
        "type": "note",
        "trigger": None,
        "from_state": "referral",
        "to_state": "referral",
        "actor": "mallory",
        "role": "worker",
        "payload": {"text": "forked"},
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
        "prev_hash": GENESIS,
        "hash": "f" * 64,
    }


def test_the_event_log_refuses_a_duplicate_seq(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    before = engine.row_counts()
    with pytest.raises(IntegrityError), engine.store.sa_engine.begin() as conn:
        conn.execute(insert(events).values(**_event_row(e.id, 1)))
    assert engine.row_counts() == before
    # A new seq is accepted by the table (the engine never writes one out of order).
    with engine.store.sa_engine.begin() as conn:
        conn.execute(insert(events).values(**_event_row(e.id, 2)))
    assert engine.row_counts()["events"] == before["events"] + 1


def test_events_need_an_existing_engagement(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.store.sa_engine.begin() as conn:
        conn.execute(insert(events).values(**_event_row(12345, 1)))


@pytest.mark.empty_register  # a new database: no register entries, no access-log records
def test_row_counts_cover_every_table(engine: Engine) -> None:
    assert set(engine.row_counts()) == set(metadata.tables)
    assert all(n == 0 for n in engine.row_counts().values())
