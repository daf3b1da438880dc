"""``--out`` that cannot be bent (issue 12, M4) and export files for the owner only (L1).

Every command with ``--out``: an existing file is not overwritten without
``--force``, a symbolic link is never followed, a new file is 0600, and a
path that cannot be written is one line before anything is recorded (the
access-log entry of an export, the handover's event). A file created for an
export whose engine call then fails is removed again.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_cli import CLEAN_ENV, db, start
from test_handover import _handed_over

from forloeb import Actor, Engine
from forloeb.cli import cli
from forloeb.persistence import SqlStore

__all__ = ["db"]  # the CLI tests' database fixture, used here too

# Each command with --out, as who runs it ({eid}: a handed-over engagement).
COMMANDS: dict[str, list[str]] = {
    "audit query": ["--as", "revisor", "audit", "query", "--format", "csv"],
    "audit query table": ["--as", "revisor", "audit", "query"],
    "audit access": ["--as", "revisor", "audit", "access"],
    "audit access --for-subject": ["--as", "revisor", "audit", "access", "--for-subject", "sag-1"],
    "audit access-request": ["--as", "revisor", "audit", "access-request", "sag-1"],
    "audit checkpoint": ["--as", "revisor", "audit", "checkpoint"],
    "handover export": ["--as", "anna", "handover", "export", "{eid}"],
}


def invoke(db: str, *args: str) -> Result:
    return CliRunner(env=CLEAN_ENV).invoke(cli, ["--db", db, *args], catch_exceptions=False)


def everything(db: str) -> dict[str, int]:
    """Rows per table, the access log's too: an export is recorded there."""
    store = SqlStore.open(db)
    try:
        return store.row_counts()
    finally:
        store.close()


@pytest.fixture
def eid(db: str) -> int:
    with Engine.open(db) as engine:
        return _handed_over(engine, Actor("anna", ["worker"]))


def command(name: str, eid: int) -> list[str]:
    return [a.replace("{eid}", str(eid)) for a in COMMANDS[name]]


def one_line_refusal(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("name", COMMANDS)
def test_m4_out_refuses_to_overwrite_an_existing_file_without_force(
    db: str, eid: int, tmp_path: Path, name: str
) -> None:
    target = tmp_path / "udtræk.txt"
    target.write_text("tidligere udtræk", encoding="utf-8")
    before = everything(db)

    line = one_line_refusal(invoke(db, *command(name, eid), "--out", str(target)))

    assert "findes allerede" in line and "--force" in line
    assert target.read_text(encoding="utf-8") == "tidligere udtræk"
    assert everything(db) == before  # nothing recorded: no access-log entry, no event

    done = invoke(db, *command(name, eid), "--out", str(target), "--force")
    assert done.exit_code == 0, done.output
    assert target.read_text(encoding="utf-8") != "tidligere udtræk"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("name", COMMANDS)
def test_m4_out_never_follows_a_symbolic_link(db: str, eid: int, tmp_path: Path, name: str) -> None:
    elsewhere = tmp_path / "andet-sted.txt"
    elsewhere.write_text("må ikke røres", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(elsewhere)
    dangling = tmp_path / "peger-ud.txt"
    dangling.symlink_to(tmp_path / "findes-ikke.txt")
    before = everything(db)

    for path in (link, dangling):
        for force in ([], ["--force"]):
            line = one_line_refusal(invoke(db, *command(name, eid), "--out", str(path), *force))
            assert "symbolsk link" in line

    assert elsewhere.read_text(encoding="utf-8") == "må ikke røres"
    assert not (tmp_path / "findes-ikke.txt").exists()
    assert everything(db) == before


@pytest.mark.parametrize("name", COMMANDS)
def test_l1_a_new_export_file_is_for_its_owner_only(db: str, eid: int, tmp_path: Path, name: str) -> None:
    old = os.umask(0o022)  # the usual umask, which alone would give 0644
    try:
        target = tmp_path / "nyt.txt"
        result = invoke(db, *command(name, eid), "--out", str(target))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_size > 0


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("where", ["missing folder", "a folder", "below a file"])
def test_m4_a_path_that_cannot_be_written_is_one_line_before_anything_is_recorded(
    db: str, eid: int, tmp_path: Path, name: str, where: str
) -> None:
    (tmp_path / "fil.txt").write_text("x", encoding="utf-8")
    path, words = {
        "missing folder": (tmp_path / "findes-ikke" / "ud.txt", "findes ikke"),
        "a folder": (tmp_path, "en mappe"),
        "below a file": (tmp_path / "fil.txt" / "ud.txt", "ikke en mappe"),
    }[where]
    before = everything(db)

    line = one_line_refusal(invoke(db, *command(name, eid), "--out", str(path)))

    assert line.startswith(f"Fejl: Kan ikke skrive til {path}: ") and words in line, line
    assert everything(db) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root passes every permission check")
def test_m4_a_folder_without_write_permission_is_one_line(db: str, eid: int, tmp_path: Path) -> None:
    locked = tmp_path / "låst"
    locked.mkdir(mode=0o500)
    before = everything(db)
    line = one_line_refusal(invoke(db, *command("handover export", eid), "--out", str(locked / "ud.md")))
    assert "ingen adgang" in line
    assert everything(db) == before


def test_m4_the_refusal_is_english_with_lang_en(db: str, eid: int, tmp_path: Path) -> None:
    target = tmp_path / "ud.md"
    target.write_text("x", encoding="utf-8")
    line = one_line_refusal(
        invoke(db, "--lang", "en", *command("handover export", eid), "--out", str(target))
    )
    assert line == f"Error: Cannot write to {target}: the file exists already; use --force to overwrite it"


def test_m4_a_file_created_for_a_failed_export_is_removed(db: str, tmp_path: Path) -> None:
    referral = start(db)  # not handed over: the export is refused by the engine
    target = tmp_path / "pakke.md"
    result = invoke(db, "--as", "anna", "handover", "export", str(referral), "--out", str(target))
    assert result.exit_code == 1, result.output
    assert not target.exists()
    # An existing file given with --force is left as it was.
    target.write_text("den gamle pakke", encoding="utf-8")
    result = invoke(db, "--as", "anna", "handover", "export", str(referral), "--out", str(target), "--force")
    assert result.exit_code == 1, result.output
    assert target.read_text(encoding="utf-8") == "den gamle pakke"
