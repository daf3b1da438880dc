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
    assert commands == ["pip install . && forloeb demo", "pip install '.[test]' && python -m pytest"]
