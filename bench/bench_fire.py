#!/usr/bin/env python3
"""The standard transition workload through ``Engine.fire``, beside its floor.

Workload: N engagements start in ``referral`` (setup, not timed) and are each
driven through the seven forward transitions (make_contact … close), every
transition its own committed transaction with its event.

Measured in the same run, on fresh SQLite files in WAL mode:
  engine   ``Engine.fire`` (guards, machine, version check, hash chain, event)
  floor    hand-written SQL on the stdlib ``sqlite3`` driver doing the same
           writes to the same schema (same tables and indexes): BEGIN
           IMMEDIATE, SELECT the row, UPDATE it with a version check, INSERT
           the event with its SHA-256, COMMIT
and, when ``../shared/bench/peers.py`` is there, its peers (raw floor on the
peers' minimal schema, naive transitions + ORM) for the same N and sync level.

Prints one JSON line per measurement, then a summary with the ratios.
Usage: python bench/bench_fire.py [--n 1000] [--sync NORMAL,FULL] [--no-peers]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
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
PEERS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "peers.py"


def fresh_engine(sync: str) -> tuple[Engine, str]:
    path = Path(tempfile.mkdtemp(prefix="forloeb-bench-")) / "bench.db"
    # Version 1 of the method: the standard workload is its seven bare forward
    # transitions (version 2 asks questions on the way, which the peers do not).
    engine = Engine.open(f"sqlite:///{path}?synchronous={sync}", migrate=True, workflows=VERSION_1)
    engine.staff.bootstrap(  # the register the fires resolve their actor in (issue 11)
        [
            StaffMember(id="it", display_name="IT", roles=frozenset({"admin"})),
            StaffMember(id="bench", display_name="Bench", roles=frozenset({"worker"})),
        ]
    )
    return engine, str(path)


def seed(engine: Engine, n: int) -> list[int]:
    actor = Actor.worker("bench")
    return [
        engine.start("individual_course", subject=f"sag-{i}", source="skole", actor=actor).id
        for i in range(n)
    ]


def run_engine(n: int, sync: str) -> float:
    engine, _ = fresh_engine(sync)
    ids = seed(engine, n)
    actor = Actor.worker("bench")
    t0 = time.perf_counter()
    for trigger, data in STEPS:
        for i in ids:
            engine.fire(i, trigger, actor=actor, data=data)
    elapsed = time.perf_counter() - t0
    engine.close()
    return elapsed


def run_floor(n: int, sync: str) -> float:
    """Raw sqlite3, same schema (created by the engine's migrations), same writes."""
    engine, path = fresh_engine(sync)
    ids = seed(engine, n)
    engine.close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(f"PRAGMA synchronous={sync}")
    nxt = {
        "referral": "first_contact",
        "first_contact": "shared_path",
        "shared_path": "own_path",
        "own_path": "action",
        "action": "self_help",
        "self_help": "rounding_off",
        "rounding_off": "closed",
    }
    t0 = time.perf_counter()
    for trigger, data in STEPS:
        payload = json.dumps({"data": data or {}}, ensure_ascii=False)
        for i in ids:
            con.execute("BEGIN IMMEDIATE")
            state, version, head, records = con.execute(
                "SELECT state, version, head_hash, data FROM engagements WHERE id=?", (i,)
            ).fetchone()
            now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
            dest = nxt[state]
            digest = hashlib.sha256(f"{i}|{version + 1}|{head}|{payload}|{now}".encode()).hexdigest()
            cur = con.execute(
                "UPDATE engagements SET state=?, cycle=?, data=?, paused_from=NULL, closed_from=NULL,"
                " updated_at=?, stage_entered_at=?, stage_due_at=?, next_reminder_at=?,"
                " due_remaining_s=NULL, reminder_epoch=NULL, version=?, head_hash=?"
                " WHERE id=? AND version=?",
                (dest, 1, records, now, now, now, now, version + 1, digest, i, version),
            )
            assert cur.rowcount == 1
            con.execute(
                "INSERT INTO events (engagement_id, seq, type, trigger, from_state, to_state, actor,"
                " role, payload, occurred_at, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    i,
                    version + 1,
                    "transition",
                    trigger,
                    state,
                    dest,
                    "bench",
                    "worker",
                    payload,
                    now,
                    head,
                    digest,
                ),
            )
            con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def run_peers(n: int, sync: str) -> dict[str, float]:
    if not PEERS.exists():
        return {}
    out = subprocess.run(
        [sys.executable, str(PEERS), "--n", str(n), "--sync", sync, "--only", "raw,naive-tx,naive-psm"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {d["peer"]: d["us_each"] for d in map(json.loads, out.splitlines())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="engagements (x7 transitions)")
    ap.add_argument("--sync", default="NORMAL,FULL")
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    configure_logging(level="warning")  # one log line per fire would measure the terminal
    transitions = args.n * len(STEPS)
    summary = []
    for sync in args.sync.split(","):
        engine_us = run_engine(args.n, sync) / transitions * 1e6
        floor_us = run_floor(args.n, sync) / transitions * 1e6
        peers = {} if args.no_peers else run_peers(args.n, sync)
        for name, us in [("engine", engine_us), ("floor", floor_us)] + [
            (f"peers:{k}", v) for k, v in peers.items()
        ]:
            print(
                json.dumps(
                    {
                        "run": name,
                        "sync": sync,
                        "transitions": transitions,
                        "us_each": round(us, 1),
                        "per_s": round(1e6 / us, 1),
                    }
                )
            )
        summary.append((sync, engine_us, floor_us, peers))
    print()
    head = ("sync", "engine µs", "floor µs", "engine/floor", "naive-tx µs", "engine speed-up vs naive-tx")
    print(f"{head[0]:7} {head[1]:>10} {head[2]:>9} {head[3]:>13} {head[4]:>12} {head[5]:>28}")
    for sync, engine_us, floor_us, peers in summary:
        naive = peers.get("naive-tx")
        speed = f"{naive / engine_us:.1f}x" if naive else "-"
        print(
            f"{sync:7} {engine_us:10.1f} {floor_us:9.1f} {engine_us / floor_us:12.2f}x "
            f"{naive if naive else '-':>12} {speed:>28}"
        )


if __name__ == "__main__":
    main()
