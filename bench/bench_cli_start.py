#!/usr/bin/env python3
"""CLI start-up: ``forloeb --help`` against ``python -c "import click"``.

Each command runs ``--n`` times in a fresh process, the commands taking turns
(so a busy moment of the machine falls on all of them alike); the wall time of
each run is measured from this process. Reported: the median and the fastest
run of each command, and the ratio of the medians to the click baseline
(issue 8's target: ``forloeb --help`` at most 1.5x). One JSON line per
command, then a summary line.

``forloeb`` is the console script beside this Python if there is one (what a
user runs), else ``python -m forloeb``; either way the code of this checkout.
Byte code is cached as in any installation (in a temporary
``PYTHONPYCACHEPREFIX``, also when ``PYTHONDONTWRITEBYTECODE`` is set here),
and one run of each command before the timed ones fills that cache.
Usage: python bench/bench_cli_start.py [--n 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def forloeb_command() -> list[str]:
    script = shutil.which("forloeb", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "forloeb"]


def run_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="runs of each command")
    args = parser.parse_args()
    pycache = tempfile.mkdtemp(prefix="forloeb-pycache-")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": pycache}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # compiling every module each run is no start-up
    forloeb = forloeb_command()
    commands = {
        "import click": [sys.executable, "-c", "import click"],
        "forloeb --help": [*forloeb, "--help"],
        "forloeb audit --help": [*forloeb, "audit", "--help"],
        "import forloeb.engine._engine": [sys.executable, "-c", "import forloeb.engine._engine"],
    }
    for argv in commands.values():  # warm the file cache and the .pyc files
        run_once(argv, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.n):
        for name, argv in commands.items():
            times[name].append(run_once(argv, env))
    baseline = statistics.median(times["import click"])
    for name, runs in times.items():
        median = statistics.median(runs)
        print(
            json.dumps(
                {
                    "command": name,
                    "runs": len(runs),
                    "median_ms": round(median * 1000, 1),
                    "fastest_ms": round(min(runs) * 1000, 1),
                    "x_import_click": round(median / baseline, 2),
                }
            )
        )
    ratio = statistics.median(times["forloeb --help"]) / baseline
    print(f"forloeb --help: {ratio:.2f}x python -c 'import click' (target at most 1.5x)")
    shutil.rmtree(pycache, ignore_errors=True)


if __name__ == "__main__":
    main()
