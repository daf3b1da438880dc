"""The README's HTTP API session runs: its bash block, with a real server
(``forloeb serve``) on a free port and ``curl``, on a fresh demo database."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from http_support import free_port

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _session() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## HTTP API", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, re.S)
    return block


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_readme_curl_session_runs(tmp_path: Path) -> None:
    block = _session()
    assert "forloeb token create" in block and "If-Match" in block and "/history" in block
    port = str(free_port())
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + block.replace(
        "8080", port
    )
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "FORLOEB_LOG_LEVEL": "warning",
    }
    env.pop("FORLOEB_DB", None)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    out = done.stdout
    fired, history = out.splitlines()[0], out.splitlines()[1]
    assert json.loads(fired)["state"] == "first_contact" and json.loads(fired)["version"] == 2
    assert [e["type"] for e in json.loads(history)] == ["started", "transition"]
    assert "HTTP/1.1 412 Precondition Failed" in out
    assert "content-type: application/problem+json" in out
    problem = json.loads([line for line in out.splitlines() if line.strip()][-1])
    assert problem["type"] == "urn:forloeb:problem:concurrency"
    assert (problem["expected"], problem["actual"]) == (1, 2)
    assert "changed by someone else" in problem["detail"]
