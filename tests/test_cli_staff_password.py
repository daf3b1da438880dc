"""``forloeb staff password`` and the demo's console logins (issue 15), through
click's CliRunner as the user types them. In the tests the OS login is
``helpers.TEST_LOGIN``, the admin "tester"; a login that is no admin is given
with ``login=``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from helpers import TEST_LOGIN, counts

from forloeb import Actor, Engine, LoginFailed
from forloeb.cli import cli

ENV: dict[str, str | None] = {
    "FORLOEB_DB": None,
    "FORLOEB_ACTOR": None,
    "FORLOEB_ROLE": None,
    "FORLOEB_TEAMS": None,
    "FORLOEB_LANG": None,
    "FORLOEB_CONFIG": None,
}
PASSWORD = "vores lille hemmelighed"


def forloeb(db: str, *args: str, input: str | None = None, login: str = TEST_LOGIN) -> Result:
    logins = {name: login for name in ("LOGNAME", "USER", "LNAME", "USERNAME")}
    return CliRunner(env={**ENV, **logins}).invoke(cli, ["--db", db, *args], input=input)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 't.db'}"
    with Engine.open(url, migrate=True) as engine:
        engine.staff.update(Actor("tester"), "anna", login="anna")
    return url


def _logs_in(db: str, name: str, password: str) -> bool:
    with Engine.open(db) as engine:
        try:
            engine.logins.login(name, password)
        except LoginFailed:
            return False
        return True


def test_an_admin_sets_a_password_typed_twice(db: str) -> None:
    done = forloeb(db, "staff", "password", "anna", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert done.exit_code == 0, done.output
    # The prompts go to stderr; nothing typed is echoed, nor repeated in the answer.
    assert "Ny adgangskode til webkonsollen for anna" in done.stderr
    assert "Gentag adgangskoden" in done.stderr
    assert done.stdout.strip() == "Adgangskoden til webkonsollen er sat for anna."
    assert PASSWORD not in done.output
    assert _logs_in(db, "anna", PASSWORD)


def test_two_different_entries_are_asked_again(db: str) -> None:
    typed = f"{PASSWORD}\nnoget helt andet\n{PASSWORD}\n{PASSWORD}\n"
    done = forloeb(db, "--lang", "en", "staff", "password", "anna", input=typed)
    assert done.exit_code == 0, done.output
    assert "do not match" in done.stderr
    assert done.stdout.strip() == "The web-console password of anna is set."
    assert _logs_in(db, "anna", PASSWORD)


def test_stdin_reads_one_line(db: str) -> None:
    done = forloeb(db, "--json", "staff", "password", "anna", "--stdin", input=f"{PASSWORD}\nmore\n")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"staff_id": "anna", "password_set": True}
    assert PASSWORD not in done.output
    assert _logs_in(db, "anna", PASSWORD)


def test_anyone_sets_their_own_but_only_an_admin_anothers(db: str) -> None:
    done = forloeb(db, "staff", "password", "anna", "--stdin", input=PASSWORD, login="anna")
    assert done.exit_code == 0, done.output
    with Engine.open(db) as engine:
        before = counts(engine)
    refused = forloeb(db, "staff", "password", "bo", "--stdin", input=PASSWORD, login="anna")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Fejl: anna") and "adgangskode" in refused.stderr
    assert PASSWORD not in refused.output
    # An admin acting as anna (--as) is anna: her own password, not bo's.
    assert forloeb(db, "--as", "anna", "staff", "password", "bo", "--stdin", input=PASSWORD).exit_code == 1
    with Engine.open(db) as engine:
        assert counts(engine) == before
        assert not engine.logins.has_password("bo")


@pytest.mark.parametrize("typed", ["kort\n", "\n", "", "anna\n"])
def test_a_password_the_policy_refuses_is_one_line_and_writes_nothing(db: str, typed: str) -> None:
    with Engine.open(db) as engine:
        before = counts(engine)
    done = forloeb(db, "staff", "password", "anna", "--stdin", input=typed)
    assert done.exit_code == 1
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("Fejl: Ugyldige data")
    assert "Traceback" not in done.output
    with Engine.open(db) as engine:
        assert counts(engine) == before


# -- the demo's logins ------------------------------------------------------------------


_LOGIN_LINE = re.compile(r"^  (?P<who>\S+) / (?P<password>\S+)\s+\((?P<role>[^)]+)\)$", re.M)


def test_the_demo_prints_three_logins_that_work(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    done = forloeb(db, "demo", "--count", "1")
    assert done.exit_code == 0, done.output
    assert "Webkonsollen: forloeb --db " in done.stdout and "http://127.0.0.1:8080" in done.stdout
    found = {m["who"]: (m["password"], m["role"]) for m in _LOGIN_LINE.finditer(done.stdout)}
    assert {who: role for who, (_, role) in found.items()} == {
        "ahmed.s": "medarbejder",
        "hanne.l": "leder",
        "revisor": "revisor",
    }
    for who, (password, _) in found.items():
        assert len(password) >= 12
        assert _logs_in(db, who, password), who
    # A second run gives new passwords, in English and as JSON too.
    again = forloeb(db, "--json", "--lang", "en", "demo", "--count", "1")
    assert again.exit_code == 0, again.output
    shown: dict[str, Any] = json.loads(again.stdout)
    assert shown["console"] == "http://127.0.0.1:8080"
    logins = {x["staff_id"]: x for x in shown["logins"]}
    assert {k: v["role"] for k, v in logins.items()} == {
        "ahmed.s": "worker",
        "hanne.l": "supervisor",
        "revisor": "auditor",
    }
    assert logins["ahmed.s"]["password"] != found["ahmed.s"][0]
    assert _logs_in(db, "hanne.l", logins["hanne.l"]["password"])
    assert not _logs_in(db, "hanne.l", found["hanne.l"][0])
    english = forloeb(db, "--lang", "en", "demo", "--count", "1")
    assert "The web console: forloeb --db " in english.stdout and "(supervisor)" in english.stdout
