"""``forloeb token create|list|revoke`` and ``forloeb serve``'s start: admins
only, the token shown once, and help that imports no web framework."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from forloeb import Engine
from forloeb.cli import cli

ROOT = Path(__file__).resolve().parents[1]
WEB = ("fastapi", "starlette", "uvicorn", "pydantic", "httpx", "forloeb.server")


def _run(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", db, *args])
    return result.exit_code, result.output


def test_token_create_list_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    Engine.open(db, migrate=True).close()
    code, out = _run(
        db, "--json", "token", "create", "--staff", "anna", "--name", "Sagssystem", "--expires-in-days", "30"
    )
    assert code == 0, out
    created = json.loads(out)
    assert created["token"].startswith(f"flb_{created['id']}_") and created["staff_id"] == "anna"
    with Engine.open(db) as engine:
        assert engine.tokens.authenticate(created["token"]).id == "anna"
        # Only the digest is stored.
        raw = engine.store._engine.connect().exec_driver_sql("SELECT * FROM api_tokens").fetchall()  # type: ignore[attr-defined]
        assert created["token"] not in str(raw) and created["token"].split("_", 2)[2] not in str(raw)
    code, out = _run(db, "--json", "token", "list")
    assert [t["id"] for t in json.loads(out)] == [created["id"]]
    assert created["token"] not in out
    code, out = _run(db, "token", "list", "--lang", "en")
    assert "active" in out and "anna" in out
    code, out = _run(db, "token", "revoke", created["id"])
    assert code == 0 and created["id"] in out
    code, out = _run(db, "--json", "token", "list")
    assert json.loads(out)[0]["revoked_by"] == "tester"
    code, out = _run(db, "--as", "anna", "token", "create", "--staff", "anna", "--name", "x")
    assert code == 1  # only an admin (and anna cannot act as anyone)
    code, out = _run(db, "token", "create", "--staff", "nobody", "--name", "x")
    assert code == 1 and "nobody" in out


def test_a_non_admin_cannot_create_tokens(tmp_path: Path) -> None:
    from forloeb import Actor, PermissionDenied

    with Engine.open(f"sqlite:///{tmp_path / 't.db'}", migrate=True) as engine:
        before = engine.row_counts()["api_tokens"]
        for who in ("anna", "leder", "revisor"):
            try:
                engine.tokens.create(Actor(who), who, name="selv")
            except PermissionDenied:
                pass
            else:  # pragma: no cover
                raise AssertionError(f"{who} created a token")
        assert engine.row_counts()["api_tokens"] == before


def test_help_imports_no_web_framework() -> None:
    script = (
        "import sys, json\nfrom forloeb.cli import main\n"
        "for args in (['--help'], ['serve', '--help'], ['token', '--help']):\n"
        "    sys.argv = ['forloeb', *args]\n"
        "    try:\n        main()\n    except SystemExit:\n        pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert [m for m in modules if m.split(".")[0] in WEB or m.startswith("forloeb.server")] == []
    assert "--workers" in done.stdout and "create" in done.stdout
