"""Faults an operator meets, injected for real: the autumn clock change, a
writer held up by another process, a full disk, a read-only file or mount,
and a PostgreSQL network that stops delivering (issue 9).

Each fault is a ``StoreFault`` at the store and a ``DatabaseError`` at the
engine (one line in the CLI), nothing is half-written, and the database
verifies afterwards.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import READER, counts, start
from sqlalchemy import select

from forloeb import Actor, DatabaseUnavailable, Engine
from forloeb.engine._errors import (
    DatabaseBusy,
    DatabaseError,
    DatabaseReadOnly,
    StorageFull,
    database_error,
)
from forloeb.persistence import (
    EngagementFilter,
    SqlStore,
    StoreBusy,
    StoreFault,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
    _pg,
)
from forloeb.persistence._faults import sqlite_fault
from forloeb.persistence._hotpath import _sqlite_time
from forloeb.persistence._tables import access_log, events

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# The autumn clock change of 2027: 03:00 summer time becomes 02:00 winter time,
# so 02:30 happens twice (fold=0 at +02:00, fold=1 at +01:00).
FIRST_HALF_PAST_TWO = datetime(2027, 10, 31, 2, 30, tzinfo=COPENHAGEN)
SECOND_HALF_PAST_TWO = FIRST_HALF_PAST_TWO.replace(fold=1)


class LocalClock:
    """An engine clock that answers in Copenhagen local time (aware), as a
    deployment whose code calls ``datetime.now(ZoneInfo(...))`` would."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _verified(url: str, auditor: Actor) -> None:
    """A fresh engine (no size limit, writable) verifies every chain."""
    with Engine.open(url) as engine:
        report = engine.audit.verify(auditor)
        assert report.ok, [b.detail for b in report.breaks]


# -- the autumn clock change ------------------------------------------------------


def test_the_two_half_past_twos_of_the_autumn_clock_change_are_stored_an_hour_apart() -> None:
    # Equal as keys in one zone (wall clock, fold ignored), an hour apart as instants.
    assert FIRST_HALF_PAST_TWO == SECOND_HALF_PAST_TWO
    assert _sqlite_time(FIRST_HALF_PAST_TWO) == "2027-10-31 00:30:00.000000"
    assert _sqlite_time(SECOND_HALF_PAST_TWO) == "2027-10-31 01:30:00.000000"
    # Whichever comes first into the cache.
    assert _sqlite_time(FIRST_HALF_PAST_TWO) == "2027-10-31 00:30:00.000000"


def test_events_at_the_autumn_clock_change_keep_their_instants_and_verify(
    db_url: str, worker: Actor, auditor: Actor
) -> None:
    clock = LocalClock(FIRST_HALF_PAST_TWO)
    with Engine.open(db_url, migrate=True, clock=clock) as engine:
        e = start(engine, worker)
        clock.now = SECOND_HALF_PAST_TWO
        engine.fire(e.id, "make_contact", actor=worker)
        history = engine.history(e.id, actor=READER)
        assert [ev.occurred_at for ev in history] == [
            datetime(2027, 10, 31, 0, 30, tzinfo=UTC),
            datetime(2027, 10, 31, 1, 30, tzinfo=UTC),
        ]
        report = engine.audit.verify(auditor)
        assert report.ok, [b.detail for b in report.breaks]
    store = SqlStore.open(db_url)
    try:
        with store.sa_engine.connect() as conn:
            stored = conn.execute(select(events.c.occurred_at).order_by(events.c.seq)).scalars().all()
        assert stored == [
            datetime(2027, 10, 31, 0, 30, tzinfo=UTC),
            datetime(2027, 10, 31, 1, 30, tzinfo=UTC),
        ]
    finally:
        store.close()


# -- SQLite: another writer holds the lock ------------------------------------------


def _hold_write_lock(path: str, seconds: float, ready: Any) -> None:
    """In another process: take SQLite's write lock and keep it for ``seconds``."""
    con = sqlite3.connect(path, isolation_level=None, timeout=30)
    con.execute("BEGIN IMMEDIATE")
    con.execute(
        "INSERT INTO access_log (occurred_at, actor, role, action) VALUES ('2026-01-01', 'x', 'x', 'x')"
    )
    ready.set()
    time.sleep(seconds)
    con.execute("ROLLBACK")
    con.close()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("given, expected_ms", [(20.0, 20000), (None, 30000)])
def test_write_connections_wait_as_long_as_reads(db_url: str, given: float | None, expected_ms: int) -> None:
    Engine.open(db_url, migrate=True).close()
    store = SqlStore.open(db_url, connect_timeout=given)
    try:
        with store.write():  # opens this thread's write connection
            pass
        busy = store._own_connection().execute("PRAGMA busy_timeout").fetchone()[0]
        with store.sa_engine.connect() as conn:
            read_busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert busy == read_busy == expected_ms
    finally:
        store.close()


@pytest.mark.sqlite_only
def test_a_fire_waits_out_another_process_holding_the_write_lock_for_8_s(
    db_url: str, worker: Actor, auditor: Actor
) -> None:
    with Engine.open(db_url, migrate=True) as engine:
        e = start(engine, worker)
    path = db_url.removeprefix("sqlite:///")
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_write_lock, args=(path, 8.0, ready))
    holder.start()
    try:
        assert ready.wait(30), "the lock holder did not start"
        with Engine.open(db_url, connect_timeout=20) as engine:
            began = time.monotonic()
            moved = engine.fire(e.id, "make_contact", actor=worker)
            waited = time.monotonic() - began
        assert moved.state == "first_contact"
        assert 5.0 < waited < 20.0  # it waited for the lock (sqlite3's own 5 s would have failed)
    finally:
        holder.join(30)
    assert holder.exitcode == 0
    _verified(db_url, auditor)


@pytest.mark.sqlite_only
def test_a_write_held_up_past_the_busy_timeout_is_store_busy_and_writes_nothing(
    db_url: str, worker: Actor
) -> None:
    with Engine.open(db_url, migrate=True) as engine:
        e = start(engine, worker)
        before = counts(engine)
    path = db_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    store = SqlStore.open(db_url, connect_timeout=0.3)
    try:
        began = time.monotonic()
        with pytest.raises(StoreBusy, match="database is locked"), store.write() as tx:
            tx.lock_engagement(e.id)
        assert time.monotonic() - began < 5
    finally:
        other.execute("ROLLBACK")
        other.close()
        store.close()
    with Engine.open(db_url) as engine:
        assert counts(engine) == before


@pytest.mark.sqlite_only
def test_a_fire_held_up_past_the_busy_timeout_is_database_busy(db_url: str, worker: Actor) -> None:
    with Engine.open(db_url, migrate=True) as engine:
        e = start(engine, worker)
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Engine.open(db_url, connect_timeout=0.3) as engine, pytest.raises(DatabaseBusy) as info:
            engine.fire(e.id, "make_contact", actor=worker)
        assert "optaget" in info.value.message("da") and "busy" in str(info.value)
    finally:
        other.execute("ROLLBACK")
        other.close()


# -- SQLite: a full disk ---------------------------------------------------------------
#
# max_page_count caps the database at its current size (SQLite never lowers
# it below that): the next write that needs a new page fails with
# SQLITE_FULL, exactly as on a full disk, without filling one.


def _big_access_entry() -> dict[str, Any]:
    return {
        "occurred_at": datetime.now(UTC),
        "actor": "anna",
        "role": "worker",
        "action": "read",
        "engagement_id": None,
        "subject": None,
        "criteria": None,
        "purpose": "Opfølgning " * 6000,  # more than a page: the file must grow
    }


def _fill(engine: Engine, engagement_id: int, actor: Actor) -> dict[str, int]:
    """Add notes until the database is full; the row counts before the note that failed."""
    for _ in range(500):
        before = counts(engine)
        try:
            engine.add_note(engagement_id, "Samtale om skolegang og fritid. " * 100, actor=actor)
        except (StoreFull, StorageFull):
            return before
    raise AssertionError("the database never filled up")


@pytest.mark.sqlite_only
def test_a_full_database_refuses_writes_as_store_full_and_keeps_what_it_had(
    db_url: str, worker: Actor, auditor: Actor
) -> None:
    with Engine.open(db_url, migrate=True) as engine:
        e = start(engine, worker)
    full = f"{db_url}?max_page_count=1"
    with Engine.open(full) as engine:
        before = _fill(engine, e.id, worker)
        assert counts(engine) == before  # nothing of the failed note
        store = engine.store
        with pytest.raises(StoreFull, match="full"), store.write() as tx:
            tx.insert_access(_big_access_entry())
        with pytest.raises(StoreFull):
            store.audit().insert_access([_big_access_entry()])
        assert counts(engine) == before
        # Reading a full database works in the store. (Through the API a read also
        # writes its access-log entry, issue 11, which a full file may still take
        # or refuse as StorageFull: never is a read done unlogged.)
        with engine.store.read() as rtx:
            assert rtx.get_engagement(e.id)["version"] == before["events"]
    _verified(db_url, auditor)


@pytest.mark.sqlite_only
def test_a_full_database_is_storage_full_at_the_engine(db_url: str, worker: Actor, auditor: Actor) -> None:
    with Engine.open(db_url, migrate=True) as engine:
        e = start(engine, worker)
    with Engine.open(f"{db_url}?max_page_count=1") as engine:
        for _ in range(500):
            before = counts(engine)
            try:
                engine.add_note(e.id, "Samtale om skolegang og fritid. " * 100, actor=worker)
            except DatabaseError as exc:
                assert isinstance(exc, StorageFull)
                assert exc.http_status == 507
                assert "plads" in exc.message("da") and "out of space" in exc.message("en")
                break
        else:
            raise AssertionError("the database never filled up")
        assert counts(engine) == before
    _verified(db_url, auditor)


# -- SQLite: a read-only file or place -------------------------------------------------
#
# As root (as these tests may run) chmod 0444 does not stop a write: root
# passes every permission check. Two ways that hold for root too:
# SQLite's URI mode=ro (the file opened read-only: reads work, writes fail
# with SQLITE_READONLY), and a read-only bind mount (the kernel refuses
# every write, EROFS; a WAL reader cannot even create its -shm file there,
# so opening fails with SQLITE_CANTOPEN).


def _read_only_url(db_url: str) -> str:
    return f"sqlite:///file:{db_url.removeprefix('sqlite:///')}?mode=ro&uri=true"


@pytest.mark.sqlite_only
def test_a_read_only_file_reads_and_refuses_writes_as_store_read_only(
    db_url: str, worker: Actor, auditor: Actor
) -> None:
    with Engine.open(db_url, migrate=True) as engine:
        e = start(engine, worker)
        before = counts(engine)
    with Engine.open(_read_only_url(db_url)) as engine:
        # Every read through the API is access-logged (issue 11): a read that
        # cannot be logged is refused, not done unlogged (it fails closed).
        with pytest.raises(DatabaseReadOnly):
            engine.get(e.id, actor=READER)
        with engine.store.read() as rtx:  # the store itself still reads
            assert [r["id"] for r in rtx.list_engagements(EngagementFilter())] == [e.id]
        with pytest.raises(StoreReadOnly, match="readonly"), engine.store.write() as tx:
            tx.lock_engagement(e.id)
            tx.insert_access(_big_access_entry())
        with pytest.raises(StoreReadOnly):
            engine.store.audit().insert_access([_big_access_entry()])
        assert counts(engine) == before
    with Engine.open(db_url) as engine:
        assert counts(engine) == before
    _verified(db_url, auditor)


@pytest.mark.sqlite_only
def test_a_fire_on_a_read_only_file_is_database_read_only(db_url: str, worker: Actor, auditor: Actor) -> None:
    with Engine.open(db_url, migrate=True) as engine:
        e = start(engine, worker)
        before = counts(engine)
    with Engine.open(_read_only_url(db_url)) as engine, pytest.raises(DatabaseReadOnly) as info:
        engine.fire(e.id, "make_contact", actor=worker)
    assert "kan kun læses" in info.value.message("da") and "read-only" in str(info.value)
    with Engine.open(db_url) as engine:
        assert counts(engine) == before
    _verified(db_url, auditor)


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a writable folder, the same folder mounted read-only); skipped where
    bind mounts are not allowed (not root, or no CAP_SYS_ADMIN)."""
    source, target = tmp_path / "rw", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    mounted = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"bind mounts are not allowed here: {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True, capture_output=True)
        yield source, target
    finally:
        subprocess.run(["umount", str(target)], check=False, capture_output=True)


@pytest.mark.sqlite_only
def test_a_database_on_a_read_only_mount_is_store_read_only_even_to_read(
    db_url: str, read_only_mount: tuple[Path, Path], worker: Actor, auditor: Actor
) -> None:
    source, target = read_only_mount
    url = f"sqlite:///{source / 'forloeb.db'}"
    with Engine.open(url, migrate=True) as engine:
        start(engine, worker)
        before = counts(engine)
    with pytest.raises(StoreReadOnly, match="unable to open database file"):
        SqlStore.open(f"sqlite:///{target / 'forloeb.db'}")
    _verified(url, auditor)
    with Engine.open(url) as engine:
        assert counts(engine) == before


@pytest.mark.sqlite_only
def test_opening_a_database_on_a_read_only_mount_is_database_read_only(
    db_url: str, read_only_mount: tuple[Path, Path], worker: Actor
) -> None:
    source, target = read_only_mount
    Engine.open(f"sqlite:///{source / 'forloeb.db'}", migrate=True).close()
    with pytest.raises(DatabaseReadOnly):
        Engine.open(f"sqlite:///{target / 'forloeb.db'}")


def test_sqlite_codes_become_store_faults_and_data_errors_stay_the_drivers(tmp_path: Path) -> None:
    def error(message: str, code: int) -> sqlite3.Error:
        exc = sqlite3.OperationalError(message)
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    assert isinstance(sqlite_fault(error("database is locked", 5), None), StoreBusy)
    assert isinstance(sqlite_fault(error("database or disk is full", 13), None), StoreFull)
    # An extended code (SQLITE_READONLY_DBMOVED) counts by its primary code.
    assert isinstance(
        sqlite_fault(error("attempt to write a readonly database", 8 | (4 << 8)), None), StoreReadOnly
    )
    # Cannot open: read-only where the place cannot be written, unavailable where it can.
    writable = str(tmp_path / "x.db")
    assert isinstance(sqlite_fault(error("unable to open database file", 14), writable), StoreUnavailable)
    missing = str(tmp_path / "no" / "such" / "x.db")  # a wrong path is no read-only place
    assert isinstance(sqlite_fault(error("unable to open database file", 14), missing), StoreUnavailable)
    assert sqlite_fault(sqlite3.IntegrityError("UNIQUE constraint failed: events.id"), None) is None
    assert sqlite_fault(error("database disk image is malformed", 11), None) is None


def test_database_error_maps_each_store_fault_to_its_forloeb_error() -> None:
    url = "sqlite:///forloeb.db"
    cases = {
        StoreUnavailable("gone"): DatabaseUnavailable,
        StoreBusy("database is locked"): DatabaseBusy,
        StoreFull("database or disk is full"): StorageFull,
        StoreReadOnly("attempt to write a readonly database"): DatabaseReadOnly,
    }
    for fault, kind in cases.items():
        err = database_error(url, fault)
        assert type(err) is kind and isinstance(err, DatabaseError)
        assert err.url == url and err.detail == str(fault)
        for lang in ("da", "en"):
            text = err.message(lang)
            assert url in text and str(fault) in text and "\n" not in text
    # DatabaseUnavailable keeps its constructor and texts.
    assert str(DatabaseUnavailable("u", "d")) == "Cannot connect to the database u: d"
    assert issubclass(StoreFault, Exception) and not issubclass(DatabaseError, StoreFault)


# -- PostgreSQL: a network that stops delivering ------------------------------------------


class StallingProxy:
    """A TCP proxy on localhost that can stop forwarding, in both directions,
    without closing anything: what a network that silently drops packets
    looks like to the client (its own kernel still accepts what it sends)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while not self._closed:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            self._flowing.wait()  # held, as if lost, until the network comes back
            try:
                dst.sendall(data)
            except OSError:
                return

    def stall(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed = True
        self._flowing.set()
        self._server.close()
        for s in self._sockets:
            s.close()


@pytest.fixture
def proxy(pg_url: str) -> Iterator[StallingProxy]:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url)
    p = StallingProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield p
    finally:
        p.close()


def _through(pg_url: str, proxy: StallingProxy, query: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    return f"{url}?{query}" if query else url


@pytest.mark.postgresql
def test_a_statement_into_a_stalled_network_fails_within_the_statement_timeout(
    pg_url: str, proxy: StallingProxy, worker: Actor, auditor: Actor
) -> None:
    url = _through(pg_url, proxy, "statement_timeout=2")
    limit = 2 + _pg.CLIENT_GRACE + 1.0  # the watchdog's deadline, its tick, and slack
    with Engine.open(url) as engine:
        e = start(engine, worker)
        fresh = start(engine, worker, subject="sag-2")  # a second pooled connection's worth of work
        proxy.stall()
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="no answer from the database within 3 s"):
            engine.fire(e.id, "make_contact", actor=worker)
        assert time.monotonic() - began < limit
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            engine.get(
                fresh.id, actor=READER
            )  # a read: the same bound (or the connect timeout for a new one)
        assert time.monotonic() - began < 12
        proxy.resume()
        # The cut connections were dropped; the engine works again, and the
        # failed fire left nothing behind.
        assert engine.get(e.id, actor=READER).state == "referral"
        assert engine.fire(e.id, "make_contact", actor=worker).version == 2
    with Engine.open(pg_url) as engine:
        assert engine.audit.verify(auditor).ok


@pytest.mark.postgresql
def test_server_connections_carry_the_statement_timeout_and_keepalives(pg_url: str) -> None:
    store = SqlStore.open(f"{pg_url}?statement_timeout=4.5&keepalives_idle=7")
    try:
        with store.sa_engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "4500ms"
            params = conn.connection.driver_connection.info.get_parameters()  # type: ignore[union-attr]
        assert params["keepalives"] == "1"
        assert params["keepalives_idle"] == "7"  # the URL's value wins over the default
        assert params["keepalives_interval"] == str(_pg.LIBPQ_DEFAULTS["keepalives_interval"])
        assert params["tcp_user_timeout"] == str(_pg.LIBPQ_DEFAULTS["tcp_user_timeout"])
    finally:
        store.close()
    store = SqlStore.open(f"{pg_url}?statement_timeout=0")
    try:
        with store.sa_engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
        assert store._watchdog is None
    finally:
        store.close()
    with pytest.raises(StoreUnavailable, match="statement_timeout"):
        SqlStore.open(f"{pg_url}?statement_timeout=soon")


@pytest.mark.postgresql
def test_a_lock_wait_past_the_statement_timeout_is_store_busy(pg_url: str, worker: Actor) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    with Engine.open(pg_url) as engine:
        e = start(engine, worker)
        before = counts(engine)
    other = create_engine(pg_url, poolclass=NullPool)
    store = SqlStore.open(f"{pg_url}?statement_timeout=1")
    try:
        with other.connect() as conn, conn.begin():
            conn.exec_driver_sql("SELECT id FROM engagements WHERE id = %(id)s FOR UPDATE", {"id": e.id})
            began = time.monotonic()
            with pytest.raises(StoreBusy, match="statement timeout"), store.write() as tx:
                tx.lock_engagement(e.id)
            assert time.monotonic() - began < 1 + _pg.CLIENT_GRACE
        # The server cancelled the statement: the connection stays usable.
        with store.write() as tx:
            assert tx.lock_engagement(e.id) is not None
        assert {k: v for k, v in store.row_counts().items() if k in before} == before
    finally:
        store.close()
        other.dispose()


@pytest.mark.postgresql
def test_a_fire_waiting_past_the_statement_timeout_is_database_busy(pg_url: str, worker: Actor) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    with Engine.open(pg_url) as engine:
        e = start(engine, worker)
    other = create_engine(pg_url, poolclass=NullPool)
    try:
        with (
            other.connect() as conn,
            conn.begin(),
            Engine.open(f"{pg_url}?statement_timeout=1") as engine,
        ):
            conn.exec_driver_sql("SELECT id FROM engagements WHERE id = %(id)s FOR UPDATE", {"id": e.id})
            with pytest.raises(DatabaseBusy):
                engine.fire(e.id, "make_contact", actor=worker)
    finally:
        other.dispose()


# -- the access log's insert is a write like any other --------------------------------


@pytest.mark.sqlite_only
@pytest.mark.empty_register  # no register entries, and so no access-log entries, to start with
def test_an_access_log_entry_on_a_read_only_file_is_store_read_only(db_url: str) -> None:
    Engine.open(db_url, migrate=True).close()
    store = SqlStore.open(_read_only_url(db_url))
    try:
        with pytest.raises(StoreReadOnly):
            store.audit().insert_access_page(
                {"occurred_at": datetime.now(UTC), "actor": "anna", "role": "worker", "action": "search"},
                [{"id": 1, "subject": "sag-1"}],
            )
        with store.sa_engine.connect() as conn:
            assert conn.execute(select(access_log.c.id)).first() is None
    finally:
        store.close()
