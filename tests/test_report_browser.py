"""The HTML report in a real browser: headless Chromium from the system's packages,
driven by Selenium through the system's chromedriver.

Skipped only when Chromium or chromedriver is missing and ``FORLOEB_TEST_BROWSER``
is unset (CI sets it, so there a missing browser fails). The screenshot is kept
as a test artifact (``tests/artifacts/report/``, or ``FORLOEB_TEST_ARTIFACTS``)
and its path printed; ``FORLOEB_UPDATE_DOCS_IMG=1`` also copies it to
``docs/img/report.png`` for the README.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import ENDINGS, FORWARD, SOURCES, FakeClock

from forloeb import Actor, Engine
from forloeb.cli import cli

ROOT = Path(__file__).resolve().parents[1]
ANNA = Actor("anna", ["worker"])


def _browser_paths() -> tuple[str, str] | None:
    chromium = os.environ.get("FORLOEB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    driver = os.environ.get("FORLOEB_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if Path(chromium).exists() and Path(driver).exists():
        return chromium, driver
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - the test extra installs it
        if os.environ.get("FORLOEB_TEST_BROWSER"):
            pytest.fail("FORLOEB_TEST_BROWSER is set but selenium is not installed")
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    paths = _browser_paths()
    if paths is None:
        if os.environ.get("FORLOEB_TEST_BROWSER"):
            pytest.fail("FORLOEB_TEST_BROWSER is set but Chromium or chromedriver is missing")
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    chromium, driver = paths
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1600"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


def _fill(db: str) -> None:
    """A year's worth of a small secretariat: both methods, every ending."""
    clock = FakeClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    with Engine.open(db, migrate=True, clock=clock) as engine:
        for i in range(24):
            workflow = "individual_course" if i % 4 else "civil_society"
            e = engine.start(
                workflow,
                subject=f"sag-{i}",
                source=SOURCES[workflow],
                actor=ANNA,
                team="Social",
                assignee="anna",
            )
            engine.caseload.record_reporting(
                e.id,
                actor=ANNA,
                person="new",
                age_band=("13-17", "18-24", "25-39", "40-64")[i % 4],
                gender=("kvinde", "mand")[i % 2],
            ) if workflow == "individual_course" else engine.progress.update_fields(
                e.id, {"participants": 5 + i, "volunteers": i % 3}, actor=ANNA
            )
            for trigger, data, _ in FORWARD[: i % 7]:
                clock.advance(days=2 + i % 5)
                e = engine.fire(e.id, trigger, actor=ANNA, data=data)
            if i % 7 == 6:
                ending = ("closed", "referred_on", "handed_over")[i % 3]
                if workflow == "civil_society" and ending == "handed_over":
                    ending = "closed"
                trigger, data = ENDINGS[ending]
                engine.fire(e.id, trigger, actor=ANNA, data=data)
            clock.advance(days=9)


def test_the_html_report_opens_in_chromium_without_errors_with_its_charts(
    browser: Any, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'rapport.db'}"
    _fill(db)
    page = tmp_path / "rapport.html"
    env = {"FORLOEB_DB": None, "FORLOEB_ACTOR": None, "FORLOEB_LANG": None, "FORLOEB_CONFIG": None}
    args = ["--db", db, "--as", "leder", "report", "--from", "2026-01-01", "--to", "2026-12-31"]
    done = CliRunner(env=env).invoke(cli, [*args, "--format", "html", "--out", str(page)])
    assert done.exit_code == 0, done.output
    browser.get(page.as_uri())
    assert browser.title == "Rapport 2026-01-01 – 2026-12-31"
    charts = browser.find_elements("css selector", "figure.chart svg")
    assert len(charts) >= 5
    assert all(c.size["width"] > 200 and c.size["height"] > 50 for c in charts)
    assert browser.find_element("css selector", "#new_by_source table").text.count("\n") >= 1
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    folder = Path(os.environ.get("FORLOEB_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts") / "report"
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "report.png"
    body = browser.find_element("tag name", "body")
    browser.set_window_size(1100, max(1600, body.size["height"] + 80))
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"report screenshot: {shot}", file=sys.stderr)
    if os.environ.get("FORLOEB_UPDATE_DOCS_IMG"):
        # The README shows the page's top: the first charts and tables.
        from PIL import Image

        with Image.open(shot) as image:
            image.crop((0, 0, image.width, min(image.height, 1500))).save(
                ROOT / "docs" / "img" / "report.png"
            )
