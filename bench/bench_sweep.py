#!/usr/bin/env python3
"""One reminder sweep over a small and a large database with the same number due.

Invariant 4 says the sweep's cost follows the number due, not the number
stored. Setup (not timed): a fresh SQLite file (WAL) at the current schema,
engagements bulk-inserted with ``executemany`` on the stdlib driver so that
exactly ``--due`` are past their stage's due time and the rest are due far in
the future. Timed: one ``Engine.sweep`` (each due engagement: lock, re-check,
reminder row, event, outbox row, commit).

Prints one JSON line per size, then a summary line with the ratio of the
largest to the smallest (target: <= 1.5).
Usage: python bench/bench_sweep.py [--sizes 10000,1000000] [--due 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from forloeb import Engine, configure_logging
from forloeb.engine import GENESIS
from forloeb.persistence._tables import engagements

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _t(value: datetime) -> str:
    # The stored form of a time on SQLite (naive UTC, microseconds).
    return value.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")[:26]


def build(path: Path, total: int, due: int) -> None:
    Engine.open(f"sqlite:///{path}", migrate=True).close()
    cols = [c.name for c in engagements.c if c.name != "id"]
    entered = NOW - timedelta(days=20)
    past, future = _t(NOW - timedelta(days=1)), _t(NOW + timedelta(days=3650))

    def row(i: int) -> tuple[object, ...]:
        # Spread the due ones through the stored ids, not all at the start.
        due_at = past if i % (total // due) == 0 and i // (total // due) < due else future
        values = {
            "workflow": "individual_course",
            "workflow_version": 1,
            "state": "referral",
            "paused_from": None,
            "closed_from": None,
            "cycle": 1,
            "subject": f"sag-{i}",
            "source": "skole",
            "assignee": "anna",
            "supervisor": "leder",
            "team": None,
            "tags": "[]",
            "data": "{}",
            "version": 0,  # no events yet: the reminder event is seq 1
            "head_hash": GENESIS,
            "created_at": _t(entered),
            "updated_at": _t(entered),
            "stage_entered_at": _t(entered),
            "stage_due_at": due_at,
            "due_remaining_s": None,
            "reminder_epoch": None,
            # No reminder raised yet: level 1 is due at the stage's due time.
            "next_reminder_at": due_at,
            "outcome": None,
            # Issue 13's reporting attributes: none recorded.
            **dict.fromkeys(("person_key", "age_band", "gender", "afdeling")),
        }
        return tuple(values[c] for c in cols)

    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    sql = f"INSERT INTO engagements ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    chunk = 50_000
    for start in range(0, total, chunk):
        con.executemany(sql, (row(i) for i in range(start, min(total, start + chunk))))
        con.commit()
    # What the sweep's range scan will find.
    sql_due = "SELECT count(*) FROM engagements WHERE next_reminder_at <= ?"
    got = con.execute(sql_due, (_t(NOW),)).fetchone()[0]
    con.execute("ANALYZE")
    con.commit()
    # Fold the bulk load into the database file now: otherwise the first
    # sweep pays for checkpointing the setup's write-ahead log.
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    # And let the OS write the bulk load to disk before timing starts: the
    # kernel flushing hundreds of MB in the background would be charged to
    # the sweep of the large database only.
    os.sync()
    assert got == due, (got, due)


def measure(total: int, due: int, sync: str, *, deferred: bool) -> dict[str, object]:
    """One sweep over a fresh database. ``deferred``: SQLite's automatic WAL
    checkpoints are off during the sweep and the checkpoint is run (and
    timed) after it, separating the sweep's own cost from the write-back of
    the write-ahead log into the database file."""
    path = Path(tempfile.mkdtemp(prefix="forloeb-sweep-")) / "sweep.db"
    t0 = time.perf_counter()
    build(path, total, due)
    setup = time.perf_counter() - t0
    url = f"sqlite:///{path}?synchronous={sync}" + ("&wal_autocheckpoint=0" if deferred else "")
    checkpoint = None
    with Engine.open(url) as engine:
        t0 = time.perf_counter()
        raised = engine.sweep(NOW)
        elapsed = time.perf_counter() - t0
        assert len(raised) == due, len(raised)
        if deferred:
            con = sqlite3.connect(path)
            t0 = time.perf_counter()
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            checkpoint = time.perf_counter() - t0
            con.close()
        assert engine.sweep(NOW) == []
    return {
        "stored": total,
        "due": due,
        "raised": len(raised),
        "sync": sync,
        "checkpoints": "deferred" if deferred else "automatic",
        "setup_s": round(setup, 2),
        "sweep_s": round(elapsed, 4),
        "us_per_reminder": round(elapsed / due * 1e6, 1),
        "checkpoint_after_s": round(checkpoint, 4) if checkpoint is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--sync", default="NORMAL")
    args = parser.parse_args()
    configure_logging(level="WARNING")
    # Warm-up (not reported): first-use costs (imports, compiled statements,
    # the calendar's caches) would otherwise be charged to the first size.
    measure(args.due * 2, args.due, args.sync, deferred=False)
    for deferred in (False, True):
        rows = []
        for size in (int(s) for s in args.sizes.split(",")):
            result = measure(size, args.due, args.sync, deferred=deferred)
            rows.append(result)
            print(json.dumps(result), flush=True)
        small, large = rows[0], rows[-1]
        ratio = float(large["sweep_s"]) / float(small["sweep_s"])  # type: ignore[arg-type]
        summary = {
            "summary": f"{large['stored']}/{small['stored']}",
            "checkpoints": small["checkpoints"],
            "ratio": round(ratio, 3),
            "target": 1.5,
        }
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
