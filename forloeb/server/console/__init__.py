"""The web console (issue 15): server-rendered Danish pages for workers,
supervisors and auditors in the same ASGI application as the HTTP API.

No JavaScript and no build step: every page is a template shipped in the
package (``templates/``), every asset a file in ``static/``; nothing is loaded
from another origin. Who looks is a session from ``engine.logins`` (or the
API's trusted single-sign-on header); every page reads and writes through the
Engine, so the visibility rule, the roles of the staff register and the
access log apply exactly as on the CLI and the API.

Modules: ``_session`` (cookie, viewer, CSRF), ``_render`` (templates),
``_frame`` (the guard, forms, login/logout/language), ``_account`` (one's
own password), ``_docs`` (the
API's reference at /docs), one module per area:
``_worker`` (my engagements, intake, start), ``_engagement`` (the engagement
page and its forms), ``_moves`` (a step with its own questions, the
handover's consent check), ``_supervisor`` (board, reminders, reassignment),
``_audit`` (audit query, export, verify, checkpoints, access log) and
``_reports`` (report and caseload with charts).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from . import _account, _audit, _docs, _engagement, _frame, _moves, _reports, _supervisor, _worker

STATIC = Path(__file__).parent / "static"


def wants_page(request: Request) -> bool:
    """Whether an error should be a page rather than the API's problem+json: a
    browser (it accepts HTML) asking for something outside ``/v1``."""
    return not request.url.path.startswith("/v1/") and "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int) -> Response:
    """The console's page for a URL it does not know (404) or a method it does not take."""
    return _frame.missing(request, status)


def install(app: FastAPI) -> None:
    """Add the console's pages and static files to ``app`` (the API's application)."""
    for module in (_frame, _account, _docs, _worker, _engagement, _moves, _supervisor, _audit, _reports):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _reports.keep_reports(app)


__all__ = ["error_page", "install", "wants_page"]
