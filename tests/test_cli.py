"""The ``forloeb`` command line: parse, call the engine, render."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from helpers import TEST_LOGIN, FakeClock

from forloeb import Actor, Engine
from forloeb.cli import cli, main, mermaid
from forloeb.engine import GENESIS
from forloeb.persistence import SCHEMA_HEAD, SqlStore
from forloeb.workflows import BUILTIN
from forloeb.workflows import mermaid as draw

ROOT = Path(__file__).resolve().parents[1]
PLAN = [
    "--data",
    "focus=Tryghed",
    "--data",
    "goals=Bedre lys",
    "--data",
    "plan=Gåtur med boligorganisationen",
]
# The tests must not pick up a developer's own settings.
CLEAN_ENV: dict[str, str | None] = {
    "FORLOEB_DB": None,
    "FORLOEB_ACTOR": None,
    "FORLOEB_ROLE": None,
    "FORLOEB_LANG": None,
}


def run(db: str, *args: str) -> Result:
    return CliRunner(env=CLEAN_ENV).invoke(cli, ["--db", db, "--as", "anna", *args], catch_exceptions=False)


def ok(db: str, *args: str) -> Result:
    result = run(db, *args)
    assert result.exit_code == 0, result.output
    return result


def ok_json(db: str, *args: str) -> Any:
    return json.loads(ok(db, "--json", *args).stdout)


def row_counts(db: str) -> dict[str, int]:
    """Rows per table but the access log's (a refused attempt is itself logged: issue 11)."""
    store = SqlStore.open(db)
    try:
        return {k: v for k, v in store.row_counts().items() if k not in ("access_log", "access_chains")}
    finally:
        store.close()


def start(db: str, workflow: str = "individual_course", source: str = "skole") -> int:
    e = ok_json(db, "start", workflow, "--subject", "sag-1", "--source", source)
    return int(e["id"])


def drive(db: str, engagement_id: int, *steps: list[str]) -> None:
    for step in steps:
        ok(db, "fire", str(engagement_id), *step)


# The first contact's required questions, and rounding off's (version 2).
CONTACT = ["--data", "what_brings_us=Utryghed i opgangen", "--data", "who_are_you=Beboer i Fyrreparken"]
ROUNDED = ["--data", "status=Bedre lys i opgangen", "--data", "achievements=Kender naboerne"]
TO_SHARED_PATH = (["make_contact"], ["agree_shared_path", *CONTACT])
TO_CLOSED = (
    *TO_SHARED_PATH,
    ["set_own_path", *PLAN],
    ["act", *PLAN],
    ["reach_self_help"],
    ["round_off", "--data", 'level="can"'],
    ["close", *ROUNDED, "--data", "outcome=goal_reached"],
)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "t.db")
    ok(path, "init")
    return path


# -- init and start ------------------------------------------------------------


def test_init_says_the_database_is_ready(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    assert "Database klar: sqlite:///" in ok(path, "init").stdout
    assert "Database ready:" in ok(path, "--lang", "en", "init").stdout  # again: already at head
    assert ok_json(path, "init")["schema"] == SCHEMA_HEAD


def test_start_json(db: str) -> None:
    e = ok_json(db, "start", "individual_course", "--subject", "sag-1", "--source", "skole")
    assert e["workflow"] == "individual_course"
    assert e["state"] == "referral"
    assert e["version"] == 1
    assert e["cycle"] == 1
    assert isinstance(e["id"], int)


def test_start_human_and_all_options(db: str) -> None:
    result = ok(
        db,
        "start",
        "civil_society",
        "--subject",
        "forening-7",
        "--source",
        "foreninger",
        "--assignee",
        "sara",
        "--supervisor",
        "hanne",
        "--team",
        "Civilsamfund og lokalt engagement",
        "--tag",
        "tryghed og trivsel",
        "--tag",
        "beskæftigelse",
        "--data",
        "reason=Vil starte en lektiecafé",
        "--idempotency-key",
        "start-1",
    )
    assert result.stdout.startswith("Forløb 1 startet: Henvendelse / henvisning (version 1)")
    assert "Frist: " in result.stdout
    e = ok_json(db, "show", "1")
    assert (e["assignee"], e["supervisor"], e["team"]) == (
        "sara",
        "hanne",
        "Civilsamfund og lokalt engagement",
    )
    assert e["tags"] == ["tryghed og trivsel", "beskæftigelse"]
    assert e["data"]["referral"] == {"source": "foreninger", "reason": "Vil starte en lektiecafé"}
    assert [x["id"] for x in ok_json(db, "list", "--tag", "beskæftigelse")] == [1]


def test_data_values_are_json_when_they_parse(db: str) -> None:
    e = ok_json(
        db,
        "start",
        "civil_society",
        "--subject",
        "forening-1",
        "--source",
        "foreninger",
        "--data",
        "participants=3",
        "--data",
        'partners=["skole","uu"]',
        "--data",
        'referred_by="007"',
        "--data",
        "contact_person=007",
        "--data",
        "reason=mål nået = godt",
        "--data",
        "participants=4",
    )
    assert e["data"]["referral"] == {
        "source": "foreninger",
        "referred_by": "007",
        "reason": "mål nået = godt",
    }
    assert e["data"]["_fields"] == {
        "participants": 4,  # the last one wins
        "partners": ["skole", "uu"],
        "contact_person": "007",
    }
    ok(db, "fire", str(e["id"]), "make_contact")
    e = ok_json(db, "record", str(e["id"]), "--data", "dreams=NaN", "--data", "challenges=")
    assert e["data"]["first_contact"] == {"dreams": "NaN", "challenges": ""}


# -- the path --------------------------------------------------------------------


def test_happy_path_to_closed_with_a_hash_chained_history(db: str) -> None:
    eid = start(db)
    drive(db, eid, *TO_CLOSED[:-1])
    closed = ok_json(db, "fire", str(eid), *TO_CLOSED[-1])
    assert closed["state"] == "closed"
    assert closed["version"] == 8
    assert closed["data"]["self_help"] == {"level": "can"}
    assert closed["data"]["rounding_off"] == {
        "status": "Bedre lys i opgangen",
        "achievements": "Kender naboerne",
        "outcome": "goal_reached",
    }

    events = ok_json(db, "history", str(eid))
    assert [e["seq"] for e in events] == list(range(1, 9))
    assert events[0]["type"] == "started"
    assert events[0]["prev_hash"] == GENESIS
    for before, after in itertools.pairwise(events):
        assert after["prev_hash"] == before["hash"]
    assert events[-1]["hash"] == closed["head_hash"]
    assert [e["trigger"] for e in events[1:]] == [s[0] for s in TO_CLOSED]
    assert {e["actor"] for e in events} == {"anna"}


def test_fire_human_output_and_options_after_the_command(db: str) -> None:
    eid = start(db)
    result = ok(db, "fire", str(eid), "make_contact", "--note", "Ringede op")
    assert result.stdout.startswith(f"Forløb {eid}: Tag første kontakt → Den første kontakt (version 2)")
    result = ok(db, "fire", str(eid), "agree_shared_path", *CONTACT, "--lang", "en")
    assert result.stdout.startswith(f"Engagement {eid}: Go to the shared path → The shared path (version 3)")
    e = json.loads(ok(db, "show", str(eid), "--json").stdout)
    assert e["state"] == "shared_path"
    events = json.loads(ok(db, "history", str(eid), "--json").stdout)
    assert events[1]["data"]["note"] == "Ringede op"


def test_pause_resume_revise_begin_anew_withdraw_and_reopen(db: str) -> None:
    eid = start(db)
    drive(db, eid, *TO_SHARED_PATH, ["set_own_path", *PLAN], ["act", *PLAN])
    ok(db, "activity", str(eid), "wonder", "--description", "Hvorfor går det i stå?")
    paused = ok_json(db, "fire", str(eid), "pause", "--data", "reason=Indlagt")
    assert (paused["state"], paused["paused_from"]) == ("paused", "action")
    assert "Sat på pause (fra Handling)" in ok(db, "show", str(eid)).stdout
    assert ok_json(db, "fire", str(eid), "resume")["state"] == "action"
    assert ok_json(db, "fire", str(eid), "revise_own_path")["state"] == "own_path"
    drive(db, eid, ["act"], ["reach_self_help"], ["round_off", "--data", "level=does"])
    anew = ok_json(db, "fire", str(eid), "begin_anew", *ROUNDED)
    assert (anew["state"], anew["cycle"]) == ("shared_path", 2)
    assert ok_json(db, "fire", str(eid), "withdraw", "--data", "reason=Flyttet")["state"] == "closed"
    # A supervisor reopens (anna is a worker: a typed-in --role cannot make her one).
    reopened = ok_json(db, "--as", "leder", "--role", "supervisor", "fire", str(eid), "reopen")
    assert reopened["state"] == "shared_path"
    assert ok_json(db, "history", str(eid))[-1]["role"] == "supervisor"


def test_hand_over(db: str) -> None:
    eid = start(db, source="jobcenter")
    drive(db, eid, *TO_CLOSED[:-1])
    # Consent as the basis names a recorded consent covering the receiver.
    given = ok_json(
        db,
        "consent",
        "give",
        str(eid),
        "--information",
        "plan,status",
        "--to",
        "jobcenter",
        "--purpose",
        "Overgang til jobcentret",
    )
    e = ok_json(
        db,
        "fire",
        str(eid),
        "hand_over",
        *ROUNDED,
        "--data",
        "receiver=jobcenter",
        "--data",
        f"legal_basis=samtykke:{given['version']}",
    )
    assert e["state"] == "handed_over"
    assert e["data"]["rounding_off"]["legal_basis"] == f"consent:{given['version']}"
    assert "Overdraget til en anden aktør" in ok(db, "list").stdout


def test_record_and_activity(db: str) -> None:
    eid = start(db)
    drive(db, eid, *TO_SHARED_PATH)
    result = ok(db, "record", str(eid), "--data", "focus=Tryghed")
    assert result.stdout.startswith(f"Forløb {eid}: registreret i Den fælles vej (version 4)")
    ok(db, "fire", str(eid), "set_own_path", "--data", "goals=Lys", "--data", "plan=Gåtur")
    drive(db, eid, ["act", *PLAN])
    result = ok(
        db,
        "activity",
        str(eid),
        "collaborate",
        "--description",
        "Møde med boligorganisationen",
        "--data",
        'with_whom=["boligorganisation"]',
    )
    assert "aktivitet registreret – Samarbejder med andre" in result.stdout
    e = ok_json(db, "show", str(eid))
    assert e["data"]["shared_path"] == {"focus": "Tryghed", "goals": "Lys", "plan": "Gåtur"}
    (activity,) = e["data"]["action"]["activities"]
    assert (activity["kind"], activity["description"], activity["by"]) == (
        "collaborate",
        "Møde med boligorganisationen",
        "anna",
    )
    shown = ok(db, "show", str(eid)).stdout
    assert "Samarbejder med andre: Møde med boligorganisationen" in shown
    assert "fokus: Tryghed" in shown


# -- reading ---------------------------------------------------------------------


def test_triggers_say_what_is_missing_in_the_chosen_language(db: str) -> None:
    eid = start(db)
    drive(db, eid, *TO_SHARED_PATH)
    for lang, word in (("da", "fokus"), ("en", "focus")):
        options = json.loads(ok(db, "triggers", str(eid), "--json", "--lang", lang).stdout)
        by_trigger = {o["trigger"]: o for o in options}
        own = by_trigger["set_own_path"]
        assert own["allowed"] is False
        assert own["requires"] == ["focus", "goals", "plan"]
        assert word in own["reason"]
        assert set(own) == {"trigger", "dest", "allowed", "requires", "reason"}
    human = ok(db, "triggers", str(eid)).stdout
    assert "Gå til beboerens vej" in human
    assert "kræver: fokus, mål, plan" in human


def test_show_list_and_history_human_output(db: str) -> None:
    eid = start(db)
    drive(db, eid, *TO_SHARED_PATH)
    shown = ok(db, "show", str(eid)).stdout
    assert "Den fælles vej (runde 1)" in shown
    assert "Medarbejder:" in shown and "Kilde:" in shown and "Skole" in shown
    listed = ok(db, "list").stdout.splitlines()
    assert listed[0].split()[:3] == ["ID", "Arbejdsgang", "Fase"]
    assert "Den fælles vej" in listed[1]
    assert "The shared path" in ok(db, "--lang", "en", "list").stdout
    assert ok(db, "list", "--state", "closed").stdout.strip() == "Ingen forløb."
    lines = ok(db, "history", str(eid)).stdout.splitlines()
    assert len(lines) == 3
    assert "Tag første kontakt: Henvendelse / henvisning → Den første kontakt" in lines[1]


def test_list_filters(db: str) -> None:
    a = start(db)
    b = start(db, "civil_society", "beboere")
    drive(db, b, ["make_contact"])
    assert [e["id"] for e in ok_json(db, "list")] == [a, b]
    assert [e["id"] for e in ok_json(db, "list", "--workflow", "civil_society")] == [b]
    assert [e["id"] for e in ok_json(db, "list", "--state", "referral")] == [a]
    assert [e["id"] for e in ok_json(db, "list", "--limit", "1")] == [a]
    assert ok_json(db, "list", "--stale") == []  # nothing is overdue yet


# -- workflows ---------------------------------------------------------------------


def test_workflows_list(db: str) -> None:
    listed = ok_json(db, "workflows", "list")
    assert listed == [{"name": d.name, "version": d.version, "labels": d.labels.as_dict()} for d in BUILTIN]
    assert "Individuelle forløb" in ok(db, "workflows", "list").stdout


def test_workflows_show_json_shape(db: str) -> None:
    shown = json.loads(ok(db, "workflows", "show", "individual_course", "--json").stdout)
    # Today's keys, and what version 2 adds (questions, results, registers).
    assert set(shown) == {
        "name",
        "version",
        "labels",
        "stages",
        "transitions",
        "referral_sources",
        "choices",
        "description",
        "subject_label",
        "outcomes",
        "partners",
        "activities",
        "self_help",
        "fields",
    }
    assert (shown["name"], shown["version"]) == ("individual_course", 2)
    for stage in shown["stages"]:
        assert {"key", "labels", "kind", "deadline", "questions"} <= set(stage)
        assert set(stage["labels"]) == {"da", "en"}
    stages = {s["key"]: s for s in shown["stages"]}
    assert stages["referral"]["deadline"] == {"amount": 10, "unit": "working_days", "rearm": False}
    assert stages["closed"]["deadline"] is None
    assert stages["closed"]["labels"]["da"] == "Afsluttet"
    questions = {q["key"]: q for q in stages["first_contact"]["questions"]}
    assert questions["what_brings_us"]["labels"]["da"] == "Hvad bringer os sammen?"
    assert questions["what_brings_us"]["required"] is True
    assert questions["date"]["kind"] == "date"
    for t in shown["transitions"]:
        assert {"trigger", "source", "dest", "roles", "requires", "labels", "questions", "outcomes"} <= set(t)
        assert t["roles"] == sorted(t["roles"])
    by_trigger = {t["trigger"]: t for t in shown["transitions"]}
    assert by_trigger["close"]["outcomes"] == ["goal_reached", "partly_reached", "not_reached"]
    assert by_trigger["back_to_action"]["flexible"] is True
    assert [o["key"] for o in shown["outcomes"]][:3] == ["goal_reached", "partly_reached", "not_reached"]
    assert by_trigger["reopen"]["roles"] == ["supervisor"]
    assert by_trigger["resume"]["dest"] == "@paused_from"
    assert [s["key"] for s in shown["referral_sources"]] == [
        "uu",
        "daginstitution",
        "skole",
        "jobcenter",
        "socialcenter",
        "sagsbehandler",
        "boligorganisation",
        "beboer_selv",
    ]
    assert [c["key"] for c in shown["choices"]["level"]] == ["wants", "can", "does"]
    assert len(shown["choices"]["kind"]) == 5

    civil = ok_json(db, "workflows", "show", "civil_society")
    assert [s["key"] for s in civil["referral_sources"]] == [
        "beboere",
        "grupper",
        "foreninger",
        "samarbejdspartner",
    ]
    assert {s["key"]: s["labels"]["da"] for s in civil["stages"]}["own_path"] == "Aktørens vej"


def test_workflows_show_human(db: str) -> None:
    out = ok(db, "workflows", "show", "individual_course").stdout
    for text in (
        "Metode: Individuelt forløb",
        "Henvendelse / henvisning",
        "set_own_path",
        "kræver: fokus, mål, plan",
        "beboer_selv",
        "* Hvad bringer os sammen?",
        "Resultater",
        "Henvist videre",
        "Samarbejdspartnere",
    ):
        assert text in out
    civil = ok(db, "workflows", "show", "civil_society").stdout
    assert "Hvem er I?" in civil and "Hvem er du?" not in civil
    old = ok(db, "workflows", "show", "individual_course", "--version", "1").stdout
    assert "Individuelle forløb (individual_course, version 1)" in old


@pytest.mark.parametrize(("name", "version"), [(d.name, d.version) for d in BUILTIN])
def test_workflows_diagram_mermaid(db: str, name: str, version: int) -> None:
    out = ok(db, "workflows", "diagram", name, "--format", "mermaid", "--version", str(version)).stdout
    assert out.startswith("stateDiagram-v2\n")
    definition = next(d for d in BUILTIN if (d.name, d.version) == (name, version))
    # The diagram of forloeb.workflows (tests/test_diagram.py renders it with Mermaid's own renderer).
    assert out == draw(definition, "da") + "\n"
    for stage in definition.stages:
        assert f" as {stage.key}" in out
    assert "[*] --> referral" in out
    assert mermaid(definition, "en") == draw(definition, "en")


def test_workflows_need_no_database(tmp_path: Path) -> None:
    path = str(tmp_path / "never.db")
    ok(path, "workflows", "show", "civil_society")
    assert not os.path.exists(path)


# -- bad input: one line on stderr, exit code != 0, nothing written ----------------


@pytest.fixture
def ids(db: str) -> dict[str, str]:
    referral = start(db)
    shared = start(db)
    drive(db, shared, *TO_SHARED_PATH)
    closed = start(db)
    drive(db, closed, *TO_CLOSED)
    return {"referral": str(referral), "shared": str(shared), "closed": str(closed)}


BAD = [
    ("unknown workflow", ["start", "nope", "--subject", "s", "--source", "skole"], 1, "Ukendt metode"),
    ("unknown engagement", ["fire", "999", "make_contact"], 1, "Forløb 999 findes ikke"),
    ("unknown engagement (show)", ["show", "999"], 1, "Forløb 999 findes ikke"),
    ("unknown trigger", ["fire", "{referral}", "fly"], 1, "Ukendt skridt 'fly'"),
    (
        "not allowed in state",
        ["fire", "{referral}", "close"],
        1,
        "Handlingen »Afslut forløbet« er ikke mulig",
    ),
    ("guard", ["fire", "{shared}", "set_own_path"], 1, "kræver: fokus, mål, plan"),
    ("guard (en)", ["--lang", "en", "fire", "{shared}", "set_own_path"], 1, "needs: focus, goals, plan"),
    ("auditor fires", ["--as", "revisor", "fire", "{referral}", "make_contact"], 1, "må ikke"),
    ("worker reopens", ["--role", "worker", "fire", "{closed}", "reopen"], 1, "kræver en af: supervisor"),
    (
        "stale version",
        ["fire", "{referral}", "make_contact", "--expect-version", "7"],
        1,
        "forventet version 7",
    ),
    ("no '='", ["fire", "{referral}", "make_contact", "--data", "oops"], 2, "nøgle=værdi"),
    ("empty key", ["fire", "{referral}", "make_contact", "--data", "=x"], 2, "nøgle=værdi"),
    ("over 64 KiB", ["fire", "{referral}", "make_contact", "--data", "big=" + "x" * 70000], 1, "64 KiB"),
    ("bad source", ["start", "individual_course", "--subject", "s", "--source", "x"], 1, "henvisningskilde"),
    ("cpr", ["start", "individual_course", "--subject", "010190-1234", "--source", "skole"], 1, "CPR"),
    ("undeclared key", ["record", "{shared}", "--data", "challange=x"], 1, "tager ikke imod »challange«"),
    ("activity outside action", ["activity", "{shared}", "wonder"], 1, "»Registrér aktivitet«"),
    ("empty note", ["note", "{referral}", " "], 1, "notat"),
]


def assert_one_error_line(result: Result, exit_code: int, text: str) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert text in lines[0]
    return lines[0]


@pytest.mark.parametrize(("args", "exit_code", "text"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_writes_nothing(
    db: str, ids: dict[str, str], args: list[str], exit_code: int, text: str
) -> None:
    before = row_counts(db)
    line = assert_one_error_line(run(db, *(a.format(**ids) for a in args)), exit_code, text)
    assert line.startswith("Fejl: ") or line.startswith("Error: ")
    assert row_counts(db) == before


def test_errors_with_json_are_json_on_stderr(db: str, ids: dict[str, str]) -> None:
    before = row_counts(db)
    line = assert_one_error_line(run(db, "--json", "fire", ids["shared"], "set_own_path"), 1, "fokus")
    error = json.loads(line)
    assert error["error"] == "transition_not_allowed"
    assert error["type"] == "GuardFailed"
    line = assert_one_error_line(run(db, "fire", ids["referral"], "x", "--data", "oops", "--json"), 2, "oops")
    assert json.loads(line)["error"] == "usage"
    assert row_counts(db) == before


def test_a_database_never_initialised_says_run_init(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    for args in (
        ["list"],
        ["show", "1"],
        ["start", "individual_course", "--subject", "s", "--source", "skole"],
    ):
        assert_one_error_line(run(str(path), *args), 1, "forloeb init")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


# -- text and idempotency ----------------------------------------------------------


def test_danish_letters_and_emoji_round_trip(db: str) -> None:
    eid = start(db)
    text = "Mødt på kontoret 😊 – æøå ÆØÅ"
    ok(db, "note", str(eid), text)
    events = ok_json(db, "history", str(eid))
    assert events[-1]["type"] == "note"
    assert events[-1]["data"]["text"] == text
    assert text in ok(db, "history", str(eid)).stdout
    drive(db, eid, *TO_SHARED_PATH)
    ok(db, "record", str(eid), "--data", "focus=Tryghed i opgangen ✨")
    assert ok_json(db, "show", str(eid))["data"]["shared_path"]["focus"] == "Tryghed i opgangen ✨"


def test_idempotency_key(db: str) -> None:
    eid = str(start(db))
    first = ok_json(db, "fire", eid, "make_contact", "--idempotency-key", "k1")
    counts = row_counts(db)
    again = ok_json(db, "fire", eid, "make_contact", "--idempotency-key", "k1")
    assert again["version"] == first["version"] == 2
    assert again == first
    assert row_counts(db) == counts
    assert_one_error_line(run(db, "fire", eid, "agree_shared_path", "--idempotency-key", "k1"), 1, "k1")
    assert row_counts(db) == counts
    # Reading the history is access-logged (a row in access_log), so it comes last.
    assert len(ok_json(db, "history", eid)) == 2


# -- demo and the entry points -----------------------------------------------------


@pytest.mark.empty_register  # fresh: the demo makes whoever runs it the admin and a supervisor
def test_demo_on_a_fresh_database(tmp_path: Path) -> None:
    # As whoever runs it (no --as): the demo registers that login as the admin and a supervisor.
    def you(path: str, *args: str) -> Result:
        done = CliRunner(env=CLEAN_ENV).invoke(cli, ["--db", path, *args], catch_exceptions=False)
        assert done.exit_code == 0, done.output
        return done

    def you_json(path: str, *args: str) -> Any:
        return json.loads(you(path, "--json", *args).stdout)

    path = str(tmp_path / "demo.db")
    result = you(path, "demo")
    for label in (
        "Individuelt forløb",
        "Civilsamfund",
        "Afsluttet",
        "Handling",
        "Overdraget til en anden aktør",
        "Henvist videre",
        "Sat på pause",
    ):
        assert label in result.stdout
    assert "Prøv: forloeb" in result.stdout
    engagements = you_json(path, "list")
    assert {e["workflow"] for e in engagements} == {"individual_course", "civil_society"}
    states = {e["state"] for e in engagements}
    assert {"closed", "handed_over", "referred_on", "paused", "action", "referral"} <= states
    assert any(e["cycle"] == 2 for e in engagements)
    handed = next(e for e in engagements if e["state"] == "handed_over")
    assert handed["data"]["rounding_off"]["receiver"] == "jobcenter"
    assert handed["data"]["rounding_off"]["legal_basis"].startswith("consent:")
    assert you_json(path, "list", "--stale")  # back-dated: some are overdue
    # A second run adds its set again; --count limits it.
    added = you_json(path, "demo", "--count", "3")
    assert len(added["created"]) == 3
    assert len(you_json(path, "list")) == len(engagements) + 3


def test_main_is_a_function() -> None:
    assert callable(main)


def test_python_dash_m_help() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "forloeb", "--help"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: forloeb" in done.stdout
    for command in ("init", "start", "fire", "triggers", "show", "list", "history", "demo", "workflows"):
        assert command in done.stdout


def test_verbose_logs_go_to_stderr_and_json_stays_clean(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORLOEB_DB": str(tmp_path / "t.db")}
    env.pop("FORLOEB_LANG", None)

    def forloeb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "forloeb", *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    assert forloeb("init").returncode == 0  # you are the first admin; make yourself a worker too
    assert forloeb("staff", "update", TEST_LOGIN, "--roles", "admin,worker").returncode == 0
    done = forloeb("-v", "--json", "start", "individual_course", "--subject", "sag-1", "--source", "uu")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "referral"
    assert "started" in done.stderr
    quiet = forloeb("--json", "fire", "1", "make_contact")
    assert quiet.returncode == 0 and quiet.stderr == ""


# -- reminders and delivery (issue 3) ------------------------------------------------------

# Engagements started long ago (a clock of the test's own), swept at a time that
# is past, yet after every deadline: a sweep may not run ahead of the clock (issue 11).
LONG_AGO = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
FAR = "2025-09-01T09:00"


def start_long_ago(db: str, subject: str, **kwargs: Any) -> int:
    with Engine.open(db, clock=FakeClock(LONG_AGO)) as engine:
        return engine.start(
            "individual_course", subject=subject, source="skole", actor=Actor("anna", ["worker"]), **kwargs
        ).id


def rrun(db: str, *args: str) -> Result:
    env = {**CLEAN_ENV, "FORLOEB_CONFIG": None}
    return CliRunner(env=env).invoke(cli, ["--db", db, "--as", "leder", *args], catch_exceptions=False)


def test_reminders_sweep_dispatch_list_ack_snooze_and_digest(db: str) -> None:
    start_long_ago(db, "sag-1")
    engagement_id = start_long_ago(db, "sag-2", assignee="anna", supervisor="leder")
    swept = rrun(db, "--lang", "en", "reminders", "sweep", "--now", FAR)
    assert swept.exit_code == 0, swept.output
    assert f"Engagement {engagement_id}: Referral, level 1 to anna" in swept.output
    assert f"Engagement {engagement_id}: Referral, level 2 to leder" in swept.output
    assert json.loads(rrun(db, "--json", "reminders", "sweep", "--now", FAR).stdout) == []  # once
    listed = json.loads(rrun(db, "--json", "reminders", "list", "--supervisor", "leder", "--open").stdout)
    assert [(r["engagement_id"], r["level"]) for r in listed] == [(engagement_id, 1), (engagement_id, 2)]
    human = rrun(db, "reminders", "list", "--assignee", "anna")
    assert human.exit_code == 0 and "åben" in human.output
    first = listed[0]["id"]
    acked = rrun(db, "reminders", "ack", str(first))
    assert acked.exit_code == 0 and f"Påmindelse {first} kvitteret" in acked.output
    snoozed = rrun(
        db,
        "--json",
        "reminders",
        "snooze",
        str(listed[1]["id"]),
        "--until",
        "2099-01-01T08:00",
        "--reason",
        "Afventer svar fra skolen",
    )
    assert snoozed.exit_code == 0, snoozed.output
    assert json.loads(snoozed.stdout)["snooze_reason"] == "Afventer svar fra skolen"
    open_now = json.loads(rrun(db, "--json", "reminders", "list", "--open", "--supervisor", "leder").stdout)
    assert [r["id"] for r in open_now] == [listed[1]["id"]]
    queued = json.loads(rrun(db, "--json", "reminders", "digest", "--now", FAR).stdout)
    assert queued["enqueued"] == 1
    assert json.loads(rrun(db, "--json", "reminders", "digest", "--now", FAR).stdout)["enqueued"] == 0
    # No configuration: everything goes to the log and counts as delivered.
    result = json.loads(rrun(db, "--json", "reminders", "dispatch", "--now", FAR).stdout)
    assert (result["delivered"], result["retried"], result["dead"]) == (5, 0, 0)  # 4 reminders, 1 digest
    again = rrun(db, "reminders", "dispatch", "--now", FAR)
    assert "Leveret: 0, prøves igen: 0, opgivet: 0" in again.output
    assert "Ingen fejlede beskeder." in rrun(db, "reminders", "list", "--failed").output


def test_list_stale_shows_overdue_engagements(db: str) -> None:
    start(db)
    assert ok_json(db, "list", "--stale") == []  # due in five working days
    store = SqlStore.open(db)
    try:
        with store.sa_engine.begin() as conn:
            conn.exec_driver_sql("UPDATE engagements SET stage_due_at = '2020-01-01 00:00:00.000000'")
    finally:
        store.close()
    assert [e["id"] for e in ok_json(db, "list", "--stale")] == [1]


@pytest.mark.parametrize(
    ("args", "exit_code", "text"),
    [
        (["reminders", "ack", "999"], 1, "999"),
        (["reminders", "snooze", "{rid}", "--until", "2099-01-01T08:00"], 2, "--reason"),
        (["reminders", "snooze", "{rid}", "--until", "2099-01-01T08:00", "--reason", " "], 1, "begrundelse"),
        (["reminders", "snooze", "{rid}", "--until", "2000-01-01T08:00", "--reason", "x"], 1, "fremtiden"),
        (["reminders", "snooze", "{rid}", "--until", "i morgen", "--reason", "x"], 2, "ISO 8601"),
        (["reminders", "sweep", "--now", "31/12/2030"], 2, "ISO 8601"),
        (["reminders", "dispatch", "--now", "nu"], 2, "ISO 8601"),
        (["reminders", "sweep", "--now", FAR, "--config", "{bad}"], 1, "ukendt(e) nøgle(r) i scheduler"),
        (["reminders", "sweep", "--now", FAR, "--config", "{missing}"], 1, "findes ikke"),
        (["reminders", "dispatch", "--config", "{broken}"], 1, "TOML"),
        (["reminders", "sweep", "--now", FAR, "--config", "{badstage}"], 1, "nowhere"),
    ],
    ids=[
        "unknown-id",
        "snooze-without-reason",
        "snooze-blank-reason",
        "snooze-in-the-past",
        "bad-until",
        "bad-now",
        "bad-now-dispatch",
        "bad-config-key",
        "missing-config",
        "broken-toml",
        "config-unknown-stage",
    ],
)
def test_reminder_commands_refuse_bad_input_and_write_nothing(
    db: str, tmp_path: Path, args: list[str], exit_code: int, text: str
) -> None:
    start_long_ago(db, "sag-1", assignee="anna")
    assert rrun(db, "reminders", "sweep", "--now", FAR).exit_code == 0
    reminder, *_ = json.loads(rrun(db, "--json", "reminders", "list").stdout)
    (tmp_path / "bad.toml").write_text("[scheduler]\nsweep_evry = 5\n", encoding="utf-8")
    (tmp_path / "broken.toml").write_text("[scheduler\n", encoding="utf-8")
    (tmp_path / "badstage.toml").write_text(
        "[deadlines.individual_course.nowhere]\namount = 3\n", encoding="utf-8"
    )
    values = {
        "rid": str(reminder["id"]),
        "bad": str(tmp_path / "bad.toml"),
        "broken": str(tmp_path / "broken.toml"),
        "badstage": str(tmp_path / "badstage.toml"),
        "missing": str(tmp_path / "nope.toml"),
    }
    before = row_counts(db)
    result = rrun(db, *(a.format(**values) for a in args))
    if exit_code == 2:  # usage errors are click's: exit 2, the message names the option
        assert result.exit_code == 2, result.output
        assert text in result.output and "Traceback" not in result.output
    else:
        line = assert_one_error_line(result, exit_code, text)
        assert line.startswith("Fejl: ")
    assert row_counts(db) == before
