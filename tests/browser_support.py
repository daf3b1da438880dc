"""What the web console's browser tests share (tests/test_console_browser.py):
a real uvicorn server on a free loopback port in a thread, on a demo
database with passwords; headless Chromium (Debian's) through Selenium and
the system's chromedriver; axe-core injected into a page; the HTTP status
of the page a browser shows; screenshots as test artifacts.

Missing Chromium, chromedriver or axe-core skips the tests, unless
``FORLOEB_TEST_BROWSER`` is set (CI sets it): then it fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from forloeb import Engine

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "korrekt-hest-batteri-staple"  # every demo login's password in these tests
# The WCAG 2.1 A and AA rules; serious and critical violations fail a page.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")


def must_have(what: str, hint: str) -> None:
    """Skip, or fail when ``FORLOEB_TEST_BROWSER`` says the browser tests must run."""
    if os.environ.get("FORLOEB_TEST_BROWSER"):
        pytest.fail(f"FORLOEB_TEST_BROWSER is set but {what} is missing ({hint})")
    pytest.skip(f"{what} is missing ({hint})")


def browser_paths() -> tuple[str, str]:
    chromium = os.environ.get("FORLOEB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    driver = os.environ.get("FORLOEB_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (Path(chromium).exists() and Path(driver).exists()):
        must_have("Chromium or chromedriver", "apt-get install chromium chromium-driver")
    return chromium, driver


def axe_source() -> str:
    """axe.min.js, as .ci/run installs it (``FORLOEB_AXE``)."""
    path = os.environ.get("FORLOEB_AXE")
    if not path or not Path(path).is_file():
        must_have("axe-core (FORLOEB_AXE)", "see .ci/run: npm install axe-core into the tools cache")
    assert path is not None
    return Path(path).read_text(encoding="utf-8")


def chrome(width: int = 1280, height: int = 900) -> Any:
    """A new headless Chromium, logging the network (for :func:`status_of`)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - the test extra installs it
        must_have("selenium", "pip install -e '.[test]'")
    chromium, driver = browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # A Danish browser, as the staff's are (Accept-Language da-DK).
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--lang=da-DK",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def status_of(driver: Any, path: str | None = None) -> int:
    """The HTTP status of the last document the browser loaded (its path ending
    with ``path``, when given), from Chromium's network log. Reading the log empties it."""
    found: int | None = None
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.responseReceived":
            continue
        params = message["params"]
        if params.get("type") != "Document":
            continue
        url: str = params["response"]["url"]
        if path is None or url.split("?")[0].endswith(path):
            found = int(params["response"]["status"])
    assert found is not None, f"no document {path or ''} in the browser's network log"
    return found


def run_axe(driver: Any, source: str) -> list[dict[str, Any]]:
    """axe-core on the page the browser shows: the serious and critical violations.

    The script goes in through WebDriver (the DevTools protocol), which the
    page's Content-Security-Policy does not govern: the pages keep their CSP."""
    driver.execute_script(source)
    driver.set_script_timeout(30)
    result: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done({violations: r.violations, passes: r.passes.length}))"
        ".catch(e => done({error: String(e)}));",
        AXE_TAGS,
    )
    assert "error" not in result, result.get("error")
    assert result["passes"] > 0, "axe ran no rule"
    return [v for v in result["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations as a person reads them: rule, impact, help, and the elements."""
    lines: list[str] = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['html'][:160]}")
            summary = node.get("failureSummary")
            if summary:
                lines.append("      " + summary.replace("\n", "\n      "))
    return "\n".join(lines)


@dataclass
class Shots:
    """Screenshots of one test's steps: ``<folder>/<nn>-<step>.png``."""

    folder: Path
    n: int = 0

    @classmethod
    def of(cls, test: str) -> Shots:
        base = os.environ.get("FORLOEB_TEST_ARTIFACTS") or os.environ.get("FORLOEB_ARTIFACTS")
        folder = (Path(base) if base else ROOT / "tests" / "artifacts") / "console" / test
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        return cls(folder)

    def __call__(self, driver: Any, step: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{step}.png"
        assert driver.save_screenshot(str(path)), path
        return path


# -- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def served(engine: Engine) -> Iterator[str]:
    """The console and API on ``engine``: a real uvicorn server on a free loopback
    port, in a thread of this process (so a test reads the same database). Yields
    the base URL."""
    import uvicorn

    from forloeb.server import ServerConfig, create_app

    app = create_app(engine=engine, config=ServerConfig())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the console's server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def set_passwords(engine: Engine, admin: str, staff: list[str]) -> None:
    acting = engine.staff.actor_for_login(admin)
    for who in staff:
        engine.logins.set_password(acting, who, PASSWORD)


__all__ = [
    "PASSWORD",
    "Shots",
    "axe_source",
    "chrome",
    "describe",
    "run_axe",
    "served",
    "set_passwords",
    "status_of",
]
