"""A notifier that writes one log line: the default channel and the catch-all.

Useful where no mail server is set up yet (a pilot, a laptop) and as a trail
beside the real channels. The body is left out on purpose: it may name a
resident's engagement in free text, and logs have their own retention.
"""

from __future__ import annotations

from typing import Any, Final

from .._errors import InvalidData
from .._logging import get_logger
from .base import Notification

_LEVELS: Final = frozenset({"debug", "info", "warning", "error"})


class LogNotifier:
    """Logs ``notification`` (event "notification") on the ``forloeb`` logger; never fails."""

    def __init__(self, logger: Any = None, *, level: str = "info") -> None:
        if level not in _LEVELS:  # checked here so that send() cannot fail later
            raise InvalidData(
                f"log level must be one of {sorted(_LEVELS)}, not {level!r}",
                detail_da=f"logniveauet skal være et af {sorted(_LEVELS)}, ikke {level!r}",
            )
        # On the standard logger "forloeb": silent until the app (or configure_logging)
        # gives it a handler, and it follows a later configuration of that logger.
        self._logger = logger if logger is not None else get_logger()
        self._level = level

    def send(self, notification: Notification) -> None:
        getattr(self._logger, self._level)(
            "notification",
            message_id=notification.message_id,
            channel=notification.channel,
            recipient=notification.recipient,
            subject=notification.subject,
        )
