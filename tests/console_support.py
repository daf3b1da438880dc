"""What the console's tests share: passwords for the test staff, a logged-in
in-process client, and reading the CSRF token and version off a page."""

from __future__ import annotations

import re
from typing import Any

from http_support import ADMIN, TestClient

from forloeb import Engine
from forloeb.server import ServerConfig, create_app

PASSWORD = "korrekt-hest-batteri-17"
_PEOPLE = ("anna", "carl", "leder", "revisor", "bo")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_VERSION = re.compile(r'name="version" value="(\d+)"')


def passwords(engine: Engine, *people: str) -> None:
    """Give ``people`` the test password, once per database (Argon2 is slow on purpose)."""
    for who in people:
        if not engine.logins.has_password(who):
            engine.logins.set_password(ADMIN, who, PASSWORD)


def browser(engine: Engine, *, config: ServerConfig | None = None, **kwargs: Any) -> TestClient:
    """A client that, like a browser, asks for HTML and follows no redirect by itself."""
    app = create_app(engine=engine, config=config or ServerConfig())
    kwargs.setdefault("base_url", "http://127.0.0.1")
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False, **kwargs)
    client.headers["Accept"] = "text/html"
    return client


def csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no csrf field on the page"
    return found.group(1)


def version(html: str) -> str:
    found = _VERSION.search(html)
    assert found is not None, "no version field on the page"
    return found.group(1)


def log_in(client: TestClient, who: str, password: str = PASSWORD, *, next: str = "/") -> Any:
    engine: Engine = client.app.state.forloeb.engine  # type: ignore[attr-defined]
    if engine.staff.resolve(ADMIN) and who in _PEOPLE:
        passwords(engine, who)
    page = client.get("/login")
    assert page.status_code == 200, page.text
    return client.post(
        "/login", data={"csrf": csrf(page.text), "username": who, "password": password, "next": next}
    )


def logged_in(engine: Engine, who: str, **kwargs: Any) -> TestClient:
    client = browser(engine, **kwargs)
    r = log_in(client, who)
    assert r.status_code == 303, r.text
    return client


def text_of(html: str) -> str:
    """The page's text without tags, whitespace folded (what a reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
