"""Progress bars on long work (issue 8): ``demo``, ``audit verify`` and
``retention purge`` draw one on stderr when run on a terminal, and never with
``--json`` or when stdout is a pipe or a file.

The terminal is a real pseudo-terminal: the command runs in a child process
whose stdout and stderr are the pty (or only stderr, for the pipe case).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import FakeClock, drive

from forloeb import Actor, Engine

pty = pytest.importorskip("pty")  # POSIX only

ROOT = Path(__file__).resolve().parents[1]


def on_terminal(*args: str, stdout_too: bool = True) -> tuple[int, str, str]:
    """Run ``forloeb *args`` with stderr (and stdout unless told) on a pty: (exit code, pty text, stdout)."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    for name in ("FORLOEB_DB", "FORLOEB_LANG", "FORLOEB_ROLE", "FORLOEB_ACTOR", "FORLOEB_CONFIG"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "forloeb", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave if stdout_too else subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    piped = proc.stdout.read().decode() if proc.stdout is not None else ""
    code = proc.wait(timeout=60)
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace"), piped


def test_the_demo_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    code, text, _ = on_terminal("--db", str(tmp_path / "t.db"), "demo", "--count", "3")
    assert code == 0, text
    assert "Opretter eksempelforløb" in text and "100%" in text
    assert "Demo: 3 forløb tilføjet" in text  # the usual output follows


def test_the_demo_shows_no_bar_with_json_or_into_a_pipe(tmp_path: Path) -> None:
    code, text, _ = on_terminal("--db", str(tmp_path / "t.db"), "--json", "demo", "--count", "2")
    assert code == 0, text
    assert "Opretter" not in text and "%" not in text
    code, text, piped = on_terminal("--db", str(tmp_path / "t.db"), "demo", "--count", "2", stdout_too=False)
    assert code == 0, text
    assert text == ""  # stderr on the terminal stays empty: stdout is not one
    assert "Demo: 2 forløb tilføjet" in piped


def test_audit_verify_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    assert on_terminal("--db", db, "--json", "demo", "--count", "2")[0] == 0
    # The demo made whoever ran it the database's admin and a supervisor: one who may verify.
    code, text, _ = on_terminal("--db", db, "--role", "supervisor", "audit", "verify")
    assert code == 0, text
    assert "Kontrollerer hændelser" in text and "100%" in text
    assert "Hændelsesloggen er intakt" in text
    code, text, _ = on_terminal("--db", db, "--role", "supervisor", "--json", "audit", "verify")
    assert code == 0, text
    assert "Kontrollerer" not in text and '"ok": true' in text


def test_retention_purge_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    anna = Actor("anna", ["worker"])
    # Two engagements closed in 2019: past the five years when the purge runs.
    with Engine.open(url, migrate=True, clock=FakeClock(datetime(2019, 3, 4, 9, 0, tzinfo=UTC))) as engine:
        for subject in ("sag-1", "sag-2"):
            drive(engine, anna, "closed", subject=subject)
    code, text, _ = on_terminal(
        "--db", url, "--as", "leder", "--role", "supervisor", "retention", "purge", "--yes"
    )
    assert code == 0, text
    assert "Sletter forløb" in text and "100%" in text
    assert text.count("slettet") == 2
