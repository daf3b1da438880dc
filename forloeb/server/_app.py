"""The application factory: :func:`create_app`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from forloeb import __version__
from forloeb.engine import Engine, ForloebError, configure_logging, get_logger

from . import _engagements, _resources, console
from ._auth import Failures
from ._config import ServerConfig
from ._http import Context, HttpProblem, lang_of
from ._middleware import RequestContext
from ._openapi import COMMON, finish
from ._problems import HTTP_PROBLEMS, MEDIA_TYPE, error_problem, problem_body

_log = get_logger("forloeb.http")

DESCRIPTION = """The HTTP API of forloeb: the same Engine as the Python API and the CLI, with
the same guarantees. Authenticate with `Authorization: Bearer <token>` (tokens from
`forloeb token create`); a token acts as its entry of the staff register. Responses carry the
JSON shapes of the CLI's `--json`. Writes take `If-Match` (the engagement's ETag) and
`Idempotency-Key`."""


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        import json

        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def _problem(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return ProblemResponse(body, status_code=status, headers=headers)


def _http_problem(request: Request, slug: str, da: str, en: str, **extra: Any) -> Response:
    kind = HTTP_PROBLEMS[slug]
    detail = da if lang_of(request) == "da" else en
    return _problem(kind.status, problem_body(kind, detail, **extra))


def create_app(
    engine: Engine | None = None, *, config: ServerConfig | None = None, db: str | None = None
) -> FastAPI:
    """The HTTP API on ``engine`` (or an engine opened on ``db`` / ``FORLOEB_DB`` when
    the app starts, closed when it stops). Mount it inside another ASGI app with
    ``outer.mount("/forloeb", create_app(engine=engine))``."""
    config = config or ServerConfig.from_env()
    failures = Failures()
    owned: list[Engine] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is None:
            # ``forloeb serve``'s workers: their own engine, and logging as FORLOEB_LOG_* say.
            configure_logging()
            opened = Engine.open(db or os.environ.get("FORLOEB_DB"))
            owned.append(opened)
            app.state.forloeb = Context(opened, config, failures)
        try:
            yield
        finally:
            # Graceful shutdown: uvicorn has finished the requests in flight.
            for e in owned:
                e.close()

    app = FastAPI(
        title="forloeb",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # /docs is the console's own page: Swagger UI would come from a CDN
        redoc_url=None,
    )
    if engine is not None:
        app.state.forloeb = Context(engine, config, failures)

    for router in (
        _engagements.router,
        _resources.workflows,
        _resources.reminders,
        _resources.audit,
        _resources.me,
    ):
        app.include_router(router, responses=COMMON)
    app.include_router(_resources.health)
    console.install(app)  # the web console's pages (issue 15)

    @app.exception_handler(ForloebError)
    async def forloeb_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ForloebError)
        status, body, headers = error_problem(
            exc, lang_of(request), if_match=request.headers.get("if-match") is not None
        )
        if status >= 500:
            _log.warning("http_error", code=exc.code, message=str(exc))
        return _problem(status, body, headers)

    @app.exception_handler(HttpProblem)
    async def http_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HttpProblem)
        return _http_problem(request, exc.slug, exc.texts["da"], exc.texts["en"], **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"location": [str(p) for p in e.get("loc", ())], "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return _http_problem(
                request, "malformed-request", "Indholdet er ikke gyldig JSON.", "The body is not valid JSON."
            )
        return _http_problem(
            request,
            "request-validation",
            "Anmodningen er ikke gyldig: et felt mangler, har forkert type eller er ukendt.",
            "The request is not valid: a field is missing, of the wrong type, or not known.",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in (404, 405) and console.wants_page(request):
            return console.error_page(request, exc.status_code)
        slug = {400: "malformed-request", 404: "not-found", 405: "method-not-allowed"}.get(
            exc.status_code, "malformed-request"
        )
        kind = HTTP_PROBLEMS[slug]
        texts = {
            "not-found": ("Ressourcen findes ikke.", "No such resource."),
            "method-not-allowed": ("Metoden er ikke tilladt her.", "The method is not allowed here."),
            "malformed-request": ("Anmodningen kan ikke læses.", "The request cannot be read."),
        }[slug]
        detail = texts[0] if lang_of(request) == "da" else texts[1]
        return _problem(kind.status, problem_body(kind, detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        _log.exception("http_internal_error")
        return _http_problem(
            request, "internal-error", "Der skete en fejl på serveren.", "Something failed on the server."
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = finish(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    if config.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "Accept-Language"],
            expose_headers=["ETag", "Location", "Forloeb-Next-Cursor", "X-Request-Id"],
        )
    app.add_middleware(RequestContext, config=config)
    app.state.failures = failures
    return app


__all__ = ["create_app"]
