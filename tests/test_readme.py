"""The README's examples run (docs that run, as python-statemachine does)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_an_embedding_example() -> None:
    assert _python_blocks(), "README.md lost its embedding example"


@pytest.mark.empty_register  # the example registers its own staff, as an app does
@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_python_block_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the example writes example.db in the working directory
    code = compile(_python_blocks()[index], f"README.md block {index}", "exec")
    exec(code, {"__name__": "readme"})
    assert (tmp_path / "example.db").exists()


def test_readme_quick_start_is_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("##", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = [line for line in block.splitlines() if line.strip()]
    assert commands == [
        "pip install '.[server]' && forloeb demo",
        "pip install '.[test]' && python -m pytest",
    ]


def _sh_commands(heading: str) -> list[list[str]]:
    """The ``forloeb …`` command lines of the first sh block under ``heading``."""
    import shlex

    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```sh\n(.*?)```", section, re.S)[0]
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.split("  #", 1)[0].strip()
        if line.startswith("forloeb "):
            commands.append(shlex.split(line)[1:])
    return commands


def _run_all(commands: list[list[str]], env: dict[str, str]) -> None:
    from click.testing import CliRunner

    from forloeb.cli import cli

    runner = CliRunner()
    for args in commands:
        result = runner.invoke(cli, args, env=env, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)


@pytest.mark.empty_register  # as a user on a new database: init makes you its admin
def test_readme_cli_walkthrough_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    commands = _sh_commands("Using the CLI")
    assert commands[0][0] == "init" and len(commands) > 10
    _run_all(commands, {"FORLOEB_DB": str(tmp_path / "forloeb.db")})


def test_readme_audit_walkthrough_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "forloeb.db")
    _run_all([["demo"]], {"FORLOEB_DB": db})
    commands = _sh_commands("Audit and handover")
    assert any(c[:2] == ["audit", "verify"] for c in commands)
    _run_all(commands, {"FORLOEB_DB": db, "FORLOEB_ROLE": "auditor", "FORLOEB_ACTOR": "revisor"})
    assert (tmp_path / "ahmed.csv").read_text(encoding="utf-8").startswith("engagement_id,")
    assert "Overleveringspakke" in (tmp_path / "pakke.md").read_text(encoding="utf-8")
    closed = (tmp_path / "pakke-1.md").read_text(encoding="utf-8")
    assert "Afsluttet" in closed and "Skole" in closed
