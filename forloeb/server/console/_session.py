"""Who is looking at a console page: the session cookie (or the trusted
single-sign-on header), the staff entry behind it, the language, and the
CSRF token every form carries.

* The session cookie holds the session's secret (``engine.logins``): HttpOnly,
  SameSite=Lax (a link from a reminder e-mail opens the page logged in; forms
  are protected by their CSRF token, not by SameSite), Secure when the page is
  served over https.
* Every form posts the session's CSRF token (a synchronizer token kept with
  the session in the database, so every worker process knows it); a post
  without it, or from another origin, is refused before anything is read.
* The login form, before there is a session, carries a double-submit token:
  the same random value in a cookie and in the form.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forloeb.engine import Actor, Engine, LoginFailed, NotInRegister, WebSession

from .._config import ServerConfig
from .._http import context

SESSION_COOKIE = "forloeb_session"
LANG_COOKIE = "forloeb_lang"
LOGIN_COOKIE = "forloeb_login"
LANGS = ("da", "en")


class LoginRequired(Exception):
    """No (valid) session: the page answers with a redirect to the login page."""

    def __init__(self, next_url: str, expired: bool = False) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.expired = expired


class FormRefused(Exception):
    """A post without its CSRF token, or from another origin: 403, nothing read."""


@dataclass(frozen=True)
class Viewer:
    """The staff member looking, as the register grants them now."""

    actor: Actor
    name: str
    lang: str
    csrf: str
    session: WebSession | None

    def has(self, *roles: str) -> bool:
        return any(r in self.actor.roles for r in roles)

    @property
    def writes(self) -> bool:
        """Whether the viewer drives engagements (an auditor only reads)."""
        return self.has("worker", "supervisor", "admin")


def secure(request: Request, config: ServerConfig) -> bool:
    """Whether the browser reached us over https (directly, or through a trusted proxy)."""
    if request.url.scheme == "https":
        return True
    host = request.client.host if request.client is not None else None
    return (
        bool(config.networks)
        and config.trusts(host)
        and request.headers.get("x-forwarded-proto", "").lower() == "https"
    )


def lang_of(request: Request, session: WebSession | None = None) -> str:
    """The viewer's language: their choice (session, or cookie before login), else the server's default."""
    if session is not None and session.lang in LANGS:
        return session.lang
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGS:
        return chosen
    default: str = context(request).config.default_lang
    return default


def here(request: Request) -> str:
    """The page's own path and query: where to come back to after logging in."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def viewer(request: Request) -> Viewer:
    """The viewer of ``request``, or LoginRequired. Runs in the route's thread (it reads the database)."""
    ctx = context(request)
    engine: Engine = ctx.engine
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            session = engine.logins.session(token)
        except LoginFailed:
            raise LoginRequired(here(request), expired=True) from None
        # The session's lookup read the entry: its roles and teams as the register
        # holds them now (every command resolves the actor again).
        actor = Actor(session.staff_id, session.roles, session.teams)
        request.state.staff_id = actor.id
        return Viewer(actor, session.display_name, lang_of(request, session), session.csrf, session)
    host = request.client.host if request.client is not None else None
    header = ctx.config.trusted_header
    login = request.headers.get(header) if header else None
    if login is not None and ctx.config.trusts(host):
        # Single sign-on: the proxy vouches for the login on every request, and
        # there is no session to keep a CSRF token in: the forms carry a
        # double-submit token instead (cookie = field), with the Origin check.
        try:
            actor = engine.staff.actor_for_login(login)
        except NotInRegister:
            raise LoginRequired(here(request)) from None
        actor = _registered(engine, actor.id, request)
        request.state.staff_id = actor.id
        return Viewer(actor, actor.id, lang_of(request), login_token(request), None)
    raise LoginRequired(here(request))


def _registered(engine: Engine, staff_id: str, request: Request) -> Actor:
    try:
        return engine.staff.resolve(Actor(staff_id))
    except NotInRegister:
        raise LoginRequired(here(request), expired=True) from None


def check_form(request: Request, who: Viewer, token: str | None) -> None:
    """The CSRF check of every console post (see the module's text)."""
    if who.session is None:  # single sign-on: the double-submit cookie
        check_login_form(request, token)
        return
    _same_origin(request)
    _same_token(token, who.csrf)


def _origin_of(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def login_token(request: Request) -> str:
    """The login form's double-submit token: the cookie's, or a new one."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def check_login_form(request: Request, token: str | None) -> None:
    """The double-submit check: the form's token is the cookie's."""
    _same_origin(request)
    _same_token(token, request.cookies.get(LOGIN_COOKIE))


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin != "null" and origin != _origin_of(request):
        raise FormRefused("origin")


def _same_token(given: str | None, expected: str | None) -> None:
    if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise FormRefused("csrf")


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure(request, context(request).config),
        path="/",
    )


def to_login(request: Request, failure: LoginRequired) -> Response:
    target = "/login?next=" + quote(failure.next_url, safe="")
    if failure.expired:
        target += "&expired=1"
    response = RedirectResponse(target, status_code=303)
    if failure.expired:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of this site only (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


__all__ = [
    "LANGS",
    "LANG_COOKIE",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "FormRefused",
    "LoginRequired",
    "Viewer",
    "check_form",
    "check_login_form",
    "lang_of",
    "login_token",
    "safe_next",
    "set_cookie",
    "to_login",
    "viewer",
]
