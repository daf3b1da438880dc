"""The CLI starts fast: its help imports neither the database stack nor the
scheduler, because ``forloeb``, ``forloeb.engine`` and the command modules import
what they need when a command runs (issue 8). A fresh interpreter each time:
what one test imported must not hide what another would.

Also: the lazy packages still offer every public name, to type checkers and
``dir()`` as well as at run time.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import forloeb
import forloeb.engine

ROOT = Path(__file__).resolve().parents[1]

# Neither may be imported to show help: they are what made `forloeb --help` slow.
HEAVY = ("sqlalchemy", "alembic", "apscheduler", "psycopg", "forloeb.engine.notifiers", "forloeb.persistence")

_SHOW_HELP = """
import json, sys
from forloeb.cli import main
for args in {runs!r}:
    sys.argv = ["forloeb", *args]
    try:
        main()
    except SystemExit as exit:
        assert exit.code in (0, None), (args, exit.code)
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(*runs: list[str]) -> set[str]:
    """The modules imported by a fresh interpreter that ran ``forloeb`` with each of ``runs``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _SHOW_HELP.format(runs=list(runs))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: forloeb" in done.stdout
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_forloeb_help_imports_no_database_scheduler_or_notifiers() -> None:
    modules = _modules_after(["--help"])
    assert _heavy(modules) == []
    # ... and it did list every command, so the lazy attachment loaded them.
    assert "forloeb.cli._retention" in modules


@pytest.mark.parametrize(
    "group", ["audit", "reminders", "retention", "scheduler", "consent", "handover", "workflows"]
)
def test_a_groups_help_imports_no_database_scheduler_or_notifiers(group: str) -> None:
    assert _heavy(_modules_after([group, "--help"])) == []


def test_the_help_of_commands_with_engine_defaults_shows_the_engines_numbers() -> None:
    from click.testing import CliRunner

    from forloeb.cli import cli

    def help_of(*command: str) -> str:
        return " ".join(CliRunner().invoke(cli, [*command, "--help"]).stdout.split())

    purge = help_of("retention", "purge")
    outbox = help_of("retention", "purge-outbox")
    access = help_of("audit", "purge-access")
    assert f"[default: {forloeb.engine.DEFAULT_RETENTION_YEARS};" in purge
    assert f"[default: {forloeb.engine.DEFAULT_OUTBOX_RETENTION_DAYS};" in outbox
    assert f"or {forloeb.engine.DEFAULT_RETENTION.days}, about six months" in access


def test_a_command_runs_only_its_own_module() -> None:
    # `forloeb show 3 --help` needs the engagements commands, not the audit ones.
    modules = _modules_after(["show", "--help"])
    assert "forloeb.cli._engagements" in modules
    assert "forloeb.cli._audit" not in modules


# -- the lazy packages ---------------------------------------------------------------


@pytest.mark.parametrize("package", [forloeb, forloeb.engine], ids=["forloeb", "forloeb.engine"])
def test_every_public_name_resolves_and_is_listed_by_dir(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert [n for n in names if getattr(package, n, None) is None] == []
    assert set(names) <= set(dir(package))


def test_a_name_that_is_not_public_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Nonesuch"):
        forloeb.engine.Nonesuch  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError, match="Nonesuch"):
        forloeb.Nonesuch  # type: ignore[attr-defined]  # noqa: B018


def _type_checking_imports(path: Path) -> dict[str, str]:
    """Name -> module of the imports under ``if TYPE_CHECKING:`` in ``path``."""
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom):
                    module = "." * inner.level + (inner.module or "")
                    found.update({alias.name: module for alias in inner.names})
    return found


def test_what_type_checkers_see_is_what_the_engine_package_exports() -> None:
    # The TYPE_CHECKING imports, the lazy table and __all__ name the same
    # names, from the same modules: a name added to one and not the others
    # would type-check and fail at run time, or the other way round.
    seen = _type_checking_imports(ROOT / "forloeb" / "engine" / "__init__.py")
    exports = forloeb.engine._EXPORTS  # the table itself: this test checks it
    assert seen == exports
    assert set(exports) == set(forloeb.engine.__all__)


def test_what_type_checkers_see_is_what_the_forloeb_package_exports() -> None:
    seen = _type_checking_imports(ROOT / "forloeb" / "__init__.py")
    assert set(seen) | {"__version__"} == set(forloeb.__all__)
    assert set(seen.values()) == {".engine"}
