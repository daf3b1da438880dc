#!/usr/bin/env python3
"""Listing at scale: does a page cost the page, or the table?

Builds (or reuses) a large and a small database, by default 100,000
engagements with 800,000 events and 10,000 with 80,000, and times the
listing reads on each, through the store and through the Engine API, so the
ratio large/small shows whether a page's cost follows the page (target: at
most 1.2×, and 50 ms on SQLite through the API).

Setup (not timed; cached under ``--cache``): a database migrated by the
engine, then rows bulk-inserted with ``executemany`` on the driver
connection, with the store's own value encoding (``SqlText.encode``). The
events are not valid hash chains (verify is not measured). Twenty actors
share the events (40,000 each at 100k), a third of the engagements are past
their stage's due time, spread through the ids.

Timed (median of ``--repeat`` runs after one warm-up):

* ``list``: the first page (50) by id: the store's keyset page
  (``list_engagements``), and ``Engine.list(limit=50, actor=…)`` as it is
  (it logs one access-log row per engagement shown until the engine moves
  to ``insert_access_page``).
* ``list --stale``: the store's page in due-time order on the due-time index
  (``order="due"``); and ``Engine.list(stale=True, limit=50, actor=…)``,
  which still orders by id.
* ``audit query --actor X``: the first and the tenth page (50), following the
  cursor, through ``engine.audit.query`` (paged already) and the store.
* ``history ID`` through ``Engine.history(id, actor=…)``.
* The access-log write for a page of 50: 50 rows (what ``Engine.list``
  writes today) and one row naming them (``insert_access_page``).

The CLI is not measured here (its start-up is ``forloeb --help``'s figure).

Prints one JSON line per (backend, size, measurement) and a table.
Usage: python bench/bench_listing.py [--sizes 100000,10000] [--cache DIR]
       [--pg postgresql+psycopg://user@host/maintenance_db] [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forloeb import Actor, Engine, StaffMember
from forloeb.persistence import EngagementFilter, EventQuery, SqlStore
from forloeb.persistence._hotpath import SqlText
from forloeb.persistence._tables import engagements, events

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
EVENTS_PER = 8
ACTORS = [f"medarbejder{i:02d}" for i in range(20)]
STATES = ("first_contact", "shared_path", "own_path", "action", "self_help", "rounding_off")
PAGE = 50
WORKER = Actor("medarbejder03", ["worker", "supervisor"])
AUDITOR = Actor("revisor", ["auditor"])
CHUNK = 20_000
HISTORY_ID = 777  # in every database built (the smallest has 1,000 or more)


def _engagement(i: int) -> dict[str, Any]:
    created = NOW - timedelta(days=400) + timedelta(seconds=i * 60)
    # A third stale (due before NOW), spread through the ids; the rest due later.
    due = NOW - timedelta(hours=1 + i % 997) if i % 3 == 0 else NOW + timedelta(days=1 + i % 90)
    return {
        "id": i,
        "workflow": "individual_course",
        "workflow_version": 1,
        "state": STATES[i % len(STATES)],
        "paused_from": None,
        "closed_from": None,
        "cycle": 1,
        "subject": f"sag-{i:06d}",
        "source": "skole",
        "assignee": ACTORS[i % len(ACTORS)],
        "supervisor": "leder",
        "team": ("social", "civil", None)[i % 3],
        "tags": [],
        "data": {"shared_path": {"focus": "Tryghed", "goals": "Kende naboerne", "plan": "Møde hver uge"}},
        "version": EVENTS_PER,
        "head_hash": f"{i:064x}",
        "created_at": created,
        "updated_at": created + timedelta(days=EVENTS_PER),
        "stage_entered_at": created + timedelta(days=EVENTS_PER - 1),
        "stage_due_at": due,
        "due_remaining_s": None,
        "reminder_epoch": None,
        "next_reminder_at": due,
        "outcome": None,
        # Issue 13's reporting attributes: none recorded.
        **dict.fromkeys(("person_key", "age_band", "gender", "afdeling")),
    }


def _events(i: int, first_id: int) -> Iterator[dict[str, Any]]:
    created = NOW - timedelta(days=400) + timedelta(seconds=i * 60)
    for seq in range(1, EVENTS_PER + 1):
        yield {
            "id": first_id + seq - 1,
            "engagement_id": i,
            "seq": seq,
            "type": "started" if seq == 1 else "transition",
            "trigger": "start" if seq == 1 else "note",
            "from_state": None if seq == 1 else "action",
            "to_state": "referral" if seq == 1 else "action",
            # Engagement i's events by a few actors: each actor gets 1/20 of all.
            "actor": ACTORS[(i + seq) % len(ACTORS)],
            "role": "worker",
            "payload": {"note": f"notat {seq} i forløb {i}"},
            "occurred_at": created + timedelta(days=seq - 1),
            "prev_hash": f"{seq - 1:064x}",
            "hash": f"{seq:064x}",
        }


def _insert_sql(table: Any, dialect: str) -> tuple[list[str], str]:
    cols = [c.name for c in table.c]
    marks = ", ".join(f":{c}" if dialect == "sqlite" else f"%({c})s" for c in cols)
    return cols, f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({marks})"


def build(url: str, size: int) -> None:
    """Migrate, then bulk-insert ``size`` engagements and their events."""
    with Engine.open(url, migrate=True) as engine:
        engine.staff.bootstrap(  # who lists (issue 11: the register)
            [
                StaffMember(id="it", display_name="IT", roles=frozenset({"admin"})),
                StaffMember(id=WORKER.id, display_name="Medarbejder 3", roles=WORKER.roles),
                StaffMember(id=AUDITOR.id, display_name="Revisor", roles=AUDITOR.roles),
            ]
        )
    store = SqlStore.open(url)
    try:
        sql = SqlText(store.dialect)
        _, ins_eng = _insert_sql(engagements, store.dialect)
        _, ins_ev = _insert_sql(events, store.dialect)
        raw = store.sa_engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            cur = driver.cursor()
            if store.dialect == "sqlite":
                cur.execute("PRAGMA synchronous=OFF")
            for start in range(1, size + 1, CHUNK):
                if store.dialect == "sqlite":
                    cur.execute("BEGIN")  # the store's connections autocommit
                ids = range(start, min(size, start + CHUNK - 1) + 1)
                cur.executemany(ins_eng, [sql.encode(_engagement(i)) for i in ids])
                cur.executemany(
                    ins_ev,
                    [sql.encode(e) for i in ids for e in _events(i, (i - 1) * EVENTS_PER + 1)],
                )
                driver.commit()
            if store.dialect == "postgresql":
                cur.execute("SELECT setval('engagements_id_seq', %(n)s)", {"n": size})
                cur.execute("SELECT setval('events_id_seq', %(n)s)", {"n": size * EVENTS_PER})
                driver.commit()
                driver.autocommit = True
                cur.execute("VACUUM ANALYZE")
                driver.autocommit = False
            else:
                cur.execute("ANALYZE")
                driver.commit()
        finally:
            raw.close()
    finally:
        store.close()


def _has(url: str, size: int) -> bool:
    try:
        store = SqlStore.open(url)
    except Exception:
        return False
    try:
        counts = store.row_counts()
        return counts["engagements"] == size and counts["events"] == size * EVENTS_PER
    except Exception:
        return False
    finally:
        store.close()


def _cases(engine: Engine) -> dict[str, Callable[[], object]]:
    """The measurements on one database, each a call to time."""
    store = engine.store
    audit_store = store.audit()
    actor = ACTORS[5]

    def store_list() -> object:
        with store.read() as tx:
            return tx.list_engagements(EngagementFilter(limit=PAGE))

    def store_stale() -> object:
        with store.read() as tx:
            return tx.list_engagements(EngagementFilter(due_before=NOW, order="due", limit=PAGE))

    def store_actor_pages(pages: int) -> object:
        after = None
        for _ in range(pages):
            rows = audit_store.query_events(EventQuery(actor=actor, after=after, limit=PAGE + 1))
            last = rows[PAGE - 1]
            after = (last["occurred_at"], last["id"])
        return rows

    def engine_actor_pages(pages: int) -> object:
        cursor = None
        for _ in range(pages):
            page = engine.audit.query(AUDITOR, actor=actor, limit=PAGE, cursor=cursor)
            cursor = page.next_cursor
        return page

    shown = [{"id": i, "subject": f"sag-{i:06d}"} for i in range(1, PAGE + 1)]
    entry = {"occurred_at": NOW, "actor": WORKER.id, "role": "worker", "action": "search", "criteria": None}

    def access_rows_per_engagement() -> None:
        rows = [{**entry, "engagement_id": e["id"], "subject": e["subject"], "purpose": None} for e in shown]
        audit_store.insert_access(rows)

    return {
        "store access log: a page as 50 rows (today)": access_rows_per_engagement,
        "store access log: a page as 1 row (insert_access_page)": lambda: audit_store.insert_access_page(
            {**entry, "purpose": None}, shown
        ),
        "store list (page 1)": store_list,
        "store list --stale (page 1, due order)": store_stale,
        "store audit --actor (page 1)": lambda: store_actor_pages(1),
        "store audit --actor (pages 1-10)": lambda: store_actor_pages(10),
        "engine list (page 1, access-logged)": lambda: engine.list(limit=PAGE, actor=WORKER),
        "engine list --stale (page 1, due order)": lambda: engine.list(stale=True, limit=PAGE, actor=WORKER),
        "engine audit query --actor (page 1)": lambda: engine_actor_pages(1),
        "engine audit query --actor (pages 1-10)": lambda: engine_actor_pages(10),
        "engine history ID": lambda: engine.history(HISTORY_ID, actor=WORKER),
    }


def measure(urls: dict[int, str], repeat: int) -> dict[int, dict[str, float]]:
    """Median ms per measurement and size. The sizes take turns, call by
    call, so that load from elsewhere on the machine falls on both alike and
    the ratio holds even when the absolute figures move."""
    engines = {size: Engine.open(url, clock=lambda: NOW) for size, url in urls.items()}
    try:
        cases = {size: _cases(engine) for size, engine in engines.items()}
        names = list(next(iter(cases.values())))
        out: dict[int, dict[str, float]] = {size: {} for size in urls}
        for name in names:
            times: dict[int, list[float]] = {size: [] for size in urls}
            for size in urls:
                cases[size][name]()  # warm-up: the page cache, compiled statements
            for _ in range(repeat):
                for size in urls:
                    t0 = time.perf_counter()
                    cases[size][name]()
                    times[size].append((time.perf_counter() - t0) * 1000)
            for size in urls:
                out[size][name] = statistics.median(times[size])
        return out
    finally:
        for engine in engines.values():
            engine.close()


def _pg_database(maintenance: str, size: int) -> str:
    """A database per size on the server (created once, then reused)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    name = f"forloeb_bench_listing_{size}"
    admin = create_engine(maintenance, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}
            ).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return make_url(maintenance).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,10000", help="engagements per database, comma-separated")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "forloeb-bench-listing"))
    parser.add_argument("--pg", help="a PostgreSQL maintenance URL: also measure there")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true", help="build even if a cached database exists")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)

    backends: list[tuple[str, Callable[[int], str]]] = [
        ("sqlite", lambda n: f"sqlite:///{cache / f'listing-{n}.db'}")
    ]
    if args.pg:
        backends.append(("postgresql", lambda n: _pg_database(args.pg, n)))

    results: dict[tuple[str, int], dict[str, float]] = {}
    for backend, url_of in backends:
        urls = {size: url_of(size) for size in sizes}
        for size, url in urls.items():
            if args.rebuild or not _has(url, size):
                if backend == "sqlite":
                    (cache / f"listing-{size}.db").unlink(missing_ok=True)
                t0 = time.perf_counter()
                build(url, size)
                print(f"# built {backend} {size:,} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        for size, figures in measure(urls, args.repeat).items():
            results[backend, size] = figures
            for name, ms in figures.items():
                line = {"backend": backend, "engagements": size, "measure": name, "ms": round(ms, 3)}
                print(json.dumps(line))

    big, small = max(sizes), min(sizes)
    print(f"\n| backend | measure | {big:,} ms | {small:,} ms | ratio |")
    print("|---|---|---|---|---|")
    for backend, _ in backends:
        for name, ms in results[backend, big].items():
            base = results[backend, small][name]
            print(f"| {backend} | {name} | {ms:.2f} | {base:.2f} | {ms / base:.2f}× |")


if __name__ == "__main__":
    main()
