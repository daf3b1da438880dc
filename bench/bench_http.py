#!/usr/bin/env python3
"""The standard transition workload over the HTTP API, beside the in-process
``Engine.fire`` measured in the same run.

Workload (as bench_fire.py): N engagements start in ``referral`` (setup, not
timed) and are each driven through the seven forward transitions (version 1
of the method), every transition one committed transaction with its event.

Runs:
  inproc     ``Engine.fire`` in this process (the floor of the HTTP runs)
  http       ``POST /v1/engagements/{id}/fire`` to ``forloeb serve`` (uvicorn,
             a real process on a loopback port) over one keep-alive
             connection (stdlib http.client: a light client), one request at
             a time: the latency a caller sees; overhead = http p50 - inproc p50
  http-par   the same with C concurrent clients (threads, a connection each,
             each driving its own engagements): throughput

SQLite with 1 worker; PostgreSQL (``--pg``) with 1, 2 and 4 workers. Prints
one JSON line per run, then a summary with requests/s, p50, p99 and the ratios.
Usage: python bench/bench_http.py [--n 300] [--clients 8] [--pg URL] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from forloeb import Actor, Engine, StaffMember, configure_logging
from forloeb.workflows import VERSION_1

ROOT = Path(__file__).resolve().parents[1]
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
ACTOR = Actor("bench")


def prepare(url: str) -> str:
    """Migrate, register the staff and return a token for the bench worker."""
    with Engine.open(url, migrate=True, workflows=VERSION_1) as engine:
        engine.staff.bootstrap(
            [
                StaffMember(id="it", display_name="IT", roles=frozenset({"admin"})),
                StaffMember(id="bench", display_name="Bench", roles=frozenset({"worker"})),
            ]
        )
        return engine.tokens.create(Actor("it"), "bench", name="bench").token


def seed(url: str, n: int) -> list[int]:
    with Engine.open(url, workflows=VERSION_1) as engine:
        return [
            engine.start("individual_course", subject=f"sag-{i}", source="skole", actor=ACTOR).id
            for i in range(n)
        ]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(statistics.median(ordered) * 1e6, 1),
        "p99_us": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6, 1),
    }


def run_inproc(url: str, ids: list[int]) -> dict[str, Any]:
    samples: list[float] = []
    with Engine.open(url, workflows=VERSION_1) as engine:
        t0 = time.perf_counter()
        for trigger, data in STEPS:
            for i in ids:
                s = time.perf_counter()
                engine.fire(i, trigger, actor=ACTOR, data=data)
                samples.append(time.perf_counter() - s)
        elapsed = time.perf_counter() - t0
    return {"requests": len(samples), "per_s": round(len(samples) / elapsed, 1), **percentiles(samples)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(url: str, workers: int) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORLOEB_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "forloeb",
            "--db",
            url,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    c.close()
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("forloeb serve did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def drive(port: int, token: str, ids: list[int], samples: list[float]) -> None:
    """Fire the workload on ``ids`` over one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for trigger, data in STEPS:
        body = json.dumps({"trigger": trigger, "data": data or {}}).encode()
        for i in ids:
            s = time.perf_counter()
            conn.request("POST", f"/v1/engagements/{i}/fire", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            samples.append(time.perf_counter() - s)
            if response.status != 200:
                raise RuntimeError(f"fire {i} {trigger}: HTTP {response.status}")
    conn.close()


def floors(port: int, token: str, n: int = 500) -> dict[str, float]:
    """p50 of a request that does nothing (``/healthz``: the framework and the
    loopback) and of one that only authenticates (``/v1/me``): where the
    overhead goes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    out: dict[str, float] = {}
    for name, path, headers in (
        ("healthz_p50_us", "/healthz", {}),
        ("me_p50_us", "/v1/me", {"Authorization": f"Bearer {token}"}),
    ):
        samples = []
        for _ in range(n):
            s = time.perf_counter()
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
            samples.append(time.perf_counter() - s)
        out[name] = round(statistics.median(samples) * 1e6, 1)
    conn.close()
    return out


def run_http(url: str, token: str, ids: list[int], workers: int, clients: int) -> dict[str, Any]:
    samples: list[float] = []
    extra: dict[str, float] = {}
    with serving(url, workers) as port:
        if clients == 1:
            extra = floors(port, token)
            t0 = time.perf_counter()
            drive(port, token, ids, samples)
        else:
            shares = [ids[k::clients] for k in range(clients)]
            per_thread: list[list[float]] = [[] for _ in shares]
            threads = [
                threading.Thread(target=drive, args=(port, token, share, out))
                for share, out in zip(shares, per_thread, strict=True)
            ]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            samples = [x for out in per_thread for x in out]
        elapsed = time.perf_counter() - t0
    if len(samples) != len(ids) * len(STEPS):
        raise RuntimeError("some requests did not complete")
    return {
        "requests": len(samples),
        "per_s": round(len(samples) / elapsed, 1),
        **percentiles(samples),
        **extra,
    }


@contextmanager
def postgres(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of ``admin_url``, dropped afterwards."""
    import sqlalchemy as sa

    name = f"forloeb_bench_http_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def emit(row: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="engagements per run (x7 transitions)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients of the parallel runs")
    ap.add_argument("--pg", metavar="URL", help="a PostgreSQL server URL (a database is created and dropped)")
    ap.add_argument("--workers", default="1,2,4", help="uvicorn workers on PostgreSQL")
    ap.add_argument("--no-sqlite", action="store_true")
    args = ap.parse_args()
    configure_logging(level="warning")
    rows: list[dict[str, Any]] = []
    if not args.no_sqlite:
        path = Path(tempfile.mkdtemp(prefix="forloeb-bench-http-")) / "bench.db"
        url = f"sqlite:///{path}?synchronous=NORMAL"
        token = prepare(url)
        rows.append(emit({"backend": "sqlite", "run": "inproc", **run_inproc(url, seed(url, args.n))}))
        rows.append(
            emit(
                {
                    "backend": "sqlite",
                    "run": "http",
                    "workers": 1,
                    **run_http(url, token, seed(url, args.n), 1, 1),
                }
            )
        )
    if args.pg:
        with postgres(args.pg) as url:
            token = prepare(url)
            rows.append(
                emit({"backend": "postgresql", "run": "inproc", **run_inproc(url, seed(url, args.n))})
            )
            rows.append(
                emit(
                    {
                        "backend": "postgresql",
                        "run": "http",
                        "workers": 1,
                        **run_http(url, token, seed(url, args.n), 1, 1),
                    }
                )
            )
            for workers in (int(w) for w in args.workers.split(",")):
                result = run_http(url, token, seed(url, args.n), workers, args.clients)
                rows.append(
                    emit(
                        {
                            "backend": "postgresql",
                            "run": "http-par",
                            "workers": workers,
                            "clients": args.clients,
                            **result,
                        }
                    )
                )
    print()
    for backend in ("sqlite", "postgresql"):
        inproc = next((r for r in rows if r["backend"] == backend and r["run"] == "inproc"), None)
        single = next((r for r in rows if r["backend"] == backend and r["run"] == "http"), None)
        if inproc and single:
            print(
                f"{backend}: in-process p50 {inproc['p50_us']:.0f} µs, p99 {inproc['p99_us']:.0f} µs, "
                f"{inproc['per_s']:.0f}/s | HTTP (1 worker, keep-alive) p50 {single['p50_us']:.0f} µs, "
                f"p99 {single['p99_us']:.0f} µs, {single['per_s']:.0f}/s | overhead p50 "
                f"{single['p50_us'] - inproc['p50_us']:.0f} µs/request "
                f"({single['p50_us'] / inproc['p50_us']:.2f}x); of it: a request doing nothing "
                f"(/healthz) {single['healthz_p50_us']:.0f} µs, authenticating only (/v1/me) "
                f"{single['me_p50_us']:.0f} µs"
            )
    par = {r["workers"]: r for r in rows if r["run"] == "http-par"}
    if par:
        base = par.get(1)
        for workers, r in sorted(par.items()):
            ratio = f", {r['per_s'] / base['per_s']:.2f}x one worker" if base else ""
            print(
                f"postgresql, {workers} worker(s), {r['clients']} clients: {r['per_s']:.0f} requests/s, "
                f"p50 {r['p50_us']:.0f} µs, p99 {r['p99_us']:.0f} µs{ratio}"
            )


if __name__ == "__main__":
    main()
