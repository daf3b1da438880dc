"""Optimistic concurrency with real threads and processes on one database, every backend (invariant 3)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from typing import Any

import pytest
from helpers import FIRST_CONTACT, READER, start
from sqlalchemy import select

from forloeb import Actor, ConcurrencyError, Engine, TransitionNotAllowed
from forloeb.engine import GENESIS, event_hash
from forloeb.persistence._tables import events

THREADS = 8
ATTEMPTS = 25


def _assert_gapless(engine: Engine, engagement_id: int, n: int) -> None:
    history = engine.history(engagement_id, actor=READER)
    assert [e.seq for e in history] == list(range(1, n + 1))
    assert engine.get(engagement_id, actor=READER).version == n
    prev = GENESIS
    for e in history:
        assert e.prev_hash == prev
        prev = e.hash
    assert engine.get(engagement_id, actor=READER).head_hash == prev


def _run_threads(target: object, n: int = THREADS) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def wrapped(i: int) -> None:
        try:
            barrier.wait()
            target(i)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def test_expected_version_serialises_writers(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    results: Counter[str] = Counter()
    lock = threading.Lock()

    def work(i: int) -> None:
        version = engine.get(e.id, actor=READER).version
        for attempt in range(ATTEMPTS):
            try:
                got = engine.add_note(
                    e.id, f"tråd {i} forsøg {attempt}", actor=worker, expected_version=version
                )
            except ConcurrencyError as exc:
                assert exc.expected == version
                assert exc.actual is not None and exc.actual > version
                with lock:
                    results["conflict"] += 1
                version = engine.get(e.id, actor=READER).version
            else:
                assert got.version == version + 1
                with lock:
                    results["ok"] += 1
                version = got.version

    errors = _run_threads(work)
    assert errors == []
    assert results["ok"] + results["conflict"] == THREADS * ATTEMPTS
    assert results["ok"] >= ATTEMPTS  # at least one thread's worth of progress
    n = 1 + results["ok"]
    assert engine.row_counts()["events"] == n
    _assert_gapless(engine, e.id, n)
    notes = [ev.data["text"] for ev in engine.history(e.id, actor=READER) if ev.type == "note"]
    assert len(notes) == len(set(notes)) == results["ok"]


def test_one_trigger_fired_by_many_threads_wins_once(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            engine.fire(e.id, "make_contact", actor=worker, data={"reason": f"tråd {i}"})
        except TransitionNotAllowed as exc:
            assert exc.state == "first_contact"
            with lock:
                outcomes.append("refused")
        else:
            with lock:
                outcomes.append("ok")

    errors = _run_threads(work)
    assert errors == []
    assert sorted(outcomes) == ["ok"] + ["refused"] * (THREADS - 1)
    assert engine.get(e.id, actor=READER).state == "first_contact"
    assert engine.row_counts()["events"] == 2
    _assert_gapless(engine, e.id, 2)


def test_stale_expected_version_under_threads_exactly_one_wins(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            engine.record_details(e.id, {"referred_by": f"tråd {i}"}, actor=worker, expected_version=1)
        except ConcurrencyError as exc:
            assert (exc.expected, exc.actual) == (1, 2)
            with lock:
                outcomes.append("conflict")
        else:
            with lock:
                outcomes.append("ok")

    errors = _run_threads(work)
    assert errors == []
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["ok"]
    _assert_gapless(engine, e.id, 2)


def test_threads_on_distinct_engagements_all_succeed(engine: Engine, worker: Actor) -> None:
    ids: dict[int, int] = {}
    lock = threading.Lock()

    def work(i: int) -> None:
        e = start(engine, worker, subject=f"sag-{i}")
        for trigger, data in (("make_contact", None), ("agree_shared_path", FIRST_CONTACT)):
            e = engine.fire(e.id, trigger, actor=worker, data=data, expected_version=e.version)
        for k in range(10):
            e = engine.add_note(e.id, f"{i}-{k}", actor=worker, expected_version=e.version)
        with lock:
            ids[i] = e.id

    errors = _run_threads(work)
    assert errors == []
    assert len(ids) == THREADS and len(set(ids.values())) == THREADS
    for engagement_id in ids.values():
        assert engine.get(engagement_id, actor=READER).state == "shared_path"
        _assert_gapless(engine, engagement_id, 13)
    assert engine.row_counts()["events"] == THREADS * 13


def test_concurrent_idempotent_starts_create_one_engagement(engine: Engine, worker: Actor) -> None:
    got: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        e = engine.start(
            "individual_course", subject="sag-1", source="skole", actor=worker, idempotency_key="start-once"
        )
        with lock:
            got.append(e.id)

    errors = _run_threads(work)
    assert errors == []
    assert len(set(got)) == 1
    assert engine.row_counts()["engagements"] == 1
    assert engine.row_counts()["events"] == 1


# -- several processes ----------------------------------------------------------------

PROCESSES = 3
NOTES_PER_PROCESS = 30


def _add_notes(url: str, key: str, engagement_id: int, who: int, n: int, barrier: Any, results: Any) -> None:
    """Runs in a child process: its own Engine on the same file, retrying on conflicts."""
    actor = Actor(f"proc-{who}", ["worker"])
    conflicts = 0
    try:
        with Engine.open(url, audit_key=key) as engine:
            barrier.wait(timeout=60)  # all processes write at the same time
            done = 0
            version = engine.get(engagement_id, actor=READER).version
            while done < n:
                try:
                    e = engine.add_note(
                        engagement_id, f"p{who}-{done}", actor=actor, expected_version=version
                    )
                except ConcurrencyError:
                    conflicts += 1
                    version = engine.get(engagement_id, actor=READER).version
                else:
                    version = e.version
                    done += 1
    except BaseException as exc:
        results.put((who, f"error: {exc!r}"))
        raise
    results.put((who, conflicts))


@pytest.mark.slow
def test_several_processes_append_gaplessly(db_url: str, worker: Actor) -> None:
    with Engine.open(db_url, migrate=True, audit_key="proc-key") as engine:
        e = start(engine, worker)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    processes = [
        ctx.Process(
            target=_add_notes,
            args=(db_url, "proc-key", e.id, who, NOTES_PER_PROCESS, barrier, results),
        )
        for who in range(PROCESSES)
    ]
    for p in processes:
        p.start()
    outcomes = dict(results.get(timeout=120) for _ in processes)
    for p in processes:
        p.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * PROCESSES, outcomes
    assert all(isinstance(c, int) for c in outcomes.values()), outcomes
    n = 1 + PROCESSES * NOTES_PER_PROCESS
    with Engine.open(db_url, audit_key="proc-key") as engine:
        _assert_gapless(engine, e.id, n)
        by_actor = Counter(ev.actor for ev in engine.history(e.id, actor=READER))
        assert by_actor == {"anna": 1, **{f"proc-{w}": NOTES_PER_PROCESS for w in range(PROCESSES)}}
        # The chain verifies with the key the processes wrote it with.
        with engine.store.sa_engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.seq))]
        assert [r["seq"] for r in rows] == list(range(1, n + 1))
        prev = GENESIS
        for row in rows:
            assert row["prev_hash"] == prev
            assert event_hash(row, b"proc-key") == row["hash"]
            prev = row["hash"]


@pytest.mark.sqlite_only
def test_threads_that_end_do_not_leave_open_write_connections(
    engine: Engine, worker: Actor, db_url: str
) -> None:
    """Each thread writes on its own SQLite connection; a server whose threads
    come and go must not pile up open database files."""
    import gc
    import os

    path = os.path.realpath(db_url.removeprefix("sqlite:///"))

    def open_files() -> int:
        fds = os.listdir("/proc/self/fd")
        return sum(1 for fd in fds if _fd_target(fd) == path)

    e = start(engine, worker)
    before = open_files()
    for round_ in range(5):
        threads = [
            threading.Thread(target=engine.add_note, args=(e.id, f"runde {round_}"), kwargs={"actor": worker})
            for _ in range(10)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert engine.get(e.id, actor=READER).version == 51
    # A thread's locals are released shortly after join() returns (when the
    # interpreter drops the thread's state): poll briefly. SQLite keeps a
    # closed connection's descriptor for reuse while other connections hold
    # the file (POSIX locks are per process), so what is bounded is the peak
    # number of threads writing at once (10), not the 50 threads that wrote.
    deadline = time.monotonic() + 5
    while open_files() > before + 10 and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    assert open_files() <= before + 10


def _fd_target(fd: str) -> str | None:
    import os

    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
