"""Pages from templates: Jinja2 with autoescaping on (every value a person wrote
— notes, answers, names — is escaped by the template engine, never by hand),
the viewer's language, and the response headers every page carries.

Times are shown as Danish wall-clock time; labels of stages, questions and
triggers come from the method definitions (the same words the CLI prints).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from forloeb.engine import Lang
from forloeb.words import t as text

from ._session import LOGIN_COOKIE, Viewer, set_cookie

_TZ = ZoneInfo("Europe/Copenhagen")


def local(value: datetime | str | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """A stored (UTC) time as Copenhagen wall-clock time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(_TZ).strftime(fmt)
    return str(value)


def day(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return local(value, "%d.%m.%Y")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    try:
        return date.fromisoformat(str(value)).strftime("%d.%m.%Y")
    except ValueError:
        return str(value)


# What the frame (base.html) asks of every page, when a page does not say.
_FRAME: dict[str, Any] = {"flash": None, "error": None, "unsaved": ()}


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("forloeb.server.console", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,  # a misspelt name is an error in the tests, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local
    env.filters["day"] = day
    return env


def render(request: Request, who: Viewer | None, template: str, *, lang: str, **values: Any) -> str:
    def t(key: str, **params: Any) -> str:
        return text(cast(Lang, lang), key, **params)

    return (
        environment()
        .get_template(template)
        .render(request=request, who=who, lang=lang, t=t, path=request.url.path, **{**_FRAME, **values})
    )


def page(
    request: Request, who: Viewer | None, template: str, *, lang: str, status: int = 200, **values: Any
) -> HTMLResponse:
    """A whole page. Personal data is on most: never kept in a shared cache or the browser's."""
    body = render(request, who, template, lang=lang, **values)
    response = HTMLResponse(
        body,
        status_code=status,
        headers={"Cache-Control": "no-store", "Content-Language": lang, "Vary": "Cookie"},
    )
    if who is not None and who.session is None and request.cookies.get(LOGIN_COOKIE) != who.csrf:
        # Single sign-on: the forms' double-submit token lives in this cookie.
        set_cookie(response, request, LOGIN_COOKIE, who.csrf, max_age=None)
    return response


def download(body: str | Iterator[str], media_type: str, filename: str, **headers: str) -> Response:
    """A file for the browser to save: attachment, never cached (it holds personal data)."""
    all_headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        **headers,
    }
    if isinstance(body, str):
        return Response(body, media_type=media_type, headers=all_headers)
    return StreamingResponse(body, media_type=media_type, headers=all_headers)


__all__ = ["day", "download", "environment", "local", "page", "render"]
