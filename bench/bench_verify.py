#!/usr/bin/env python3
"""Verify throughput: ``engine.audit.verify`` over a database of N events.

Setup (not timed): a fresh SQLite file migrated by the engine, then
``--engagements`` engagements with valid hash chains bulk-inserted through
the stdlib ``sqlite3`` driver (hashes computed with ``event_hash``, the same
function the engine uses, rows written with ``executemany``): building a
million events through ``Engine.fire`` would take many minutes and measure
the write path, not verify.

Timed: one full ``verify`` (every chain recomputed, links, gaps and heads
checked), optionally keyed (HMAC). Prints one JSON line with events/s.
Usage: python bench/bench_verify.py [--events 1000000] [--per 20] [--key K]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forloeb import Actor, Engine, StaffMember
from forloeb.engine import GENESIS, event_hash

TYPES = ("note", "details", "activity")


def build(path: Path, events: int, per: int, key: bytes | None) -> int:
    # With the key: the register's entries are chained in the access log under it,
    # and the database records that it is keyed.
    with Engine.open(f"sqlite:///{path}", migrate=True, audit_key=key) as engine:
        engine.staff.bootstrap(  # who may verify (issue 11: the register)
            [
                StaffMember(id="it", display_name="IT", roles=frozenset({"admin"})),
                StaffMember(id="revisor", display_name="Revisor", roles=frozenset({"auditor"})),
            ]
        )
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    n_eng = events // per
    eng_rows = []
    ev_rows = []
    written = 0
    for eid in range(1, n_eng + 1):
        prev = GENESIS
        at = start + timedelta(minutes=eid)
        for seq in range(1, per + 1):
            typ = "started" if seq == 1 else TYPES[seq % 3]
            payload: dict[str, object] = {"text": f"notat {seq} i forløb {eid}", "data": {"focus": "tryghed"}}
            if seq == 1:
                # What a start records (verify replays the row from it: issue 12).
                payload.update(
                    subject=f"sag-{eid}", source="skole", assignee=None, supervisor=None, team=None, tags=[]
                )
            values = {
                "engagement_id": eid,
                "seq": seq,
                "type": typ,
                "trigger": "start" if seq == 1 else None,
                "from_state": None if seq == 1 else "action",
                "to_state": "action",
                "actor": f"medarbejder{eid % 17}",
                "role": "worker",
                "payload": payload,
                "occurred_at": at + timedelta(seconds=seq),
                "prev_hash": prev,
            }
            values["hash"] = prev = event_hash(values, key)
            ev_rows.append(
                (
                    eid,
                    seq,
                    typ,
                    values["trigger"],
                    values["from_state"],
                    values["to_state"],
                    values["actor"],
                    "worker",
                    json.dumps(payload, ensure_ascii=False),
                    values["occurred_at"].isoformat(sep=" ", timespec="microseconds")[:26],
                    values["prev_hash"],
                    values["hash"],
                )
            )
        now = (at + timedelta(seconds=per)).isoformat(sep=" ", timespec="microseconds")[:26]
        eng_rows.append(
            (
                eid,
                "individual_course",
                1,
                "action",
                1,
                f"sag-{eid}",
                "skole",
                "[]",
                "{}",
                per,
                prev,
                now,
                now,
                now,
            )
        )
        if len(ev_rows) >= 100_000:
            _flush(con, eng_rows, ev_rows)
            written += len(ev_rows)
            eng_rows, ev_rows = [], []
    _flush(con, eng_rows, ev_rows)
    written += len(ev_rows)
    con.commit()
    con.close()
    return written


def _flush(
    con: sqlite3.Connection, eng_rows: list[tuple[object, ...]], ev_rows: list[tuple[object, ...]]
) -> None:
    con.executemany(
        "INSERT INTO engagements (id, workflow, workflow_version, state, cycle, subject, source, tags, data, "
        "version, head_hash, created_at, updated_at, stage_entered_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        eng_rows,
    )
    con.executemany(
        "INSERT INTO events (engagement_id, seq, type, trigger, from_state, to_state, actor, role, payload, "
        "occurred_at, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        ev_rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per", type=int, default=20, help="events per engagement")
    parser.add_argument("--key", help="audit key (HMAC chain)")
    args = parser.parse_args()
    key = args.key.encode() if args.key else None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "verify.db"
        t0 = time.perf_counter()
        written = build(path, args.events, args.per, key)
        setup = time.perf_counter() - t0
        with Engine.open(f"sqlite:///{path}", audit_key=key) as engine:
            t0 = time.perf_counter()
            report = engine.audit.verify(Actor("revisor", ["auditor"]))
            seconds = time.perf_counter() - t0
        assert report.ok, report.breaks[:5]
        assert report.events == written
        print(
            json.dumps(
                {
                    "run": "verify",
                    "events": report.events,
                    "engagements": report.engagements,
                    "keyed": report.keyed,
                    "setup_s": round(setup, 1),
                    "seconds": round(seconds, 2),
                    "events_per_s": round(report.events / seconds),
                    "python": sys.version.split()[0],
                }
            )
        )


if __name__ == "__main__":
    main()
