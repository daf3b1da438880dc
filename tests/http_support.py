"""What the HTTP API's tests share: an in-process client, tokens for the test
staff, and a real ``forloeb serve`` process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from forloeb import Actor, Engine
from forloeb.server import ServerConfig, create_app

with warnings.catch_warnings():
    # Starlette asks for httpx2 (not on PyPI's stable line yet); httpx works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
ADMIN = Actor("tester")

# Who the tests act as: anna (worker, team "familie" among others), carl (worker,
# in no team), leder (supervisor), revisor (auditor), tester (admin).
PEOPLE = ("anna", "carl", "leder", "revisor", "tester")


def tokens(engine: Engine, **expires: int) -> dict[str, str]:
    """A fresh token per person (``expires``: days for some)."""
    return {
        who: engine.tokens.create(ADMIN, who, name=f"test {who}", expires_in_days=expires.get(who)).token
        for who in PEOPLE
    }


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def client(engine: Engine, *, config: ServerConfig | None = None, **kwargs: Any) -> TestClient:
    app = create_app(engine=engine, config=config or ServerConfig())
    return TestClient(app, raise_server_exceptions=False, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    base: str
    log: Path  # the server's stderr (its request log)

    def __str__(self) -> str:
        return self.base


@contextmanager
def serving(
    db_url: str, *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[Served]:
    """``forloeb serve`` on ``db_url`` (a real uvicorn process) on a free loopback port."""
    port = free_port()
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FORLOEB_LOG_LEVEL": "info",
        "FORLOEB_LOG_FORMAT": "json",
        **(env or {}),
    }
    log = log or Path(tempfile.mkstemp(prefix="forloeb-serve-", suffix=".log")[1])
    err = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "forloeb", "--db", db_url, "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=err,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"forloeb serve exited: {log.read_text()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("forloeb serve did not become ready")
            time.sleep(0.1)
        yield Served(base, log)
    finally:
        process.terminate()  # SIGTERM: uvicorn shuts down gracefully
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()
        err.close()


__all__ = ["ADMIN", "PEOPLE", "Served", "TestClient", "bearer", "client", "free_port", "serving", "tokens"]
