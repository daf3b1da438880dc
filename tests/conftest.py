"""Shared fixtures for the engine tests (helpers they share are in ``helpers.py``).

The store and engine tests run on every backend through one parametrized
fixture, ``db_url`` (and ``engine``, ``clocked_engine`` built on it):

* ``sqlite``: a fresh SQLite file (WAL) under ``tmp_path``, not yet created;
* ``postgresql`` (marker ``postgresql``): one database per test session,
  created from the maintenance database named by ``FORLOEB_TEST_PG_URL``
  (default: the local server on 127.0.0.1:5432), migrated once, emptied with
  ``TRUNCATE … RESTART IDENTITY`` before each test and dropped at the end.
  A fresh database per test costs ~65 ms on these machines, a truncate ~13 ms.

Tests that need a database without the schema take ``empty_db_url``; tests
that only make sense on SQLite (pragmas, files) carry ``@pytest.mark.sqlite_only``
and are deselected on the PostgreSQL param. Deadline tests pass a
:class:`FakeClock` instead of sleeping.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import AUDIT_KEY, TEST_LOGIN, FakeClock, drive, register_test_staff

from forloeb import Actor, AuditKeyError, DatabaseError, Engagement, Engine

PG_URL_VAR = "FORLOEB_TEST_PG_URL"
PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_HOWTO = (
    f"PostgreSQL not reachable: set {PG_URL_VAR}=postgresql+psycopg://user@host:5432/db "
    "to run the PostgreSQL tests"
)
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine reads these; a developer's shell must not change the tests."""
    for name in ("FORLOEB_AUDIT_KEY", "FORLOEB_DB", "FORLOEB_LOG_FORMAT", "FORLOEB_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _staff_register(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every engine a test builds has the test staff register (``helpers.TEST_STAFF``),
    put in when its register is empty; the CLI's OS login is ``helpers.TEST_LOGIN``.

    One place, so that the tests written before the register keep their meaning.
    ``@pytest.mark.empty_register``: none of this (bootstrapping itself is tested).
    """
    if request.node.get_closest_marker("empty_register"):
        return
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, TEST_LOGIN)
    original = Engine.__init__

    def init(self: Engine, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        # A read-only or broken database, or one keyed with another key: the test's subject.
        with contextlib.suppress(DatabaseError, AuditKeyError):
            register_test_staff(self)

    monkeypatch.setattr(Engine, "__init__", init)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``configure_logging`` (the CLI calls it) sets the "forloeb" logger's level
    and adds a handler writing to a stream of this test: undone after every test."""
    logger = logging.getLogger("forloeb")
    saved = (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
    yield
    logger.setLevel(saved[0])
    logger.handlers[:] = saved[1]
    logger.propagate, logger.disabled = saved[2], saved[3]


def pytest_configure(config: pytest.Config) -> None:
    # Registered here: pyproject's marker list belongs to the whole project.
    config.addinivalue_line("markers", "postgresql: needs a PostgreSQL server (see FORLOEB_TEST_PG_URL)")
    config.addinivalue_line("markers", "sqlite_only: meaningful on SQLite only; not run on PostgreSQL")
    config.addinivalue_line("markers", "empty_register: the engine gets no test staff register")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Deselected rather than skipped: a SQLite pragma test on PostgreSQL is
    # not a test that could not run, it is not a test at all.
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("db_url") == "postgresql"
        (dropped if on_pg and item.get_closest_marker("sqlite_only") else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


class PostgresServer:
    """The test server: a maintenance URL, and databases made and dropped on it."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.pool import NullPool

        self.url = make_url(url)
        # CREATE/DROP DATABASE cannot run inside a transaction.
        self._admin = create_engine(
            self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3}
        )

    def ping(self) -> None:
        with self._admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def create(self, prefix: str) -> str:
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        with self._admin.connect() as conn:
            # FORCE: a test that failed may have left a connection behind.
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def dispose(self) -> None:
        self._admin.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server, or a skip saying how to enable the tests.

    Unset variable and no server on the default address: skipped (a fresh
    laptop). Variable set and the server unreachable: an error, never a skip,
    so that CI cannot pass without having run them.
    """
    configured = os.environ.get(PG_URL_VAR)
    try:
        server = PostgresServer(configured or PG_DEFAULT_URL)
        server.ping()
    except Exception as exc:
        if configured:
            pytest.fail(f"{PG_URL_VAR} is set but the server cannot be used: {exc}", pytrace=False)
        pytest.skip(PG_HOWTO)
    try:
        yield server
    finally:
        server.dispose()


def _pg_tables(conn: Any) -> list[str]:
    # Every table but Alembic's: new migrations' tables are emptied too.
    rows = conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables"
        " WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
    )
    return sorted(r[0] for r in rows)


@pytest.fixture(scope="session")
def pg_session_db(pg_server: PostgresServer) -> Iterator[tuple[str, Any]]:
    """One migrated database for the session, and an engine to maintain it."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    url = pg_server.create("forloeb_test")
    try:
        Engine.open(url, migrate=True).close()
        admin = create_engine(url, poolclass=NullPool)
        try:
            yield url, admin
        finally:
            admin.dispose()
    finally:
        pg_server.drop(url)


def _pg_reset(url: str, admin: Any) -> None:
    """Empty the session database; rebuild it if a test changed its schema."""
    from forloeb.persistence import SCHEMA_HEAD, metadata

    with admin.begin() as conn:
        # Fail, not hang, if a connection left by an earlier test holds a lock.
        conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
        tables = _pg_tables(conn)
        has_version = conn.exec_driver_sql("SELECT to_regclass('alembic_version') IS NOT NULL").scalar()
        version = None
        if has_version:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        if version == SCHEMA_HEAD and set(tables) == set(metadata.tables):
            conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            return
        # A test moved the schema (older/newer revision, dropped table): start over.
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    Engine.open(url, migrate=True).close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A database URL per backend: SQLite not yet created, PostgreSQL migrated and empty."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 't.db'}"
    url, admin = request.getfixturevalue("pg_session_db")
    _pg_reset(url, admin)
    return str(url)


@pytest.fixture
def pg_url(pg_session_db: tuple[str, Any]) -> str:
    """The PostgreSQL session database, migrated and empty (PostgreSQL-only tests)."""
    url, admin = pg_session_db
    _pg_reset(url, admin)
    return url


@pytest.fixture
def empty_db_url(db_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database without the schema (not even Alembic's table), on the same backend."""
    if not db_url.startswith("postgresql"):
        yield db_url  # the SQLite file does not exist yet
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    url = server.create("forloeb_empty")
    try:
        yield url
    finally:
        server.drop(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = Engine.open(db_url, migrate=True)
    try:
        yield eng
    finally:
        eng.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keyed(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    """An engine with an audit key (``helpers.AUDIT_KEY``) and a settable clock."""
    eng = Engine.open(db_url, migrate=True, clock=clock, audit_key=AUDIT_KEY)
    try:
        yield eng
    finally:
        eng.close()


@pytest.fixture
def clocked_engine(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    eng = Engine.open(db_url, migrate=True, clock=clock)
    try:
        yield eng
    finally:
        eng.close()


@pytest.fixture
def worker() -> Actor:
    return Actor("anna", ["worker"])


@pytest.fixture
def supervisor() -> Actor:
    return Actor("leder", ["supervisor"])


@pytest.fixture
def auditor() -> Actor:
    return Actor("revisor", ["auditor"])


@pytest.fixture
def drive_to(engine: Engine, worker: Actor) -> Callable[..., Engagement]:
    """``drive_to(stage, workflow=...)`` on the test's engine as the worker."""

    def _drive(stage: str, workflow: str = "individual_course", **kwargs: Any) -> Engagement:
        return drive(engine, worker, stage, workflow, **kwargs)

    return _drive
