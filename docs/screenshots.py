#!/usr/bin/env python3
"""The README's pictures of the web console (issue 15): the demo in a real
browser, saved as docs/img/console-engagement.png, console-board.png and
console-audit.png (1280×900).

Builds the demo's database in a temporary folder, serves the console with
uvicorn on a free loopback port, and drives Debian's headless Chromium with
Selenium (``apt-get install chromium chromium-driver``) as a worker, the
supervisor and the auditor.
Usage: python docs/screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from forloeb import Actor, Engine
from forloeb._demo import add_demo_engagements
from forloeb._demo_scenarios import LEADER, SOCIAL

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "skaermbilleder-til-readme"
WIDTH, HEIGHT = 1280, 900


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def served(engine: Engine) -> Iterator[str]:
    import uvicorn

    from forloeb.server import ServerConfig, create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine=engine, config=ServerConfig()), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the console did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def chromium() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--lang=da-DK", "--hide-scrollbars"):
        options.add_argument(arg)
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )
    return driver


def log_in(driver: Any, base: str, who: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element("id", "username").send_keys(who)
    driver.find_element("id", "password").send_keys(PASSWORD)
    driver.find_element("css selector", "main form button[type=submit]").click()
    for _ in range(100):
        if not driver.current_url.split("?")[0].endswith("/login"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{who} could not log in")


def take(driver: Any, base: str, path: str, out: Path) -> None:
    driver.get(base + path)
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(out)), out
    print(f"{out} ({path})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='forloeb-screenshots-')) / 'demo.db'}"
    add_demo_engagements(url, operator="demo")
    with Engine.open(url) as engine:
        admin = engine.staff.actor_for_login("demo")
        for who in ("ahmed.s", LEADER, "revisor"):
            engine.logins.set_password(admin, who, PASSWORD)
        engine.sweep()
        boss = Actor(LEADER)
        # A worker's engagement in the middle of its path: questions, steps, history.
        shown = next(
            e for e in engine.list(assignee="ahmed.s", actor=boss) if e.state in ("own_path", "shared_path")
        )
        driver = chromium()
        try:
            with served(engine) as base:
                log_in(driver, base, "ahmed.s")
                take(driver, base, f"/engagements/{shown.id}", args.out / "console-engagement.png")
                log_in(driver, base, LEADER)
                take(
                    driver,
                    base,
                    f"/board?team={SOCIAL.replace(' ', '+')}&workflow=individual_course",
                    args.out / "console-board.png",
                )
                log_in(driver, base, "revisor")
                take(driver, base, "/audit", args.out / "console-audit.png")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
