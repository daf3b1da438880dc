"""What every console page shares: the guard that turns a missing session, a
refused form and the engine's refusals into pages (never a traceback, never
the API's JSON), reading a form, and the login, logout and language routes.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, cast

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from forloeb.engine import (
    DatabaseError,
    EngagementNotFound,
    ForloebError,
    Label,
    Lang,
    LoginFailed,
    PermissionDenied,
    get_logger,
)
from forloeb.words import t

from .._http import context
from ._render import page
from ._session import (
    LANG_COOKIE,
    LANGS,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    FormRefused,
    LoginRequired,
    Viewer,
    check_form,
    check_login_form,
    lang_of,
    login_token,
    safe_next,
    set_cookie,
    to_login,
    viewer,
)

_log = get_logger("forloeb.console")
P = ParamSpec("P")
Form = dict[str, str | list[str]]

router = APIRouter(include_in_schema=False)
_OPEN = Label(da="åbne denne side", en="open this page")


def refusal(request: Request, exc: Exception, who: Viewer | None = None) -> Response:
    """The page for what stopped a request: login, 403, 404, or the error's own message."""
    lang = who.lang if who is not None else lang_of(request)
    tr = cast(Lang, lang)
    if isinstance(exc, LoginRequired):
        return to_login(request, exc)
    if isinstance(exc, FormRefused):
        _log.warning("console_form_refused", reason=str(exc), path=request.url.path)
        title, message, status = t(tr, "w_forbidden_title"), t(tr, "w_form_refused"), 403
    elif isinstance(exc, PermissionDenied):
        title, message, status = t(tr, "w_forbidden_title"), exc.message(tr), 403
    elif isinstance(exc, EngagementNotFound):
        title, message, status = t(tr, "w_not_found_title"), exc.message(tr), 404
    elif isinstance(exc, DatabaseError):
        # Locked, full, read-only, unreachable: the engine's words (never the driver's), 503.
        _log.warning("console_database_error", code=exc.code, path=request.url.path)
        title, message, status = t(tr, "w_error_title"), exc.message(tr), 503
    elif isinstance(exc, ForloebError):
        title, message, status = t(tr, "w_error_title"), exc.message(tr), 422
    else:
        _log.exception("console_internal_error", path=request.url.path)
        title, message, status = t(tr, "w_error_title"), t(tr, "w_error"), 500
    return page(request, who, "message.html", lang=lang, status=status, title=title, message=message)


def missing(request: Request, status: int) -> Response:
    """A page for a URL the console does not know (or a method it does not take)."""
    lang = cast(Lang, lang_of(request))
    return page(
        request, None, "message.html", lang=lang, status=status,
        title=t(lang, "w_not_found_title"), message=t(lang, "w_not_found"),
    )  # fmt: skip


def guarded(fn: Callable[P, Response]) -> Callable[P, Response]:
    """A page's work with its refusals as pages (see :func:`refusal`). The first
    argument of ``fn`` is the request."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> Response:
        request = cast(Request, args[0] if args else kwargs["request"])
        try:
            return fn(*args, **kwargs)
        except (LoginRequired, FormRefused, ForloebError) as exc:
            return refusal(request, exc, getattr(request.state, "viewer", None))
        except Exception as exc:  # one page, logged; never a traceback in the browser
            return refusal(request, exc, getattr(request.state, "viewer", None))

    return run


def look(request: Request, *roles: str) -> Viewer:
    """The viewer, who must hold one of ``roles`` (none given: any staff member)."""
    who = viewer(request)
    request.state.viewer = who
    if roles and not who.has(*roles):
        _log.warning("console_refused", staff_id=who.actor.id, path=request.url.path)
        raise PermissionDenied(who.actor.id, who.actor.roles, "open this page", roles, action_labels=_OPEN)
    return who


async def read_form(request: Request) -> Form:
    """The posted form as plain values (a repeated name: a list)."""
    data: FormData = await request.form()
    out: Form = {}
    for key in data:
        values = [v for v in data.getlist(key) if isinstance(v, str)]
        out[key] = values[0] if len(values) == 1 else values
    return out


def one(form: Form, key: str) -> str:
    value = form.get(key, "")
    return value if isinstance(value, str) else (value[0] if value else "")


def posted(request: Request, form: Form, *roles: str) -> Viewer:
    """The viewer of a post, after its CSRF check (before anything is read or written)."""
    who = look(request, *roles)
    check_form(request, who, one(form, "csrf"))
    return who


async def in_thread(fn: Callable[..., Response], *args: Any) -> Response:
    """Run a post's work (it talks to the database) in the worker threads."""
    return await run_in_threadpool(fn, *args)


# -- home, login, logout, language ----------------------------------------------------


@router.get("/")
@guarded
def home(request: Request) -> Response:
    who = look(request)
    # A leader who also takes engagements starts at the team's board.
    if who.has("supervisor"):
        target = "/board"
    elif who.has("worker"):
        target = "/mine"
    elif who.has("auditor"):
        target = "/audit"
    else:
        target = "/board"
    return RedirectResponse(target, status_code=303)


def _login_page(
    request: Request, *, error: str | None = None, status: int = 200, username: str = ""
) -> Response:
    lang = lang_of(request)
    token = login_token(request)
    flash = None
    if request.query_params.get("expired"):
        flash = t(cast(Lang, lang), "w_expired")
    elif request.query_params.get("out"):
        flash = t(cast(Lang, lang), "w_logged_out")
    response = page(
        request,
        None,
        "login.html",
        lang=lang,
        status=status,
        token=token,
        next=safe_next(request.query_params.get("next")),
        username=username,
        error=error,
        flash=flash,
    )
    set_cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_login, request, form)


def _login(request: Request, form: Form) -> Response:
    lang = lang_of(request)
    try:
        check_login_form(request, one(form, "csrf"))
    except FormRefused as exc:
        return refusal(request, exc)
    username, password = one(form, "username").strip(), one(form, "password")
    if not username or not password:
        return _login_page(
            request, error=t(cast(Lang, lang), "w_missing_login"), status=422, username=username
        )
    host = request.client.host if request.client is not None else None
    try:
        session = context(request).engine.logins.login(username, password, client=host, lang=lang)
    except LoginFailed as exc:
        return _login_page(request, error=exc.message(cast(Lang, lang)), status=401, username=username)
    except ForloebError as exc:
        return refusal(request, exc)
    # Expired sessions go when someone logs in (no background job needed for it).
    with contextlib.suppress(ForloebError):
        context(request).engine.logins.purge_expired()
    response = RedirectResponse(safe_next(one(form, "next")), status_code=303)
    assert session.token is not None
    set_cookie(response, request, SESSION_COOKIE, session.token, max_age=None)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_logout, request, form)


@guarded
def _logout(request: Request, form: Form) -> Response:
    posted(request, form)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        context(request).engine.logins.logout(token)
    response = RedirectResponse("/login?out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang")
def switch_language(request: Request, to: str = "da", next: str = "/") -> Response:
    """Danish or English: kept on the session (and in a cookie for the login page)."""
    lang = to if to in LANGS else "da"
    response = RedirectResponse(safe_next(next), status_code=303)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        # An expired session: the cookie below still carries the choice.
        with contextlib.suppress(ForloebError):
            context(request).engine.logins.set_lang(token, lang)
    set_cookie(response, request, LANG_COOKIE, lang, max_age=365 * 24 * 3600)
    return response


__all__ = [
    "Form",
    "guarded",
    "in_thread",
    "look",
    "missing",
    "one",
    "posted",
    "read_form",
    "refusal",
    "router",
]
