#!/usr/bin/env python3
"""The yearly report and the caseload view at scale (issue 13).

Builds (or reuses) databases of 100,000 and 10,000 engagements with about
ten events each (1,000,000 and 100,000): both methods, every stage, every
ending (goal reached, partly, not reached, referred on, handed over), a
reassignment, reporting attributes and group fields, activities, self-help
levels and notes, spread over 2025-07 … 2026-12. Rows are bulk-inserted with
the store's own value encoding (as ``bench_listing.py`` does); the chains are
not valid hash chains (verify is not measured).

Timed (median of ``--repeat`` runs after one warm-up), on SQLite and, with
``--pg``, PostgreSQL:

* ``floor``: the least any report computed from the event log must pay: the
  driver's cursor fetching (engagement_id, seq, type, occurred_at) of every
  event before the cutoff, doing nothing with them;
* ``report``: ``engine.caseload.report`` for 2026 (replay and figures, one
  access-log entry), then each format rendered from it: ``table``, ``csv``,
  ``json`` and ``html`` (matplotlib, inline SVG);
* ``caseload``: ``engine.caseload.overview`` (a GROUP BY on the engagement rows).

Targets: the yearly report within 2 s on SQLite, the caseload within 300 ms;
the cost from 10k to 100k at most linear in the events (ratio ~10 for 10x).

Usage: python bench/bench_report.py [--sizes 100000,10000] [--cache DIR]
       [--pg postgresql+psycopg://postgres@127.0.0.1/postgres] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forloeb import Actor, Engine, StaffMember
from forloeb.cli._render import to_json
from forloeb.cli._report import as_csv, as_table
from forloeb.persistence import SqlStore
from forloeb.persistence._hotpath import SqlText
from forloeb.persistence._tables import engagements, events

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
FIRST = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
SPAN_DAYS = 520
WORKERS = [f"medarbejder{i:02d}" for i in range(20)]
TEAMS = ("social", "civil", "familie", "beskaeftigelse")
AREAS = (
    "uddannelse_livschancer",
    "beskaeftigelse",
    "kriminalitetsforebyggelse",
    "sammenhaengskraft_medborgerskab",
)
PATH = (
    ("make_contact", "first_contact"),
    ("agree_shared_path", "shared_path"),
    ("set_own_path", "own_path"),
    ("act", "action"),
    ("reach_self_help", "self_help"),
    ("round_off", "rounding_off"),
)
LEADER = Actor("leder", ["supervisor"])
CHUNK = 10_000


def _course(i: int, size: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Engagement ``i``: its row and its events."""
    civil = i % 4 == 0
    workflow = "civil_society" if civil else "individual_course"
    created = FIRST + timedelta(seconds=int(i * SPAN_DAYS * 86400 / size))
    team, worker = TEAMS[i % 4], WORKERS[i % 20]
    evs: list[dict[str, Any]] = []
    at = created

    def add(type_: str, trigger: str | None, frm: str | None, to: str, payload: dict[str, Any]) -> None:
        evs.append(
            {
                "engagement_id": i,
                "seq": len(evs) + 1,
                "type": type_,
                "trigger": trigger,
                "from_state": frm,
                "to_state": to,
                "actor": worker,
                "role": "worker",
                "payload": payload,
                "occurred_at": at,
                "prev_hash": f"{len(evs):064x}",
                "hash": f"{len(evs) + 1:064x}",
            }
        )

    source = ("foreninger", "grupper")[i % 2] if civil else ("skole", "jobcenter", "beboer_selv")[i % 3]
    area = AREAS[i % 4]
    add("started", "start", None, "referral",
        {"subject": f"sag-{i}", "source": source, "assignee": worker, "supervisor": "leder", "team": team,
         "tags": [area], "data": {"reason": "Henvendelse"}})  # fmt: skip
    attrs: dict[str, Any] = {}
    if civil:
        add("fields", None, None, "referral", {"data": {"participants": 5 + i % 30, "volunteers": i % 4}})
    else:
        attrs = {
            "person_key": f"P-{i % (size * 9 // 10):012x}",  # a tenth share a person with another
            "age_band": ("13-17", "18-24", "25-39", "40-64")[i % 4],
            "gender": ("kvinde", "mand")[i % 2],
        }
        add("reporting", None, None, "referral", {"set": attrs, "from": dict.fromkeys(attrs)})
    state, steps = "referral", i % 8
    for trigger, dest in PATH[: min(steps, 6)]:
        at += timedelta(days=3 + i % 11)
        add("transition", trigger, state, dest, {"data": {"level": "can"} if trigger == "round_off" else {}})
        state = dest
        if dest == "action":
            for kind in ("investigate", "collaborate"):
                at += timedelta(days=2)
                add(
                    "activity",
                    None,
                    None,
                    state,
                    {"kind": kind, "with_whom": ["jobcenter"], "description": None},
                )
            add("self_help", None, None, state, {"level": "wants"})
        if dest == "shared_path":
            add("note", None, None, state, {"text": "Samtale med familien om skolegang og fritid " * 3})
    if i % 13 == 0:
        at += timedelta(days=1)
        new_team = TEAMS[(i + 1) % 4]
        moved = {
            "set": {"team": new_team},
            "from": {"team": team},
            "via": "supervisor",
            "reason": "Omfordeling",
        }
        add("reassigned", None, None, state, moved)
        team = new_team
    outcome = None
    if steps == 7:
        at += timedelta(days=5)
        ending = i % 5
        if ending == 3:
            referral = {"data": {"referred_to": "jobcenter", "reason": "Job"}, "outcome": "referred_on"}
            add("transition", "refer_on", state, "referred_on", referral)
            state, outcome = "referred_on", "referred_on"
        elif ending == 4 and not civil:
            basis = {"receiver": "socialcenter", "legal_basis": "serviceloven § 11"}
            add("transition", "hand_over", state, "handed_over", {"data": basis, "outcome": "handed_over"})
            state, outcome = "handed_over", "handed_over"
        else:
            outcome = ("goal_reached", "partly_reached", "not_reached")[ending % 3]
            add("transition", "close", state, "closed", {"data": {"status": "ok"}, "outcome": outcome})
            state = "closed"
    final = state in ("closed", "referred_on", "handed_over")
    row = {
        "id": i,
        "workflow": workflow,
        "workflow_version": 2,
        "state": state,
        "paused_from": None,
        "closed_from": "rounding_off" if final else None,
        "cycle": 1,
        "subject": f"sag-{i:06d}",
        "source": source,
        "assignee": worker,
        "supervisor": "leder",
        "team": team,
        "tags": [area],
        "data": {},
        "version": len(evs),
        "head_hash": evs[-1]["hash"],
        "created_at": created,
        "updated_at": at,
        "stage_entered_at": at,
        "stage_due_at": None if final else at + timedelta(days=20),
        "due_remaining_s": None,
        "reminder_epoch": None,
        "next_reminder_at": None if final else at + timedelta(days=20),
        "outcome": outcome,
        "person_key": attrs.get("person_key"),
        "age_band": attrs.get("age_band"),
        "gender": attrs.get("gender"),
        "afdeling": None,
    }
    return row, evs


def _insert_sql(table: Any, dialect: str, skip: tuple[str, ...] = ()) -> str:
    cols = [c.name for c in table.c if c.name not in skip]
    marks = ", ".join(f":{c}" if dialect == "sqlite" else f"%({c})s" for c in cols)
    return f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({marks})"


def build(url: str, size: int) -> int:
    """Migrate, then bulk-insert ``size`` engagements and their events; the number of events."""
    with Engine.open(url, migrate=True) as engine:
        engine.staff.bootstrap(
            [
                StaffMember(id="it", display_name="IT", roles=frozenset({"admin"})),
                StaffMember(id="leder", display_name="Leder", roles=frozenset({"supervisor"})),
                *(StaffMember(id=w, display_name=w, roles=frozenset({"worker"})) for w in WORKERS),
            ]
        )
    store = SqlStore.open(url)
    total = 0
    try:
        sql = SqlText(store.dialect)
        ins_eng = _insert_sql(engagements, store.dialect)
        ins_ev = _insert_sql(events, store.dialect, skip=("id",))
        raw = store.sa_engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            cur = driver.cursor()
            if store.dialect == "sqlite":
                cur.execute("PRAGMA synchronous=OFF")
            for start in range(1, size + 1, CHUNK):
                if store.dialect == "sqlite":
                    cur.execute("BEGIN")
                courses = [_course(i, size) for i in range(start, min(size, start + CHUNK - 1) + 1)]
                cur.executemany(ins_eng, [sql.encode(r) for r, _ in courses])
                evs = [sql.encode(e) for _, es in courses for e in es]
                total += len(evs)
                cur.executemany(ins_ev, evs)
                driver.commit()
            if store.dialect == "postgresql":
                cur.execute("SELECT setval('engagements_id_seq', %(n)s)", {"n": size})
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
    return total


def _has(url: str, size: int) -> bool:
    try:
        store = SqlStore.open(url)
    except Exception:
        return False
    try:
        return store.row_counts()["engagements"] == size
    except Exception:
        return False
    finally:
        store.close()


def _cases(engine: Engine, url: str) -> dict[str, Callable[[], object]]:
    year = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}
    cutoff = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    store = engine.store
    assert isinstance(store, SqlStore)
    holder: dict[str, Any] = {}

    def floor() -> object:
        raw = store.sa_engine.raw_connection()
        try:
            cur = raw.driver_connection.cursor()  # type: ignore[union-attr]
            mark = "?" if store.dialect == "sqlite" else "%s"
            value: Any = cutoff.strftime("%Y-%m-%d %H:%M:%S.%f") if store.dialect == "sqlite" else cutoff
            cur.execute(
                "SELECT engagement_id, seq, type, occurred_at FROM events "
                f"WHERE occurred_at < {mark} ORDER BY engagement_id, seq",
                (value,),
            )
            return len(cur.fetchall())
        finally:
            raw.close()

    def report() -> object:
        holder["r"] = engine.caseload.report(actor=LEADER, **year)
        return holder["r"]

    def html() -> object:
        from forloeb.cli._report_html import render

        return render(holder["r"], "da")

    return {
        "floor": floor,
        "report": report,
        "table": lambda: as_table(holder["r"], "da"),
        "csv": lambda: as_csv(holder["r"]),
        "json": lambda: to_json(holder["r"], indent=2),
        "html": html,
        "caseload": lambda: engine.caseload.overview(actor=LEADER, now=NOW),
    }


def measure(urls: dict[int, str], repeat: int) -> dict[int, dict[str, float]]:
    engines = {size: Engine.open(url, clock=lambda: NOW) for size, url in urls.items()}
    try:
        cases = {size: _cases(engine, urls[size]) for size, engine in engines.items()}
        out: dict[int, dict[str, float]] = {size: {} for size in urls}
        for name in next(iter(cases.values())):
            times: dict[int, list[float]] = {size: [] for size in urls}
            for size in urls:
                cases[size][name]()  # warm-up
            for _ in range(repeat):
                for size in urls:  # sizes take turns: load from elsewhere falls on both
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
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    name = f"forloeb_bench_report_{size}"
    admin = create_engine(maintenance, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            if not conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}
            ).first():
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return make_url(maintenance).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,10000")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "forloeb-bench-report"))
    parser.add_argument("--pg", help="a PostgreSQL maintenance URL: also measure there")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    backends: list[tuple[str, Callable[[int], str]]] = [
        ("sqlite", lambda n: f"sqlite:///{cache / f'report-{n}.db'}")
    ]
    if args.pg:
        backends.append(("postgresql", lambda n: _pg_database(args.pg, n)))
    results: dict[tuple[str, int], dict[str, float]] = {}
    for backend, url_of in backends:
        urls = {size: url_of(size) for size in sizes}
        for size, url in urls.items():
            if args.rebuild or not _has(url, size):
                if backend == "sqlite":
                    (cache / f"report-{size}.db").unlink(missing_ok=True)
                t0 = time.perf_counter()
                n = build(url, size)
                took = time.perf_counter() - t0
                print(
                    f"# built {backend} {size:,} engagements, {n:,} events in {took:.0f} s", file=sys.stderr
                )
        for size, figures in measure(urls, args.repeat).items():
            results[backend, size] = figures
            for name, ms in figures.items():
                line = {"backend": backend, "engagements": size, "measure": name, "ms": round(ms, 1)}
                print(json.dumps(line), flush=True)
    big, small = max(sizes), min(sizes)
    print(f"\n| backend | measure | {big:,} ms | {small:,} ms | growth | ×floor ({big:,}) |")
    print("|---|---|---|---|---|---|")
    for backend, _ in backends:
        floor = results[backend, big]["floor"]
        for name, ms in results[backend, big].items():
            base = results[backend, small][name]
            print(f"| {backend} | {name} | {ms:.0f} | {base:.0f} | {ms / base:.1f}× | {ms / floor:.1f}× |")


if __name__ == "__main__":
    main()
