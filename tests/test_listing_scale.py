"""Listing at scale, at the store: pages in the order an index serves, keyset
cursors, plans that read the page and not the table, and one access-log
entry per page (issue 9, item 6).

Timings are the benchmark's (``bench/bench_listing.py``), not a test's: here
the plans are checked instead (a page is an index range scan without a sort),
which is what makes a page cost the same at 10,000 and 100,000 engagements.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import READER, start
from sqlalchemy import select

from forloeb import Actor, Engine
from forloeb.persistence import SCHEMA_HEAD, AccessQuery, EngagementFilter, EventQuery, SqlStore
from forloeb.persistence._hotpath import SqlText
from forloeb.persistence._migrate import upgrade
from forloeb.persistence._tables import access_log, engagements, events

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
RARE = "sjælden"
ACTORS = ("anna", "bo", "carl", "dina", *(f"medarbejder{i:02d}" for i in range(16)))


def _engagement(i: int) -> dict[str, Any]:
    created = NOW - timedelta(days=100) + timedelta(minutes=i)
    # Every third is stale; due times repeat (i % 7), so pages must break ties by id.
    due = NOW - timedelta(hours=1 + i % 7) if i % 3 == 0 else NOW + timedelta(days=1 + i % 5)
    return {
        "id": i,
        "workflow": "individual_course",
        "workflow_version": 1,
        "state": "first_contact",
        "paused_from": None,
        "closed_from": None,
        "cycle": 1,
        "subject": f"sag-{i:05d}",
        "source": "skole",
        "assignee": ACTORS[i % len(ACTORS)],
        "supervisor": "leder",
        "team": None,
        "tags": [],
        "data": {},
        "version": 2,
        "head_hash": "0" * 64,
        "created_at": created,
        "updated_at": created,
        "stage_entered_at": created,
        "stage_due_at": due,
        "due_remaining_s": None,
        "reminder_epoch": None,
        "next_reminder_at": due,
        "outcome": None,
        # Issue 13's reporting attributes: none recorded.
        **dict.fromkeys(("person_key", "age_band", "gender", "afdeling")),
    }


def _events_of(i: int) -> Iterator[dict[str, Any]]:
    created = NOW - timedelta(days=100) + timedelta(minutes=i)
    for seq in (1, 2):
        yield {
            "id": 2 * i + seq - 2,
            "engagement_id": i,
            "seq": seq,
            "type": "started" if seq == 1 else "transition",
            "trigger": "start" if seq == 1 else "make_contact",
            "from_state": None if seq == 1 else "referral",
            "to_state": "referral" if seq == 1 else "first_contact",
            # One actor with few events (10 in 3,000 engagements): the index must
            # serve a rare actor without reading everyone's events.
            "actor": RARE if seq == 2 and i % 300 == 0 else ACTORS[(i + seq) % len(ACTORS)],
            "role": "worker",
            "payload": {},
            # Ties in time too: pages by actor must break them by id.
            "occurred_at": created - timedelta(minutes=i % 3),
            "prev_hash": "0" * 64,
            "hash": "0" * 64,
        }


def bulk(url: str, n: int) -> None:
    """``n`` engagements with two events each, inserted with the store's value
    encoding in a few statements (the engine one by one would take minutes)."""
    Engine.open(url, migrate=True).close()
    store = SqlStore.open(url)
    try:
        sql = SqlText(store.dialect)
        p = (lambda c: f":{c}") if store.dialect == "sqlite" else (lambda c: f"%({c})s")

        def insert(table: Any) -> str:
            cols = [c.name for c in table.c]
            return f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join(p(c) for c in cols)})"

        raw = store.sa_engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            cur = driver.cursor()
            if store.dialect == "sqlite":
                cur.execute("BEGIN")  # the store's connections autocommit: one transaction, not 3n
            ids = range(1, n + 1)
            cur.executemany(insert(engagements), [sql.encode(_engagement(i)) for i in ids])
            cur.executemany(insert(events), [sql.encode(e) for i in ids for e in _events_of(i)])
            if store.dialect == "postgresql":
                cur.execute("SELECT setval('engagements_id_seq', %(n)s)", {"n": n})
                cur.execute("SELECT setval('events_id_seq', %(n)s)", {"n": 2 * n})
            cur.execute("ANALYZE")
            driver.commit()
        finally:
            raw.close()
    finally:
        store.close()


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    bulk(db_url, 3000)
    s = SqlStore.open(db_url)
    try:
        yield s
    finally:
        s.close()


def _pages(fetch: Any, key: Any, size: int) -> list[list[Any]]:
    pages: list[list[Any]] = []
    after = None
    while True:
        rows = fetch(after, size)
        if not rows:
            return pages
        pages.append(rows)
        after = key(rows[-1])


def test_pages_by_id_with_a_cursor_are_the_listing_in_id_order(store: SqlStore) -> None:
    with store.read() as tx:
        everything = [r["id"] for r in tx.list_engagements(EngagementFilter())]
        pages = _pages(
            lambda after, n: [
                r["id"] for r in tx.list_engagements(EngagementFilter(after_id=after, limit=n))
            ],
            lambda last: last,
            700,
        )
        # The old way (offset) still works and agrees.
        by_offset = [r["id"] for r in tx.list_engagements(EngagementFilter(offset=700, limit=700))]
        filtered = [
            r["id"] for r in tx.list_engagements(EngagementFilter(assignee="bo", after_id=1500, limit=5))
        ]
    assert everything == list(range(1, 3001))
    assert [i for page in pages for i in page] == everything
    assert [len(p) for p in pages] == [700, 700, 700, 700, 200]
    assert by_offset == pages[1]
    assert filtered == [1501, 1521, 1541, 1561, 1581]


def test_stale_pages_come_in_due_time_order_with_ties_broken_by_id(store: SqlStore) -> None:
    def page(after: tuple[datetime, int] | None, n: int) -> list[tuple[datetime, int]]:
        with store.read() as tx:
            rows = tx.list_engagements(
                EngagementFilter(due_before=NOW, order="due", after_due=after, limit=n)
            )
        return [(r["stage_due_at"], r["id"]) for r in rows]

    pages = _pages(page, lambda last: last, 64)
    got = [key for p in pages for key in p]
    expected = sorted(
        (e["stage_due_at"], e["id"]) for e in map(_engagement, range(1, 3001)) if e["stage_due_at"] <= NOW
    )
    assert got == expected
    assert len(got) == 1000
    assert all(len(p) == 64 for p in pages[:-1])


def test_an_actors_events_page_by_time_with_a_cursor_in_both_directions(store: SqlStore) -> None:
    audit = store.audit()
    everything = audit.query_events(EventQuery(actor="carl"))
    assert len(everything) == 290  # 300, less the 10 of the rare actor
    keys = [(r["occurred_at"], r["id"]) for r in everything]
    assert keys == sorted(keys)
    for descending in (False, True):
        pages = _pages(
            lambda after, n, d=descending: audit.query_events(
                EventQuery(actor="carl", after=after, limit=n, descending=d)
            ),
            lambda last: (last["occurred_at"], last["id"]),
            40,
        )
        got = [(r["occurred_at"], r["id"]) for p in pages for r in p]
        assert got == (keys[::-1] if descending else keys)


def _plan(store: SqlStore, stmt: Any) -> str:
    """The query plan of ``stmt``, as text (EXPLAIN QUERY PLAN / EXPLAIN)."""
    compiled = stmt.compile(dialect=store.sa_engine.dialect)
    with store.sa_engine.connect() as conn:
        if store.dialect == "sqlite":
            params = tuple(compiled.params[k] for k in compiled.positiontup or ())
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params or compiled.params)
            return "\n".join(str(r[-1]) for r in rows)
        rows = conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        return "\n".join(str(r[0]) for r in rows)


def _statements(store: SqlStore, run: Any) -> list[Any]:
    """The SELECTs ``run`` sends through SQLAlchemy (to EXPLAIN them)."""
    from sqlalchemy import event

    seen: list[Any] = []

    def before(conn: Any, clauseelement: Any, *args: Any) -> None:
        seen.append(clauseelement)

    event.listen(store.sa_engine, "before_execute", before)
    try:
        run()
    finally:
        event.remove(store.sa_engine, "before_execute", before)
    return [s for s in seen if getattr(s, "is_select", False)]


def _uses_index_without_sorting(plan: str, index: str, dialect: str) -> None:
    assert index in plan, plan
    if dialect == "sqlite":
        assert "TEMP B-TREE" not in plan, plan  # no sort of the matching rows
    else:
        # An index scan under the LIMIT; an incremental sort only orders
        # rows of equal time by id (what the index already groups). No
        # "Sort" node (a "Sort Key:" line belongs to the incremental sort).
        assert not any(re.match(r"(->\s+)?Sort\s+\(", line.strip()) for line in plan.splitlines()), plan


def test_a_stale_page_is_a_range_scan_of_the_due_time_index(store: SqlStore) -> None:
    def run() -> None:
        with store.read() as tx:
            tx.list_engagements(EngagementFilter(due_before=NOW, order="due", limit=50))
            mid = NOW - timedelta(hours=4)
            tx.list_engagements(
                EngagementFilter(due_before=NOW, order="due", after_due=(mid, 1500), limit=50)
            )

    with store.sa_engine.connect() as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    for stmt in _statements(store, run):
        _uses_index_without_sorting(_plan(store, stmt), "ix_engagements_stage_due_at", store.dialect)


def test_an_actors_page_reads_an_index_in_time_order_without_sorting_their_events(store: SqlStore) -> None:
    """SQLite reads the (actor, occurred_at, id) index for every actor.
    PostgreSQL chooses by cost: for an actor with many events an index in
    time order (the actor's, or the time index skipping others' events: a
    page stops after its rows), never a sort of all of the actor's events;
    for a rare actor the actor's index."""
    audit = store.audit()
    for actor in ("anna", RARE):
        rows = audit.query_events(EventQuery(actor=actor, limit=6))
        middle = rows[-1]
        after = (middle["occurred_at"], middle["id"])

        def run(actor: str = actor, after: tuple[datetime, int] = after) -> None:
            audit.query_events(EventQuery(actor=actor, limit=51))
            audit.query_events(EventQuery(actor=actor, after=after, limit=51))
            audit.query_events(EventQuery(actor=actor, after=after, limit=51, descending=True))

        for stmt in _statements(store, run):
            plan = _plan(store, stmt)
            if store.dialect == "sqlite":
                _uses_index_without_sorting(plan, "ix_events_actor_occurred_at_id", store.dialect)
            elif actor == RARE:
                # Its ten events found through its index (sorting ten rows is cheap).
                assert "ix_events_actor_occurred_at_id" in plan, plan
            else:
                _uses_index_without_sorting(plan, "ix_events_", store.dialect)
    assert len(audit.query_events(EventQuery(actor=RARE))) == 10


# -- the access log: one entry per page ---------------------------------------------------


@pytest.mark.empty_register  # the store's own entries only
def test_a_page_is_one_access_log_entry_that_a_subjects_access_request_finds(store: SqlStore) -> None:
    audit = store.audit()
    with store.read() as tx:
        page = tx.list_engagements(EngagementFilter(limit=50))
    entry = {
        "occurred_at": NOW,
        "actor": "anna",
        "role": "worker",
        "action": "search",
        "criteria": {"state": "first_contact", "limit": 50},
        "purpose": None,
    }
    audit.insert_access_page(entry, [{"id": r["id"], "subject": r["subject"]} for r in page])
    with store.sa_engine.connect() as conn:
        rows = conn.execute(select(access_log)).mappings().all()
    assert len(rows) == 1
    assert rows[0]["engagement_id"] is None and rows[0]["subject"] is None
    assert rows[0]["shown"] == [{"id": r["id"], "subject": r["subject"]} for r in page]
    # A resident's access request (by subject or by engagement) finds the page
    # that showed them, and only such pages.
    assert [r["id"] for r in audit.list_access(AccessQuery(subject="sag-00007"))] == [rows[0]["id"]]
    assert [r["id"] for r in audit.list_access(AccessQuery(engagement_id=7))] == [rows[0]["id"]]
    assert audit.list_access(AccessQuery(subject="sag-00051")) == []
    assert audit.list_access(AccessQuery(engagement_id=51)) == []
    # A value that looks like JSON or SQL is only ever compared as a value.
    assert audit.list_access(AccessQuery(subject='sag-00007"}, {"subject": "x')) == []
    assert audit.list_access(AccessQuery(subject="' OR '1'='1")) == []
    # Entries about one engagement (a read) are found as before.
    audit.insert_access(
        [{**entry, "action": "read", "criteria": None, "engagement_id": 51, "subject": "sag-00051"}]
    )
    assert [r["action"] for r in audit.list_access(AccessQuery(subject="sag-00051"))] == ["read"]
    assert [r["action"] for r in audit.list_access(AccessQuery(engagement_id=7, actor="anna"))] == ["search"]


def test_upgrading_to_0007_keeps_the_access_log_and_adds_the_page_column(empty_db_url: str) -> None:
    store = SqlStore.open(empty_db_url)
    try:
        upgrade(store.sa_engine, "0006")
        with store.sa_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO access_log (occurred_at, actor, role, action, subject)"
                " VALUES ('2026-12-01 10:00:00', 'anna', 'worker', 'read', 'sag-1')"
            )
        store.upgrade()
        assert store.schema_revision() == SCHEMA_HEAD
        rows = store.audit().list_access(AccessQuery(subject="sag-1"))
        assert [(r["actor"], r["shown"]) for r in rows] == [("anna", None)]
    finally:
        store.close()


def test_listing_20000_engagements_writes_one_access_log_row(db_url: str) -> None:
    bulk(db_url, 20_000)
    viewer = Actor("leder", ["supervisor"])
    with Engine.open(db_url) as engine:
        before = engine.row_counts()["access_log"]
        shown = [e.id for e in engine.list(actor=viewer)]
        assert 0 < len(shown) <= 50  # a page, not the table
        assert engine.row_counts()["access_log"] == before + 1
        page_entry = engine.store.audit().list_access(AccessQuery(actor="leder"))[-1]
        assert [e["id"] for e in page_entry["shown"]] == shown


def test_the_engine_still_lists_by_offset_until_it_pages(engine: Engine, worker: Actor) -> None:
    ids = [start(engine, worker, subject=f"sag-{i}").id for i in range(5)]
    assert [e.id for e in engine.list(limit=2, offset=2, actor=READER)] == ids[2:4]
