"""structlog set-up: JSON lines for machines, console for people.

The library only asks for ``structlog.get_logger("forloeb")``; an embedding app
that configures structlog itself keeps its configuration. ``configure_logging``
is for the CLI and for apps that want ours.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Literal, TextIO

import structlog

LogFormat = Literal["json", "console"]


def configure_logging(
    format: LogFormat | None = None,
    *,
    level: str | int | None = None,
    stream: TextIO | None = None,
) -> None:
    """Render forloeb's log lines as JSON or console text at ``level``.

    Defaults come from ``FORLOEB_LOG_FORMAT`` (json|console, default console)
    and ``FORLOEB_LOG_LEVEL`` (default info). Lines go to stderr, so a CLI's
    machine-readable stdout stays clean.
    """
    fmt = format or os.environ.get("FORLOEB_LOG_FORMAT", "console")
    if fmt not in ("json", "console"):
        raise ValueError(f"log format must be json or console, not {fmt!r}")
    lvl = level if level is not None else os.environ.get("FORLOEB_LOG_LEVEL", "info")
    numeric = lvl if isinstance(lvl, int) else logging.getLevelName(str(lvl).upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {lvl!r}")
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        # Filtering happens before any processor runs: a disabled level costs
        # one method call, which keeps logging off the hot path in benchmarks.
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        # Not cached: the engine's module-level logger must follow a later
        # reconfiguration (apps and tests do reconfigure); a filtered-out
        # level still costs only a bind.
        cache_logger_on_first_use=False,
    )
