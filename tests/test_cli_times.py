"""Times on the command line around Denmark's clock changes (issue 9, item 7).

A time without an offset is Danish local time. On 2027-03-28 the clocks jump
from 02:00 to 03:00, so 02:30 does not exist: it is refused in one line. On
2027-10-31 they go back from 03:00 to 02:00, so 02:30 happens twice: it is
taken as the first (summer time, +02:00), and a note on stderr says so and how
to write the second.
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from forloeb.cli import cli
from forloeb.persistence import SqlStore

ENV: dict[str, str | None] = {
    "FORLOEB_DB": None,
    "FORLOEB_ACTOR": None,
    "FORLOEB_ROLE": None,
    "FORLOEB_LANG": None,
    "FORLOEB_CONFIG": None,
}


def run(db: str, *args: str) -> Result:
    return CliRunner(env=ENV).invoke(cli, ["--db", db, "--as", "leder", *args], catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "t.db")
    assert run(path, "init").exit_code == 0
    started = run(path, "--json", "start", "individual_course", "--subject", "sag-1", "--source", "skole")
    assert started.exit_code == 0, started.output
    return path


def row_counts(db: str) -> dict[str, int]:
    store = SqlStore.open(db)
    try:
        return store.row_counts()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("lang", "words"), [("da", "findes ikke i dansk tid"), ("en", "does not exist in Danish time")]
)
@pytest.mark.parametrize(
    "command",
    [["reminders", "sweep", "--now"], ["reminders", "dispatch", "--now"], ["reminders", "digest", "--now"]],
    ids=["sweep", "dispatch", "digest"],
)
def test_a_local_time_skipped_by_the_spring_clock_change_is_refused_in_one_line(
    db: str, command: list[str], lang: str, words: str
) -> None:
    before = row_counts(db)
    result = run(db, "--lang", lang, *command, "2027-03-28T02:30")
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(("Fejl: ", "Error: ")), line
    assert "--now 2027-03-28T02:30" in line and words in line
    assert "2027-03-28T02:30+01:00" in line  # how to say which instant is meant
    assert row_counts(db) == before


def test_the_refusal_is_a_json_object_with_json(db: str) -> None:
    result = run(db, "--json", "reminders", "sweep", "--now", "2027-03-28T02:30")
    assert result.exit_code == 2 and result.stdout == ""
    error = json.loads(result.stderr)
    assert error["error"] == "usage" and "2027-03-28T02:30" in error["message"]


def test_the_same_wall_time_with_an_offset_is_accepted(db: str) -> None:
    result = run(db, "--json", "reminders", "sweep", "--now", "2025-03-30T02:30+01:00")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("lang", "words"),
    [("da", "findes to gange i dansk tid"), ("en", "occurs twice in Danish time")],
)
def test_an_ambiguous_autumn_time_is_taken_as_the_first_with_a_note_on_stderr(
    db: str, lang: str, words: str
) -> None:
    # 26 October 2025 (in the past: a sweep may look back, not ahead of the clock).
    result = run(db, "--lang", lang, "--json", "reminders", "sweep", "--now", "2025-10-26T02:30")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []  # stdout stays JSON (nothing was due then)
    (note,) = result.stderr.splitlines()
    assert words in note and "--now 2025-10-26T02:30" in note
    assert "2025-10-26T02:30+02:00" in note  # the one taken: summer time
    assert "2025-10-26T02:30+01:00" in note  # how to ask for the second


def test_the_issues_examples_are_read_as_the_first_and_refused() -> None:
    # The time type itself, without an engine: what the CLI makes of the text.
    from forloeb.cli._context import TIME, LocalTimeError

    runner = CliRunner()
    with runner.isolation() as (_out, err, _both):
        taken = TIME.convert("2027-10-31T02:30", None, None)
        note = err.getvalue().decode()
    assert taken.utcoffset() == timedelta(hours=2) and taken.astimezone(UTC).hour == 0
    assert "2027-10-31T02:30+02:00" in note and "2027-10-31T02:30+01:00" in note
    with pytest.raises(LocalTimeError, match="2027-03-28T02:30"):
        TIME.convert("2027-03-28T02:30", None, None)


def test_until_is_read_the_same_way(db: str) -> None:
    # The note comes while the options are read, before the engine looks for the reminder.
    result = run(db, "reminders", "snooze", "999", "--until", "2099-10-25T02:30", "--reason", "ferie")
    note, error = result.stderr.splitlines()
    assert "--until 2099-10-25T02:30" in note and "2099-10-25T02:30+02:00" in note
    assert result.exit_code == 1 and error.startswith("Fejl: ") and "999" in error


def test_an_ordinary_local_time_gives_no_note(db: str) -> None:
    result = run(db, "--json", "reminders", "sweep", "--now", "2025-10-26T04:30")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
