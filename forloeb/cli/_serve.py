"""``forloeb serve``: the HTTP API on uvicorn (``pip install 'forloeb[server]'``).

The database is checked before uvicorn starts (a missing or old schema is one
line and exit code 1, as for every command); each uvicorn worker then opens
its own engine on the same database (``FORLOEB_DB``): several workers and
several machines share one PostgreSQL database as the README's "Running on
several machines" describes (SQLite: one worker).
"""

from __future__ import annotations

import os

import click

from ._context import ForloebCommand, Settings, global_options_again, open_engine
from ._render import echo

TEXTS: dict[str, tuple[str, str]] = {
    "missing": (
        "HTTP-API'et kræver serverudvidelsen: pip install 'forloeb[server]' ({name} mangler).",
        "The HTTP API needs the server extra: pip install 'forloeb[server]' ({name} is missing).",
    ),
    "sqlite_workers": (
        "SQLite har én skriver ad gangen: kør med --workers 1, eller brug PostgreSQL til flere.",
        "SQLite has one writer at a time: run with --workers 1, or use PostgreSQL for more.",
    ),
    "serving": (
        "forloeb på http://{host}:{port} ({workers} worker(s)): webkonsollen på /, HTTP-API'et på /v1 "
        "(dokumentation på /docs).",
        "forloeb at http://{host}:{port} ({workers} worker(s)): the web console at /, the HTTP API at /v1 "
        "(documentation at /docs).",
    ),
}


@click.command(cls=ForloebCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, metavar="N")
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="ADDR",
    help="An authenticating proxy's address or network (single sign-on). Repeatable.",
)
@click.option(
    "--trusted-header",
    metavar="NAME",
    help="The header naming the staff login, honoured only from --trusted-proxy (e.g. X-Forwarded-User).",
)
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN", help="Allow browsers here.")
@global_options_again
@click.pass_obj
def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    trusted_proxies: tuple[str, ...],
    trusted_header: str | None,
    cors_origins: tuple[str, ...],
) -> None:
    """Serve the web console (/) and the HTTP API (/v1; OpenAPI at /openapi.json, reference at /docs)
    until SIGTERM."""
    lang = settings.lang
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        raise click.ClickException(TEXTS["missing"][int(lang == "en")].format(name=exc.name)) from None
    from forloeb.server import ServerConfig

    # Settings travel to the workers (separate processes) in the environment.
    env = {
        "FORLOEB_HTTP_TRUSTED_PROXIES": ",".join(trusted_proxies),
        "FORLOEB_HTTP_TRUSTED_HEADER": trusted_header or "",
        "FORLOEB_HTTP_CORS_ORIGINS": ",".join(cors_origins),
    }
    for key, value in env.items():
        if value:
            os.environ[key] = value
    os.environ.setdefault("FORLOEB_LOG_LEVEL", "info")
    ServerConfig.from_env()  # a bad address: one line, before anything starts
    with open_engine(settings) as engine:  # a missing or old schema: one line, exit code 1
        url = engine.store.url
        is_sqlite = url.startswith("sqlite")
    if is_sqlite and workers > 1:
        raise click.UsageError(TEXTS["sqlite_workers"][int(lang == "en")])
    if settings.db:
        os.environ["FORLOEB_DB"] = settings.db
    echo(TEXTS["serving"][int(lang == "en")].format(host=host, port=port, workers=workers), err=True)
    uvicorn.run(
        "forloeb.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the app logs each request itself (with the staff id, never the token)
        log_level="warning",
        timeout_graceful_shutdown=30,
        proxy_headers=False,  # the peer's address is what the trusted header is checked against
    )
