"""The scheduler: ``forloeb scheduler run`` as a real process stopped with SIGTERM,
and ``Engine.start_scheduler`` in-process. Real SMTP receiver (aiosmtpd), real time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from helpers import FakeClock, start
from test_notifiers import Collector, parse, start_smtp

from forloeb import Actor, Engine, InvalidData
from forloeb.engine import Router

ROOT = Path(__file__).resolve().parents[1]
SENDER = "forloeb@example.dk"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Collector]]:
    handler = Collector()
    controller = start_smtp(handler)
    yield controller, handler
    controller.stop()


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def overdue_engagement(db: str) -> int:
    """An engagement started 30 days ago: both reminder levels are due now."""
    clock = FakeClock(datetime.now(UTC) - timedelta(days=30))
    with Engine.open(db, migrate=True, clock=clock) as engine:
        return start(engine, Actor.worker("anna"), assignee="anna", supervisor="leder").id


def test_scheduler_run_delivers_and_stops_cleanly_on_sigterm(
    tmp_path: Path, smtp: tuple[Controller, Collector]
) -> None:
    controller, handler = smtp
    db = f"sqlite:///{tmp_path / 'sched.db'}"
    overdue_engagement(db)
    config = tmp_path / "forloeb.toml"
    config.write_text(
        f"""
[notifiers.email]
url = "smtp://127.0.0.1:{controller.port}?from={SENDER}"

[[routes]]
recipient_role = "supervisor"
channel = "email"

[address_book]
leder = "leder@example.dk"
""",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORLOEB_DB": db}
    env.pop("FORLOEB_CONFIG", None)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "forloeb", "--lang", "en", "-v", "scheduler", "run"),
            *("--sweep-every", "1", "--dispatch-every", "1", "--config", str(config)),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = time.monotonic()
        assert wait_for(lambda: len(handler.envelopes) >= 1, 20), "no e-mail within 20 s"
        print(f"scheduler subprocess: first e-mail after {time.monotonic() - started:.2f} s")
        time.sleep(1.5)  # a few more sweeps and dispatches: nothing new may arrive
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        print(f"scheduler subprocess: stopped {time.monotonic() - stopping:.2f} s after SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Scheduler stopped." in out
    assert "sweep_run" in err and "dispatch_run" in err
    (envelope,) = handler.envelopes
    assert envelope.rcpt_tos == ["leder@example.dk"]
    assert str(parse(envelope)["Subject"]).startswith("Eskalering til leder")


def test_scheduler_run_refuses_a_bad_config_in_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'sched.db'}"
    overdue_engagement(db)
    config = tmp_path / "bad.toml"
    config.write_text("[scheduler]\nsweep_evry = 5\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORLOEB_DB": db, "FORLOEB_CONFIG": str(config)}
    proc = subprocess.run(
        [sys.executable, "-m", "forloeb", "--lang", "en", "scheduler", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "sweep_evry" in line


def test_scheduler_run_with_a_bad_digest_time_says_only_the_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'sched.db'}"
    overdue_engagement(db)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORLOEB_DB": db}
    env.pop("FORLOEB_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "forloeb", "--lang", "en", "scheduler", "run", "--digest-at", "25:00"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""  # no "scheduler running" line before the refusal
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "25:00" in line


def test_start_scheduler_in_process_raises_and_delivers(
    tmp_path: Path, smtp: tuple[Controller, Collector]
) -> None:
    controller, handler = smtp
    db = f"sqlite:///{tmp_path / 'app.db'}"
    engagement_id = overdue_engagement(db)
    router = Router.from_config(
        {
            "notifiers": {"email": {"url": f"smtp://127.0.0.1:{controller.port}?from={SENDER}"}},
            "address_book": {"anna": "anna@example.dk", "leder": "leder@example.dk"},
        }
    )
    with Engine.open(db, router=router) as engine:
        engine.start_scheduler(sweep_every=0.2, dispatch_every=0.2)
        with pytest.raises(InvalidData):
            engine.start_scheduler()  # one per engine
        try:
            assert wait_for(lambda: len(handler.envelopes) >= 2, 15)
            time.sleep(0.6)
        finally:
            started = time.monotonic()
            engine.stop_scheduler()
            assert time.monotonic() - started < 5
        engine.stop_scheduler()  # twice: harmless
        assert [r.level for r in engine.reminders(engagement_id=engagement_id)] == [1, 2]
    received = Counter(tuple(e.rcpt_tos) for e in handler.envelopes)
    assert received == {("anna@example.dk",): 1, ("leder@example.dk",): 1}


def test_scheduler_settings_are_checked() -> None:
    with Engine.open("sqlite://", migrate=True) as engine:
        for kwargs in ({"sweep_every": 0}, {"dispatch_every": -1}, {"digest_at": "25:00"}):
            with pytest.raises(InvalidData):
                engine.start_scheduler(**kwargs)  # type: ignore[arg-type]


def test_the_documented_example_config_loads() -> None:
    from forloeb.engine import load_settings

    env = {"FORLOEB_SMTP_PASSWORD": "x", "FORLOEB_WEBHOOK_SECRET": "y"}
    settings = load_settings(ROOT / "docs" / "forloeb.example.toml", environ=env)
    assert (settings.sweep_every, settings.dispatch_every, settings.digest_at) == (60, 15, "07:30")
    assert settings.router.resolve("leder") == "leder@example.dk"
    assert settings.deadlines["civil_society"]["self_help"] is None
    with Engine.open("sqlite://", migrate=True, **settings.engine_options()) as engine:
        stage = engine.workflow("individual_course").stage("first_contact")
        assert stage.deadline is not None and stage.deadline.amount == 3


class _Hang:
    """A receiver that accepts connections and never answers (a hung webhook)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[object] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # held open, never answered

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()  # type: ignore[attr-defined]


@pytest.mark.slow
def test_scheduler_run_stops_within_one_delivery_timeout_while_a_receiver_hangs(tmp_path: Path) -> None:
    hang = _Hang()
    db = f"sqlite:///{tmp_path / 'hang.db'}"
    for _ in range(6):
        overdue_engagement(db)  # 12 reminders due: 12 deliveries of up to 2 s each
    config = tmp_path / "forloeb.toml"
    config.write_text(
        f"""
[notifiers.hook]
type = "webhook"
url = "http://127.0.0.1:{hang.port}/forloeb"
secret_env = "HANG_SECRET"
timeout = 2

[[routes]]
channel = "hook"
""",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORLOEB_DB": db, "HANG_SECRET": "s3cret"}
    env.pop("FORLOEB_CONFIG", None)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "forloeb", "--lang", "en", "scheduler", "run"),
            *("--sweep-every", "1", "--dispatch-every", "1", "--config", str(config)),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: len(hang.accepted) >= 1, 30), "no delivery attempt within 30 s"
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        took = time.monotonic() - stopping
        print(f"scheduler stopped {took:.2f} s after SIGTERM with a hung receiver (timeout 2 s)")
        assert proc.returncode == 0
        # The delivery in flight runs into its 2 s timeout; nothing after it.
        assert took < 6, f"stop took {took:.1f} s"
        assert len(hang.accepted) <= 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        hang.close()
