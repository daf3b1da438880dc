"""``forloeb workflows lint / diff / migrate`` and the CLI's answers to version 2's questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from helpers import READER, drive
from test_method_v2 import LEKTIECAFE

from forloeb import Actor, Engine
from forloeb.cli import cli
from forloeb.workflows import DEFINITIONS, VERSION_1

CLEAN_ENV: dict[str, str | None] = {
    "FORLOEB_DB": None,
    "FORLOEB_ACTOR": None,
    "FORLOEB_ROLE": None,
    "FORLOEB_LANG": None,
    "FORLOEB_WORKFLOWS": None,
    "FORLOEB_CONFIG": None,
}


def run(*args: str) -> Result:
    return CliRunner(env=CLEAN_ENV).invoke(cli, list(args), catch_exceptions=False)


def ok_json(*args: str) -> Any:
    result = run("--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_lint_a_good_file_and_the_shipped_ones(tmp_path: Path) -> None:
    good = tmp_path / "lektiecafe.v1.toml"
    good.write_text(LEKTIECAFE, encoding="utf-8")
    result = run("workflows", "lint", str(good), *(str(p) for p in sorted(DEFINITIONS.glob("*.toml"))))
    assert result.exit_code == 0, result.output
    assert f"{good}: ingen fejl" in result.stdout
    assert ok_json("workflows", "lint", str(good)) == []


def test_lint_reports_every_error_at_once_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "lektiecafe.v1.toml"
    broken = LEKTIECAFE.replace('kind = "number"', 'kind = "tal"').replace('to = "closed"', 'to = "lukket"')
    bad.write_text(broken.replace('en = "Homework café"\n', "", 1), encoding="utf-8")
    result = run("workflows", "lint", str(bad))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) >= 3 and all(line.startswith(str(bad)) for line in lines)
    problems = json.loads(run("--json", "workflows", "lint", str(bad)).stdout)
    codes = {p["code"] for p in problems}
    assert {"unknown_destination", "missing_label"} <= codes
    assert all(p["file"] == str(bad) for p in problems)


def test_diff_names_what_changed_between_versions() -> None:
    result = run("workflows", "diff", "civil_society", "1", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("- ") and "hand_over" in line for line in lines)
    assert any(line.startswith("+ ") and "refer_on" in line for line in lines)
    changes = ok_json("workflows", "diff", "civil_society", "1", "2")
    assert {c["change"] for c in changes} <= {"added", "removed", "changed"}
    assert run("workflows", "diff", "civil_society", "2", "2").stdout.strip() == "Ingen forskelle."
    assert run("workflows", "diff", "civil_society", "1", "9").exit_code == 1


def test_show_and_list_include_a_secretariats_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / "metoder"
    folder.mkdir()
    (folder / "lektiecafe.v1.toml").write_text(LEKTIECAFE, encoding="utf-8")
    config = tmp_path / "forloeb.toml"
    config.write_text('[workflows]\nfolder = "metoder"\n', encoding="utf-8")
    listed = ok_json("workflows", "list", "--config", str(config))
    assert ("lektiecafe", 1) in {(d["name"], d["version"]) for d in listed}
    shown = run("workflows", "show", "lektiecafe", "--config", str(config)).stdout
    assert "* Hvem er I?" in shown and "ja/nej" in shown


def test_migrate_dry_run_then_for_real(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    anna = Actor("anna", ["worker"])
    with Engine.open(f"sqlite:///{db}", migrate=True, workflows=VERSION_1) as old:
        ids = [drive(old, anna, stage, subject=f"sag-{i}").id for i, stage in enumerate(("action", "paused"))]
        closed = drive(old, anna, "closed", subject="sag-9").id
    base = ["--db", db, "--as", "leder", "--role", "supervisor", "workflows", "migrate", "individual_course"]
    dry = run(*base, "--from", "1", "--to", "2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "2 forløb ville blive flyttet fra version 1 til version 2 (prøvekørsel)" in dry.stdout
    assert "1 afsluttede forløb bliver på version 1." in dry.stdout
    with Engine.open(f"sqlite:///{db}") as engine:
        assert {engine.get(i, actor=READER).workflow_version for i in ids} == {1}
    refused = run(*base, "--from", "1", "--to", "2", "--map", "action=closed")
    assert refused.exit_code == 1 and refused.stderr.startswith("Fejl: ")
    worker = run(
        "--db", db, "--as", "anna", "workflows", "migrate", "individual_course", "--from", "1", "--to", "2"
    )
    assert worker.exit_code == 1 and "må ikke" in worker.stderr
    report = json.loads(run("--json", *base, "--from", "1", "--to", "2").stdout)
    assert (report["moved"], report["final"], report["dry_run"]) == (2, 1, False)
    assert {(m["from"], m["to"], m["count"]) for m in report["moves"]} == {
        ("action", "action", 1),
        ("paused", "paused", 1),
    }
    with Engine.open(f"sqlite:///{db}") as engine:
        assert {engine.get(i, actor=READER).workflow_version for i in ids} == {2}
        assert engine.get(closed, actor=READER).workflow_version == 1
        assert engine.audit.verify(Actor("leder", ["supervisor"])).ok


@pytest.mark.parametrize("item", ["action", "=x", "action="])
def test_a_map_item_must_be_old_equals_new(tmp_path: Path, item: str) -> None:
    result = run(
        "--db",
        str(tmp_path / "x.db"),
        "workflows",
        "migrate",
        "individual_course",
        "--from",
        "1",
        "--to",
        "2",
        "--map",
        item,
    )
    assert result.exit_code == 2
    assert "OLD=NEW" in result.output


def test_record_the_self_help_level_and_a_groups_fields(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    base = ["--db", db, "--as", "anna"]
    assert run(*base, "init").exit_code == 0
    e = ok_json(*base, "start", "civil_society", "--subject", "gruppe-1", "--source", "grupper")
    eid = str(e["id"])
    fields = ok_json(
        *base, "record", eid, "--fields", "--data", "participants=12", "--data", "contact_person=Amina"
    )
    assert fields["data"]["_fields"] == {"participants": 12, "contact_person": "Amina"}
    refused = run(*base, "record", eid, "--self-help", "can")
    assert refused.exit_code == 1 and "Registrér" not in refused.stdout
    with Engine.open(f"sqlite:///{db}") as engine:
        drive(
            engine,
            Actor("anna", ["worker"]),
            "action",
            "civil_society",
            engagement=engine.get(e["id"], actor=READER),
        )
    level = ok_json(*base, "record", eid, "--self-help", "can")
    assert level["data"]["self_help"] == {"level": "can"}
    closed = ok_json(*base, "fire", eid, "withdraw", "--outcome", "broken_off", "--data", "reason=Opløst")
    assert closed["state"] == "closed"
