"""Logging with a library's manners.

An app that embeds the engine and configures nothing gets no line from
forloeb; an app that configures the standard library's ``logging`` gets
forloeb's lines there; ``configure_logging`` renders ours (console or JSON
lines) on the stream given. structlog's global configuration is never used.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import FIRST_CONTACT, PLAN, capture_logs, drive

from forloeb import Actor, Engagement, Engine, Event, configure_logging
from forloeb.engine import LogNotifier, Notification
from forloeb.engine._logging import ForloebLogger, get_logger

ROOT = Path(__file__).resolve().parents[1]

# Fires transitions (and a subscriber that fails, which logs an error with its
# traceback) in an app that sets up no logging at all.
EMBEDDING_APP = """
import sys
from forloeb import Actor, Engine, StaffMember

def broken(engagement, event):
    raise RuntimeError("the app's subscriber broke")

anna = Actor("anna", ["worker"])
with Engine.open("sqlite:///" + sys.argv[1], migrate=True) as engine:
    engine.staff.bootstrap([  # the app's staff register
        StaffMember(id="it", display_name="IT", roles=frozenset({"admin"})),
        StaffMember(id="anna", display_name="Anna", roles=frozenset({"worker"})),
    ])
    engine.subscribe(broken)
    e = engine.start("individual_course", subject="sag-1", source="skole", actor=anna)
    engine.fire(e.id, "make_contact", actor=anna)
    answers = {"what_brings_us": "Naboskab", "who_are_you": "Ny i opgangen"}
    engine.fire(e.id, "agree_shared_path", actor=anna, data=answers)
    print("fired", engine.get(e.id, actor=anna).version)
"""


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # This tree's forloeb, whatever is installed; and no FORLOEB_LOG_* from the shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORLOEB_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "app.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=True,
    )


def test_an_app_that_configures_no_logging_gets_no_line_from_forloeb(tmp_path: Path) -> None:
    done = _run(EMBEDDING_APP, tmp_path)
    assert done.stdout == "fired 3\n"
    assert done.stderr == ""


def test_configure_logging_writes_json_lines_to_stderr_and_nothing_to_stdout(tmp_path: Path) -> None:
    script = "from forloeb import configure_logging\nconfigure_logging('json')\n" + EMBEDDING_APP
    done = _run(script, tmp_path)
    assert done.stdout == "fired 3\n"
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(x["event"], x.get("trigger")) for x in lines if x["event"] in ("started", "transition")] == [
        ("started", "start"),
        ("transition", "make_contact"),
        ("transition", "agree_shared_path"),
    ]
    failures = [x for x in lines if x["event"] == "subscriber_failed"]
    assert len(failures) == 3
    assert failures[0]["level"] == "error"
    assert "RuntimeError: the app's subscriber broke" in failures[0]["exception"]


def test_configure_logging_writes_a_transition_as_json_on_the_stream_given(
    engine: Engine, worker: Actor
) -> None:
    e = drive(engine, worker, "shared_path")
    stream = io.StringIO()
    configure_logging("json", level="info", stream=stream)
    engine.fire(e.id, "set_own_path", actor=worker, data=PLAN)
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert {k: line[k] for k in ("event", "level", "engagement_id", "from_state", "to_state", "trigger")} == {
        "event": "transition",
        "level": "info",
        "engagement_id": e.id,
        "from_state": "shared_path",
        "to_state": "own_path",
        "trigger": "set_own_path",
    }
    assert line["timestamp"].endswith("Z")


def test_configure_logging_renders_console_text_and_replaces_its_own_handler(
    engine: Engine, worker: Actor
) -> None:
    e = drive(engine, worker, "first_contact")
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", level="info", stream=first)
    configure_logging("console", level="info", stream=second)
    engine.fire(e.id, "agree_shared_path", actor=worker, data=FIRST_CONTACT)
    assert first.getvalue() == ""
    (line,) = second.getvalue().splitlines()
    assert "[info     ] transition" in line
    assert f"engagement_id={e.id}" in line and "trigger=agree_shared_path" in line


def test_configure_logging_keeps_the_lines_from_the_root_logger(
    engine: Engine, worker: Actor, caplog: pytest.LogCaptureFixture
) -> None:
    # An app with its own logging set-up that also asks for ours gets each line once.
    caplog.set_level(logging.INFO)
    configure_logging("json", level="info", stream=io.StringIO())
    drive(engine, worker, "first_contact")
    assert [r for r in caplog.records if r.name == "forloeb"] == []


def test_an_app_with_plain_logging_gets_readable_lines_from_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="forloeb")
    get_logger().info("transition", engagement_id=7, trigger="make_contact")
    (record,) = caplog.records
    assert record.name == "forloeb" and record.levelno == logging.INFO
    assert record.getMessage() == "transition engagement_id=7 trigger='make_contact'"
    # The record names the code that logged, not the logger's insides.
    assert record.module == "test_logging"
    assert record.funcName == "test_an_app_with_plain_logging_gets_readable_lines_from_the_caller"


def test_an_exception_line_carries_the_traceback_to_plain_handlers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="forloeb")
    try:
        raise ValueError("broken")
    except ValueError:
        get_logger().exception("subscriber_failed", seq=3)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.exc_info[0] is ValueError
    assert record.getMessage() == "subscriber_failed seq=3"
    assert "ValueError: broken" in caplog.text


def test_a_filtered_out_line_builds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # The level is checked before the event is processed: a disabled line costs
    # a method call (the figure is in the report of issue 8: ~0.1 µs beyond
    # building the call's keyword arguments).
    def no_processing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a filtered-out line was processed")

    log = get_logger()
    monkeypatch.setattr(ForloebLogger, "_process_event", no_processing)
    logging.getLogger("forloeb").setLevel(logging.WARNING)
    log.debug("x", a=1)
    log.info("transition", a=1)
    log.log(logging.INFO, "transition", a=1)
    with pytest.raises(AssertionError):
        log.warning("x")


def test_the_log_notifier_and_the_engine_log_on_the_forloeb_logger(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "referral")
    seen: list[tuple[Engagement, Event]] = []
    engine.subscribe(lambda engagement, event: seen.append((engagement, event)))
    note = Notification(
        message_id="m-1",
        channel="log",
        recipient="anna",
        subject="Påmindelse",
        body="Forløb 1",
        created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    with capture_logs() as logs:
        engine.fire(e.id, "make_contact", actor=worker)
        LogNotifier().send(note)
    assert [x["event"] for x in logs] == ["transition", "notification"]
    assert len(seen) == 1


def test_forloeb_never_uses_structlogs_global_configuration() -> None:
    # structlog.get_logger() and friends log through structlog's global
    # configuration, which prints to stdout until an app configures it.
    found = []
    for path in sorted((ROOT / "forloeb").rglob("*.py")):
        if path.name == "_logging.py" and path.parent.name == "engine":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "structlog"
                and node.attr in ("get_logger", "getLogger", "wrap_logger", "configure", "configure_once")
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: structlog.{node.attr}")
    assert found == [], "log with forloeb.engine._logging.get_logger() instead:\n" + "\n".join(found)
