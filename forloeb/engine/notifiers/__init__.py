"""Notifier plug-ins and routing: how reminders and escalations reach people.

A notifier is any object with ``send(notification)`` (:class:`Notifier`, a
Protocol). Shipped: e-mail (:class:`SmtpNotifier`), signed JSON webhooks
(:class:`WebhookNotifier`) and a log line (:class:`LogNotifier`).
:class:`Router` decides from configuration data which channels and people a
reminder goes to; the outbox delivers with retries and reads
:attr:`DeliveryError.permanent` to decide whether to try again.
"""

from .base import DeliveryError, Notification, Notifier
from .digest import build_digest, digest_message_id
from .log import LogNotifier
from .routing import Route, Router
from .smtp import SmtpNotifier
from .webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_ID,
    WEBHOOK_SIGNATURE,
    WEBHOOK_TIMESTAMP,
    WebhookNotifier,
    sign,
    sign_standard,
    standard_key,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_ID",
    "WEBHOOK_SIGNATURE",
    "WEBHOOK_TIMESTAMP",
    "DeliveryError",
    "LogNotifier",
    "Notification",
    "Notifier",
    "Route",
    "Router",
    "SmtpNotifier",
    "WebhookNotifier",
    "build_digest",
    "digest_message_id",
    "sign",
    "sign_standard",
    "standard_key",
    "verify_signature",
]
