#!/usr/bin/env python3
"""Server time of the web console's pages (issue 15) on a large caseload.

Workload: the demo's database with N engagements (``forloeb demo``'s scenarios
repeated: default 10,000; built once and reused with ``--db``), a sweep run so
that the reminders are there, passwords for a worker (ahmed.s), the supervisor
(hanne.l) and the auditor (revisor). ``forloeb serve`` (uvicorn, a real
process, one worker) on a loopback port; each person logs in through the login
form with httpx, then every page is fetched over one keep-alive connection:
``--warmup`` requests (not counted), then ``--samples`` timed GETs, one at a
time. The time is the wall time of a GET as the client sees it on the
loopback; the floor, measured in the same run on the same connection, is
``GET /healthz`` (the framework and the loopback, no database): the ratio
says how much of a page is the page itself.

The report page's charts are images of their own (``/reports/chart.svg``):
the first view draws each (timed once each, on a server that has drawn none:
"charts, first view"); the same figures are then served from the process's
cache of drawn charts, and one of them is timed like the pages ("drawn before").

Prints one JSON line per page, then a table with p50/p95/max per page and
whether p95 is within the budget (200 ms).
Usage: python bench/bench_console.py [--n 10000] [--db PATH_OR_URL] [--samples 50]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from forloeb import Actor, Engine, configure_logging
from forloeb._demo import add_demo_engagements
from forloeb._demo_scenarios import LEADER

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MS = 200.0
PASSWORD = "bench-console-adgangskode"
OPERATOR = "demo"
WORKER, AUDITOR = "ahmed.s", "revisor"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_CHART = re.compile(r'src="(/reports/chart\.svg[^"]*)"')


def database(db: str | None, n: int) -> tuple[str, float | None]:
    """The URL of the demo database with ``n`` engagements (built when empty) and
    the seconds the build took (None: reused)."""
    if db is None:
        db = str(Path(tempfile.mkdtemp(prefix="forloeb-bench-console-")) / "console.db")
    url = db if "://" in db else f"sqlite:///{Path(db).resolve()}"
    existing = 0
    if "://" in db or Path(db).exists():
        with Engine.open(url, migrate=True) as engine:
            existing = len(engine.list(actor=Actor(LEADER), limit=n))
    if existing >= n:
        return url, None
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 1000 == 0 or done == total:
            elapsed = time.perf_counter() - start
            print(f"  built {done}/{total} ({elapsed:.0f} s)", file=sys.stderr, flush=True)

    add_demo_engagements(url, n - existing, progress=progress, operator=OPERATOR)
    return url, time.perf_counter() - start


def prepare(url: str) -> tuple[int, int]:
    """Passwords, the sweep; returns (a worker's engagement with a long history, reminders open)."""
    with Engine.open(url) as engine:
        admin = engine.staff.actor_for_login(OPERATOR)
        for who in (WORKER, LEADER, AUDITOR):
            engine.logins.set_password(admin, who, PASSWORD)
        engine.sweep()
        mine = engine.list(assignee=WORKER, actor=Actor(LEADER), limit=100)
        longest = max(mine, key=lambda e: e.version)
        return longest.id, len(engine.reminders(open_only=True))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(url: str) -> Iterator[str]:
    """``forloeb serve`` on ``url`` (one uvicorn worker) on a free loopback port."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORLOEB_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "forloeb", "--db", url, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("forloeb serve did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def logged_in(base: str, who: str) -> httpx.Client:
    """A keep-alive client with ``who``'s session, logged in through the login form."""
    client = httpx.Client(base_url=base, timeout=60, headers={"Accept": "text/html"})
    form = client.get("/login")
    token = _CSRF.search(form.text)
    assert token is not None, "no csrf field on the login page"
    done = client.post("/login", data={"csrf": token.group(1), "username": who, "password": PASSWORD})
    if done.status_code != 303 or "forloeb_session" not in client.cookies:
        raise RuntimeError(f"{who} could not log in: HTTP {done.status_code}")
    return client


def timed(client: httpx.Client, path: str, samples: int, warmup: int) -> list[float]:
    out: list[float] = []
    for i in range(warmup + samples):
        start = time.perf_counter()
        r = client.get(path)
        elapsed = time.perf_counter() - start
        if r.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {r.status_code}: {r.text[:200]}")
        if i >= warmup:
            out.append(elapsed)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1e3, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1e3, 2),
        "max_ms": round(ordered[-1] * 1e3, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="engagements in the database")
    ap.add_argument("--db", help="a database path or URL: reused when it has N engagements, else filled")
    ap.add_argument("--samples", type=int, default=50, help="timed GETs per page")
    ap.add_argument("--warmup", type=int, default=5, help="GETs per page before timing")
    args = ap.parse_args()
    configure_logging(level="warning")
    url, built = database(args.db, args.n)
    eid, reminders = prepare(url)
    print(
        json.dumps(
            {
                "setup": "database",
                "engagements": args.n,
                "build_s": None if built is None else round(built, 1),
                "open_reminders": reminders,
                "engagement": eid,
            }
        ),
        flush=True,
    )
    pages = [
        (WORKER, "/mine"),
        (WORKER, "/intake"),
        (WORKER, f"/engagements/{eid}"),
        (LEADER, "/board"),
        (LEADER, "/reminders"),
        (LEADER, "/caseload"),
        (LEADER, "/reports"),
        (AUDITOR, "/audit"),
    ]
    rows: list[dict[str, Any]] = []
    drawn: list[str] = []
    cold: dict[str, Any] = {}
    with serving(url) as base:
        clients = {who: logged_in(base, who) for who in (WORKER, LEADER, AUDITOR)}
        try:
            # A chart of the report page (an image the page loads, drawn from the report
            # the page computed and kept): what each of the page's charts costs on top.
            report_page = clients[LEADER].get("/reports").text
            drawn = [html.unescape(u) for u in dict.fromkeys(_CHART.findall(report_page))]
            if drawn:
                first = [timed(clients[LEADER], u, 1, 0)[0] for u in drawn]
                cold = {"page": "/reports/chart.svg (first view, each)", "as": LEADER, **summary(first)}
                cold["charts"] = len(first)
                cold["all_ms"] = round(sum(first) * 1e3, 1)
                print(json.dumps(cold), flush=True)
                pages.insert(pages.index((LEADER, "/reports")) + 1, (LEADER, drawn[0]))
            floor = summary(timed(clients[WORKER], "/healthz", 200, 20))
            print(json.dumps({"page": "/healthz", "as": "-", **floor}), flush=True)
            for who, path in pages:
                times = timed(clients[who], path, args.samples, args.warmup)
                row: dict[str, Any] = {"page": path, "as": who, **summary(times)}
                row["within_budget"] = row["p95_ms"] <= BUDGET_MS
                row["x_floor_p50"] = round(row["p50_ms"] / floor["p50_ms"], 1)
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            for c in clients.values():
                c.close()
    print()
    head = f"{'page':<34} {'as':<9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(f"{head}  p95 ≤ {BUDGET_MS:.0f} ms  x floor")
    for r in rows:
        print(
            f"{r['page'][:34]:<34} {r['as']:<9} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f}  "
            f"{'yes' if r['within_budget'] else 'NO':<13} {r['x_floor_p50']:>6.1f}"
        )
    print(
        f"floor: GET /healthz p50 {floor['p50_ms']:.2f} ms, p95 {floor['p95_ms']:.2f} ms "
        f"({args.n} engagements)"
    )
    if drawn:
        print(
            f"charts, first view: {cold['charts']} drawn, {cold['all_ms']:.0f} ms in all, "
            f"p50 {cold['p50_ms']:.0f} ms, max {cold['max_ms']:.0f} ms each "
            "(the timed chart row above: drawn before)"
        )


if __name__ == "__main__":
    main()
