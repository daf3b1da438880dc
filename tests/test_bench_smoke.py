"""The benchmark script still runs (a smoke test; figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_fire_runs_and_reports_engine_and_floor() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_fire.py"), "--n", "5", "--sync", "NORMAL", "--no-peers"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert {r["run"] for r in rows} == {"engine", "floor"}
    assert all(r["transitions"] == 35 and r["us_each"] > 0 for r in rows)
