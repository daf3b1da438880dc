"""The viewer's own password: ``/password``. The current password is checked by
logging in again (a wrong one counts towards the lockout, as at the login
form); the new one must pass the register's rule; the session is then
replaced by the new login's (the old cookie opens nothing any more)."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from forloeb.engine import ForloebError, Lang, LoginFailed
from forloeb.words import t

from .._http import context
from ._frame import Form, guarded, in_thread, look, one, posted, read_form
from ._render import page
from ._session import SESSION_COOKIE, Viewer, set_cookie

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Viewer, *, error: str | None = None, status: int = 200) -> Response:
    lang = cast(Lang, who.lang)
    done = t(lang, "w_password_changed") if request.query_params.get("done") else None
    return page(request, who, "password.html", lang=lang, status=status, error=error, flash=done)


@router.get("/password")
@guarded
def password_form(request: Request) -> Response:
    return _page(request, look(request))


@router.post("/password")
async def change_password(request: Request) -> Response:
    form = await read_form(request)
    return await in_thread(_change, request, form)


@guarded
def _change(request: Request, form: Form) -> Response:
    who = posted(request, form)
    lang = cast(Lang, who.lang)
    if who.session is None:  # single sign-on: the password is the proxy's business
        return _page(request, who, error=t(lang, "w_password_sso"), status=422)
    new = one(form, "new")
    if new != one(form, "again"):
        return _page(request, who, error=t(lang, "w_password_mismatch"), status=422)
    logins = context(request).engine.logins
    host = request.client.host if request.client is not None else None
    try:
        fresh = logins.login(who.actor.id, one(form, "current"), client=host, lang=who.lang)
    except LoginFailed as exc:
        return _page(request, who, error=exc.message(lang), status=422)
    assert fresh.token is not None
    try:
        logins.set_password(who.actor, who.actor.id, new)
    except ForloebError as exc:
        logins.logout(fresh.token)  # nothing changed: the second session goes again
        return _page(request, who, error=exc.message(lang), status=422)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        logins.logout(old)
    response = RedirectResponse("/password?done=1", status_code=303)
    set_cookie(response, request, SESSION_COOKIE, fresh.token, max_age=None)
    return response


__all__ = ["router"]
