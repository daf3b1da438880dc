#!/usr/bin/env python3
"""The standard transition workload with 1, 2 and 4 engine processes, on PostgreSQL and SQLite.

Workload: N engagements start in ``referral`` (setup, not timed) and are each
driven through the seven forward transitions (make_contact … close), every
transition its own committed transaction with its event — as in
``bench_fire.py``, but split over P spawned processes, each with its own
Engine and its own share of the engagements (distinct engagements: no
conflicts, so this measures how far the database lets writers run side by
side). A barrier starts the processes together; throughput is all
transitions over the span from the first start to the last finish, and the
latency of one fire is measured around each ``Engine.fire`` call.

PostgreSQL: a fresh database is created on the server named by ``--pg-url``
(default ``FORLOEB_TEST_PG_URL``, else the local server) and dropped at the
end. SQLite: a fresh file in WAL mode (``synchronous=FULL``, the default).

Prints one JSON line per run, then a summary with the speed-ups.
Usage: python bench/bench_multiprocess.py [--n 1000] [--procs 1,2,4] [--backends postgresql,sqlite]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from forloeb import Actor, Engine, StaffMember, configure_logging
from forloeb.workflows import VERSION_1

PLAN = {"focus": "tryghed i opgangen", "goals": "kende naboerne", "plan": "møde hver uge"}
STEPS: list[tuple[str, dict[str, Any] | None]] = [
    ("make_contact", None),
    ("agree_shared_path", None),
    ("set_own_path", PLAN),
    ("act", PLAN),
    ("reach_self_help", None),
    ("round_off", {"level": "can"}),
    ("close", {"outcome": "mål nået"}),
]
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def worker(url: str, ids: list[int], barrier: Any, results: Any) -> None:
    configure_logging(level="warning")  # one log line per fire would measure the terminal
    actor = Actor.worker("bench")
    latencies: list[float] = []
    with Engine.open(url, workflows=VERSION_1) as engine:
        engine.get(ids[0], actor=actor)  # the pool's first connection, outside the timing
        barrier.wait(timeout=120)
        start = time.monotonic()
        for trigger, data in STEPS:
            for i in ids:
                t0 = time.perf_counter()
                engine.fire(i, trigger, actor=actor, data=data)
                latencies.append(time.perf_counter() - t0)
        end = time.monotonic()
    results.put((start, end, latencies))


def run(url: str, n: int, procs: int) -> dict[str, Any]:
    with Engine.open(url, migrate=True, workflows=VERSION_1) as engine:
        engine.staff.bootstrap(  # the register the fires resolve their actor in (issue 11)
            [
                StaffMember(id="it", display_name="IT", roles=frozenset({"admin"})),
                StaffMember(id="bench", display_name="Bench", roles=frozenset({"worker"})),
            ]
        )
        actor = Actor.worker("bench")
        ids = [
            engine.start("individual_course", subject=f"sag-{i}", source="skole", actor=actor).id
            for i in range(n)
        ]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(procs), ctx.Queue()
    shares = [ids[k::procs] for k in range(procs)]
    children = [ctx.Process(target=worker, args=(url, share, barrier, results)) for share in shares]
    for c in children:
        c.start()
    outcomes = [results.get(timeout=600) for _ in children]
    for c in children:
        c.join()
        if c.exitcode != 0:
            raise SystemExit(f"a worker failed with exit code {c.exitcode}")
    span = max(e for _, e, _ in outcomes) - min(s for s, _, _ in outcomes)
    latencies = sorted(x for _, _, lat in outcomes for x in lat)
    transitions = n * len(STEPS)
    assert len(latencies) == transitions
    return {
        "procs": procs,
        "transitions": transitions,
        "seconds": round(span, 3),
        "per_s": round(transitions / span, 1),
        "p50_ms": round(statistics.median(latencies) * 1e3, 3),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1e3, 3),
    }


class PgDatabases:
    """Fresh databases on a server, dropped at the end."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.pool import NullPool

        self.url = make_url(url)
        self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._made: list[str] = []

    def fresh(self) -> str:
        name = f"forloeb_bench_{os.getpid()}_{secrets.token_hex(4)}"
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self._made.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        with self._admin.connect() as conn:
            for name in self._made:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--n", type=int, default=1000, help="engagements in all (x7 transitions), split over the processes"
    )
    ap.add_argument("--procs", default="1,2,4")
    ap.add_argument("--backends", default="postgresql,sqlite")
    ap.add_argument("--pg-url", default=os.environ.get("FORLOEB_TEST_PG_URL") or PG_DEFAULT)
    args = ap.parse_args()
    configure_logging(level="warning")
    procs = [int(p) for p in args.procs.split(",")]
    rows: list[dict[str, Any]] = []
    pg = PgDatabases(args.pg_url) if "postgresql" in args.backends else None
    try:
        for backend in args.backends.split(","):
            for p in procs:
                if backend == "postgresql":
                    assert pg is not None
                    url = pg.fresh()
                else:
                    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='forloeb-bench-')) / 'bench.db'}"
                row = {"backend": backend, **run(url, args.n, p)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        if pg is not None:
            pg.close()
    print()
    print(f"{'backend':11} {'procs':>5} {'transitions/s':>14} {'speed-up':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for row in rows:
        base = next(r for r in rows if r["backend"] == row["backend"] and r["procs"] == procs[0])
        speed = row["per_s"] / base["per_s"]
        print(
            f"{row['backend']:11} {row['procs']:5} {row['per_s']:14.1f} {speed:8.2f}x "
            f"{row['p50_ms']:8.3f} {row['p99_ms']:8.3f}"
        )


if __name__ == "__main__":
    main()
