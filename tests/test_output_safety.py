"""Output that cannot bite (issue 12, M1 and M3): a CSV export keeps formulas as
text for a spreadsheet, and free text on a terminal cannot drive it; ids are
printable characters only.
"""

from __future__ import annotations

import pytest
from helpers import counts
from test_cli import db, ok, row_counts, run, start

from forloeb import Actor, Engine, InvalidData
from forloeb.cli._render import csv_cell, terminal_safe

ESC = "\x1b"
__all__ = ["db"]  # the CLI tests' database fixture, used here too


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example","klik")',
        "=cmd|' /C calc'!A0",
        "+team",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\rx",
    ],
)
def test_a_csv_cell_that_a_spreadsheet_would_run_is_kept_as_text(text: str) -> None:
    assert csv_cell(text) == "'" + text
    assert csv_cell("Tryghed i opgangen") == "Tryghed i opgangen"
    assert csv_cell(-3) == -3  # a number stays a number


def test_terminal_output_shows_escape_sequences_instead_of_running_them(db: str) -> None:
    e = start(db)
    note = f"ryd skærmen {ESC}[2J{ESC}]0;falsk titel\x07 skjult\u202etekst"
    ok(db, "note", str(e), note)
    out = ok(db, "history", str(e)).stdout
    assert ESC not in out and "\x07" not in out and "\u202e" not in out
    assert "\\u001b[2J" in out and "\\u202e" in out


def test_terminal_safe_keeps_newlines_tabs_and_danish_letters() -> None:
    assert terminal_safe("æøå ÆØÅ\n\tlinje 2") == "æøå ÆØÅ\n\tlinje 2"
    assert terminal_safe("a\rb\x9bc") == "a\\u000db\\u009bc"


@pytest.mark.parametrize("bad", ["bo\nforløb 1: lukket af leder", f"bo{ESC}[8m", "bo\u202e", "bo\x00"])
def test_an_id_with_control_characters_is_refused_and_nothing_is_written(
    engine: Engine, worker: Actor, bad: str
) -> None:
    before = counts(engine)
    with pytest.raises(InvalidData):
        engine.start("individual_course", subject="sag-1", source="skole", actor=worker, assignee=bad)
    assert counts(engine) == before


def test_a_refused_id_is_one_line_in_the_cli(db: str) -> None:
    before = row_counts(db)
    result = run(
        db, "start", "individual_course", "--subject", "sag-1", "--source", "skole", "--assignee", "bo\nfalsk"
    )
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert row_counts(db) == before
