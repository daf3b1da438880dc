"""The method diagrams: Mermaid text that Mermaid's own renderer accepts, drawn readably.

The render tests run the real renderer, ``@mermaid-js/mermaid-cli`` (mmdc) on
the system's Chromium, as ``.ci/run`` installs it. They skip only when mmdc is
not installed and ``FORLOEB_TEST_BROWSER`` is unset; CI sets it, so there a
missing renderer fails. The PNGs are kept in tests/artifacts/diagrams/, and the
version-2 ones are copied to docs/img/ for the README whenever the diagram text
changed (so the images in the docs never go stale and an unchanged diagram
leaves the work tree clean).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from forloeb.engine import Lang, WorkflowDefinition
from forloeb.workflows import BUILTIN, INDIVIDUAL_COURSE, faithful, mermaid
from forloeb.workflows._diagram import escape

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "diagrams"
DOCS_IMG = ROOT / "docs" / "img"
MMDC_VERSION = "11.17.0"  # keep in step with .ci/run
DEFAULT_MMDC = (
    Path.home()
    / ".cache"
    / "forloeb-tools"
    / f"mermaid-cli-{MMDC_VERSION}"
    / "node_modules"
    / ".bin"
    / "mmdc"
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Renders a markdown file of mermaid blocks: (mmdc's result, the folder of PNGs).
Render = Callable[[str, str], tuple[subprocess.CompletedProcess[str], Path]]


def _all() -> list[WorkflowDefinition]:
    return [*BUILTIN, *faithful()]


# -- the text -----------------------------------------------------------------------


@pytest.mark.parametrize("definition", _all(), ids=lambda d: f"{d.name}.v{d.version}")
@pytest.mark.parametrize("lang", ["da", "en"])
def test_moves_every_active_stage_shares_are_drawn_once(definition: WorkflowDefinition, lang: Lang) -> None:
    text = mermaid(definition, lang)
    for trigger in ("pause", "withdraw"):
        (t,) = definition.transitions_for(trigger)
        label = escape(t.labels.get(lang))
        edges = [line for line in text.splitlines() if "-->" in line and line.endswith(f": {label}")]
        assert len(edges) == 1, (trigger, edges)
        assert edges[0].strip().startswith("active_stages -->")
    # Resume and reopen go back to where the engagement was: notes, not edges to every stage.
    assert text.count("note right of") == 2


@pytest.mark.parametrize("definition", _all(), ids=lambda d: f"{d.name}.v{d.version}")
def test_every_stage_is_declared_once_and_the_path_is_inside_the_active_box(
    definition: WorkflowDefinition,
) -> None:
    lines = mermaid(definition, "da").splitlines()
    declared = [line.split(" as ")[-1].rstrip(" {") for line in lines if line.strip().startswith("state ")]
    assert sorted(declared) == sorted([s.key for s in definition.stages] + ["active_stages"])
    start = lines.index(next(line for line in lines if line.strip().startswith('state "Aktive faser"')))
    end = lines.index("    }")
    inside = "\n".join(lines[start:end])
    for key in definition.active_stages:
        assert f" as {key}" in inside


def test_text_that_mermaid_would_read_as_syntax_is_escaped() -> None:
    assert (
        escape('Genoptag: tilbage; "nu" #1 <b>') == "Genoptag#58; tilbage#59; #quot;nu#quot; #35;1 #lt;b#gt;"
    )
    assert escape("to\nlinjer") == "to linjer"
    for line in mermaid(INDIVIDUAL_COURSE, "da").splitlines():
        # The only colon on a line is the one that starts an edge label.
        assert line.count(":") <= 1, line


# -- the real renderer ----------------------------------------------------------------


def _mmdc() -> Path | None:
    configured = os.environ.get("FORLOEB_MMDC")
    if configured:
        return Path(configured)
    found = shutil.which("mmdc")
    if found:
        return Path(found)
    return DEFAULT_MMDC if DEFAULT_MMDC.exists() else None


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    mmdc = _mmdc()
    if mmdc is None or not mmdc.exists():
        if os.environ.get("FORLOEB_TEST_BROWSER"):
            pytest.fail(f"FORLOEB_TEST_BROWSER is set but mmdc is not installed (looked for {DEFAULT_MMDC})")
        pytest.skip("mmdc (@mermaid-js/mermaid-cli) is not installed; .ci/run installs it")
    chromium = os.environ.get("FORLOEB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(chromium).exists(), f"mmdc is installed but Chromium is not at {chromium}"
    work = tmp_path_factory.mktemp("mermaid")
    config = work / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": chromium, "args": ["--no-sandbox"]}))

    def run(markdown: str, name: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        source = work / f"{name}.md"
        source.write_text(markdown, encoding="utf-8")
        out = work / "out" / f"{name}.md"
        out.parent.mkdir(exist_ok=True)
        cmd = [
            str(mmdc),
            "-q",
            "-p",
            str(config),
            "-i",
            str(source),
            "-o",
            str(out),
            "-e",
            "png",
            "-b",
            "white",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        return done, out.parent

    return run


def _block(text: str) -> str:
    return f"```mermaid\n{text}```\n\n"


def test_the_renderer_is_strict_enough_to_mean_something(render: Render) -> None:
    # Today's output before this module: a colon inside a note's text.
    broken = (
        'stateDiagram-v2\n    state "Sat på pause" as paused\n    note right of paused: Genoptag: tilbage\n'
    )
    done, _ = render(_block(broken), "broken")
    assert done.returncode != 0
    assert "Parse error" in done.stderr + done.stdout


def test_both_methods_in_both_versions_render_to_png(render: Render) -> None:
    langs: tuple[Lang, ...] = ("da", "en")
    texts = {f"{d.name}.v{d.version}.{lang}": mermaid(d, lang) for d in _all() for lang in langs}
    done, out = render("".join(_block(t) for t in texts.values()), "methods")
    assert done.returncode == 0, done.stderr[-3000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for i, (name, text) in enumerate(texts.items(), start=1):
        png = out / f"methods-{i}.png"
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC), name
        assert len(data) > 20_000, f"{name}: {len(data)} bytes is too small for a method's diagram"
        shutil.copyfile(png, ARTIFACTS / f"{name}.png")
        (ARTIFACTS / f"{name}.mmd").write_text(text, encoding="utf-8")
        if ".v2." in name:
            _update_docs_image(name, text, png)


def _update_docs_image(name: str, text: str, png: Path) -> None:
    """Copy the PNG to docs/img when the diagram's text changed (renders differ byte for byte)."""
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    source = DOCS_IMG / f"{name}.mmd"
    target = DOCS_IMG / f"{name}.png"
    if target.exists() and source.exists() and source.read_text(encoding="utf-8") == text:
        return
    shutil.copyfile(png, target)
    source.write_text(text, encoding="utf-8")
