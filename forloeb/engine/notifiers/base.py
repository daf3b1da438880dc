"""The notifier contract: the message, the plug-in protocol and the one delivery error.

A notifier is *any* object with ``send(notification)``: the outbox only needs
that one method, so an embedding app can plug in Teams, SMS or a test double
without subclassing anything (a :class:`typing.Protocol`, not an ABC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .._errors import ForloebError, InvalidData
from .._i18n import Lang
from .._secrets import mask_secrets


@dataclass(frozen=True, kw_only=True)
class Notification:
    """One message to one recipient on one channel, as the outbox stores it.

    ``message_id`` is stable across retries: every channel passes it on
    (``Message-ID`` for e-mail, ``Idempotency-Key`` for webhooks) so that a
    receiver can drop a duplicate when a retry follows a lost acknowledgement.
    """

    message_id: str
    channel: str
    recipient: str
    subject: str
    body: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime

    def __post_init__(self) -> None:
        if not self.message_id.strip():
            raise InvalidData("a notification needs a message_id", detail_da="en besked skal have et id")
        # A naive time would be read differently by each receiver (Date header,
        # JSON): refuse it where it is made rather than send a wrong hour.
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise InvalidData(
                "notification created_at must be timezone-aware",
                detail_da="beskedens tidspunkt skal have en tidszone",
            )


@runtime_checkable
class Notifier(Protocol):
    """Delivers a notification or raises :class:`DeliveryError`.

    ``send`` returns only when the receiver has accepted the message; the
    outbox marks the row delivered on return and retries on a temporary error.
    """

    def send(self, notification: Notification) -> None: ...


class DeliveryError(ForloebError):
    """A notification could not be delivered.

    ``permanent`` tells the outbox whether a retry can help: True for refusals
    that will repeat (SMTP 5xx, HTTP 4xx except 408/429, bad configuration), False
    for what may pass (connection refused, timeouts, SMTP 4xx, HTTP 5xx/408/429).
    ``status`` is the SMTP or HTTP code when there was one; ``retry_after`` the
    seconds a server asked us to wait (HTTP ``Retry-After``), if it said.
    """

    code = "delivery_failed"

    def __init__(
        self,
        channel: str,
        recipient: str,
        detail: str,
        *,
        permanent: bool,
        status: int | None = None,
        retry_after: float | None = None,
        message_id: str | None = None,
    ) -> None:
        # A URL's password or token (a webhook's, a driver's text) is never shown or logged (L3).
        recipient, detail = mask_secrets(recipient), mask_secrets(detail)
        self.channel = channel
        self.recipient = recipient
        self.detail = detail
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after
        self.message_id = message_id
        super().__init__(channel=channel, recipient=recipient or "-", detail=detail)

    def _params(self, lang: Lang) -> dict[str, object]:
        if lang == "da":
            outcome = "kan ikke lykkes ved at prøve igen" if self.permanent else "prøves igen"
        else:
            outcome = "retrying cannot help" if self.permanent else "will be retried"
        return {**self.params, "outcome": outcome}
