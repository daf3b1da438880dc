"""Logging with a library's manners: silent until the app asks, cheap when off.

forloeb logs through the standard library's ``logging``, on the logger
``"forloeb"`` (and any logger below it), which carries a ``NullHandler`` from
import on. An app that configures nothing therefore sees nothing (not even
Python's last-resort handler's warnings); an app that configures ``logging``
gets forloeb's lines like any other library's; an app that wants ours calls
``configure_logging``. structlog's global configuration is never touched: an
app that configures structlog itself keeps its configuration.

Inside forloeb, modules log with ``_log = get_logger()`` and structlog's
calling style, ``_log.info("transition", engagement_id=…, …)``. The logger
asks the standard logger ``isEnabledFor`` before anything is built, so a
filtered-out line costs a method call and a dict of the keyword arguments
(well under a microsecond), which keeps logging off the fire path.

A record's ``msg`` is the event as a dict (a ``dict`` subclass whose ``str``
is ``event key=value …``), so plain ``logging`` handlers print a readable
line, and ``structlog.stdlib.ProcessorFormatter`` (which ``configure_logging``
uses) renders the fields as console text or JSON.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping, Sequence
from typing import Any, Final, Literal, TextIO

import structlog
from structlog.typing import Processor

from ._secrets import mask_secrets

LogFormat = Literal["json", "console"]

LOGGER_NAME: Final = "forloeb"

logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())

# The level of each structlog method name, for the level check.
_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}
# engine code -> ForloebLogger.info -> _emit -> logging: the record names the engine code.
_STACKLEVEL: Final = 3


# Keys that are no fields of the line: the record shows the exception itself.
_NOT_FIELDS: Final = frozenset({"event", "exc_info"})


class LogEvent(dict[str, Any]):
    """A record's ``msg``: the event dict; its ``str`` is ``event key=value …`` for plain handlers."""

    def __str__(self) -> str:
        fields = " ".join(f"{key}={value!r}" for key, value in self.items() if key not in _NOT_FIELDS)
        event = str(self.get("event", ""))
        return f"{event} {fields}" if fields else event


class ForloebLogger(structlog.stdlib.BoundLogger):
    """structlog's stdlib ``BoundLogger`` that checks the level before it builds the event."""

    def _emit(
        self, level: int, name: str, event: str | None, args: tuple[Any, ...], kw: dict[str, Any]
    ) -> None:
        if args and event is not None:
            event = event % args
        _, processed = self._process_event(name, event, kw)
        event_dict = LogEvent(processed)
        # The exception goes both on the record (for logging's own formatters) and
        # in the event (ProcessorFormatter clears the record's before its processors
        # run); taken now, while it is being handled, as a handler may format later.
        exc_info = event_dict.get("exc_info")
        if exc_info is True:
            exc_info = event_dict["exc_info"] = sys.exc_info()
        stack_info = bool(event_dict.pop("stack_info", False))
        self._logger.log(
            level,
            event_dict,
            exc_info=exc_info,
            stack_info=stack_info,
            # Marks the record as structlog's for ProcessorFormatter (as wrap_for_formatter does).
            extra={"_logger": self._logger, "_name": name},
            stacklevel=_STACKLEVEL,
        )

    def debug(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if self._logger.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, "debug", event, args, kw)

    def info(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if self._logger.isEnabledFor(logging.INFO):
            self._emit(logging.INFO, "info", event, args, kw)

    def warning(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if self._logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, "warning", event, args, kw)

    warn = warning

    def error(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, "error", event, args, kw)

    def exception(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if self._logger.isEnabledFor(logging.ERROR):
            kw.setdefault("exc_info", True)
            self._emit(logging.ERROR, "error", event, args, kw)

    def critical(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if self._logger.isEnabledFor(logging.CRITICAL):
            self._emit(logging.CRITICAL, "critical", event, args, kw)

    fatal = critical

    def log(self, level: int, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if self._logger.isEnabledFor(level):
            self._emit(level, logging.getLevelName(level).lower(), event, args, kw)

    def _proxy_to_logger(
        self, method_name: str, event: str | None = None, *event_args: Any, **event_kw: Any
    ) -> Any:
        # The path of the inherited methods not overridden above (the async ones).
        level = _LEVELS.get(method_name, logging.INFO)
        if self._logger.isEnabledFor(level):
            if method_name == "exception":
                event_kw.setdefault("exc_info", True)
            self._emit(
                level, "error" if method_name == "exception" else method_name, event, event_args, event_kw
            )


def mask_url_secrets(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Every text field of a line with URL passwords and token-like query values
    masked (``***``): a database URL's ``?password=``, a webhook's token (L3)."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = mask_secrets(value)
    return event_dict


# Run at call time, for enabled levels only: an app's contextvars (a request
# id) belong to the line of the moment they were bound in.
_PROCESSORS: Final[Sequence[Processor]] = (structlog.contextvars.merge_contextvars, mask_url_secrets)


def get_logger(name: str = LOGGER_NAME) -> ForloebLogger:
    """A structlog-style logger on the standard logger ``name`` ("forloeb" or below it)."""
    return ForloebLogger(logging.getLogger(name), list(_PROCESSORS), {})


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` adds; a later call replaces it instead of adding another."""


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

    This configures the standard logger ``"forloeb"`` only: its level, and one
    handler of ours (replaced by a later call). The lines do not also propagate
    to the root logger, so an app with its own logging set-up does not get them
    twice. structlog's global configuration is left alone.
    """
    fmt = format or os.environ.get("FORLOEB_LOG_FORMAT", "console")
    if fmt not in ("json", "console"):
        raise ValueError(f"log format must be json or console, not {fmt!r}")
    lvl = level if level is not None else os.environ.get("FORLOEB_LOG_LEVEL", "info")
    numeric = lvl if isinstance(lvl, int) else logging.getLevelName(str(lvl).upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {lvl!r}")
    renderers: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(ensure_ascii=False)]
        if fmt == "json"
        else [structlog.dev.ConsoleRenderer(colors=False)]
    )
    handler = _OurHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                *renderers,
            ],
        )
    )
    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if isinstance(h, _OurHandler)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(numeric)
    logger.propagate = False
