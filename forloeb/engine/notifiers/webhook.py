"""JSON over HTTP POST with the standard library, signed as the Standard Webhooks
specification says (https://www.standardwebhooks.com).

Each delivery carries ``webhook-id`` (the outbox message id: the same on every
retry), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``): a receiver checks
it with any Standard Webhooks library (``standardwebhooks`` for Python, and
for most other languages), refuses stale timestamps (a captured delivery
cannot be replayed later) and drops duplicates by ``webhook-id``. The key is
the secret's UTF-8 bytes, or, for a secret written ``whsec_<base64>`` (the
specification's form), the bytes it encodes.

Deprecated, kept for one release: ``X-Forloeb-Signature: sha256=<hex>`` over
the body alone (no timestamp: replayable), checked with
:func:`verify_signature`, and ``X-Forloeb-Timestamp``. Receivers should move to
the standard headers; the next release stops sending these.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import http.client
import json
import ssl
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlsplit

from .._errors import InvalidData
from .._secrets import mask_secrets
from .base import DeliveryError, Notification

# Deprecated (one release): the bespoke signature over the body alone.
SIGNATURE_HEADER: Final = "X-Forloeb-Signature"
TIMESTAMP_HEADER: Final = "X-Forloeb-Timestamp"
# Standard Webhooks.
WEBHOOK_ID: Final = "webhook-id"
WEBHOOK_TIMESTAMP: Final = "webhook-timestamp"
WEBHOOK_SIGNATURE: Final = "webhook-signature"
_WHSEC: Final = b"whsec_"
_RETRYABLE_4XX: Final = frozenset({408, 429})
_MAX_READ: Final = 64 * 1024  # enough for any sane answer; a huge one is not our problem


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(body: bytes, secret: str | bytes) -> str:
    """The ``X-Forloeb-Signature`` value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def standard_key(secret: str | bytes) -> bytes:
    """The HMAC key of a secret: a ``whsec_<base64>`` secret's decoded bytes, else its UTF-8 bytes."""
    raw = _key(secret)
    if raw.startswith(_WHSEC):
        try:
            # Padding added as the reference libraries do (a secret may come unpadded).
            decoded = base64.b64decode(raw[len(_WHSEC) :] + b"==")
        except (binascii.Error, ValueError):
            decoded = b""
        if decoded:
            return decoded
    return raw


def sign_standard(message_id: str, timestamp: int, body: bytes, secret: str | bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_signature(body: bytes, header: str | None, secret: str | bytes) -> bool:
    """True when ``header`` is the signature of ``body`` under ``secret``.

    For receivers. Compares in constant time, and fails closed: a missing
    header, another scheme or an empty secret (anyone could sign with it) is False.
    """
    if not header or not secret:
        return False
    scheme, sep, given = header.strip().partition("=")
    if not sep or scheme.strip().lower() != "sha256":
        return False
    expected = hmac.new(_key(secret), body, hashlib.sha256).hexdigest().encode("ascii")
    # Bytes, not str: compare_digest refuses non-ASCII str, and a forged header may hold anything.
    return hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "replace"))


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value.strip())
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an unclosed IPv6 bracket
        return False


def _redact(url: str) -> str:
    """scheme://host:port only: webhook paths and queries often hold tokens
    (Slack, Teams), the user part a password, and error messages end up in
    logs and the outbox."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is no number, an unclosed bracket
        return "<URL>"
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme or '?'}://{host}{port}{rest}"


def _scrubbed(detail: str, url: str) -> str:
    """An error text with the URL (and its path and query, which urllib and
    http.client repeat) replaced by :func:`_redact`'s form, and any other
    URL's secrets masked."""
    url = url.strip()
    detail = detail.replace(url, _redact(url))
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is not None:
        for piece in (f"{parts.path}?{parts.query}" if parts.query else "", parts.path, parts.query):
            if len(piece) > 1:
                detail = detail.replace(piece, "/…")
    return mask_secrets(detail)


def _json_default(value: object) -> str:
    # Payloads are meant to be JSON-able already; due times as datetimes are
    # the one slip common enough to forgive, in the same ISO form as created_at.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib turns a redirected POST into a body-less GET,
    whose 200 would count as delivered while the message went nowhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookNotifier:
    """POSTs each notification as signed JSON to ``url`` (or to the recipient, if that is a URL)."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | bytes,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = "forloeb-webhook/1",
    ) -> None:
        if not _is_http_url(url):
            shown = _redact(url)
            raise InvalidData(
                f"a webhook URL must be http:// or https://, not {shown}",
                detail_da=f"en webhook-URL skal begynde med http:// eller https://, ikke {shown}",
            )
        if not secret:
            raise InvalidData(
                "a webhook needs a secret to sign with",
                detail_da="en webhook skal have en hemmelig nøgle (secret) at signere med",
            )
        if timeout <= 0:
            raise InvalidData(
                f"timeout must be positive, not {timeout!r}",
                detail_da=f"timeout skal være positiv, ikke {timeout!r}",
            )
        self.url = url
        self._secret = _key(secret)
        self.timeout = timeout
        self.user_agent = user_agent
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:  # never show the secret, nor a token in the URL
        return f"WebhookNotifier({_redact(self.url)}, timeout={self.timeout:g})"

    def target(self, notification: Notification) -> str:
        """Where ``notification`` goes: its recipient if that is an http(s) URL, else ``url``."""
        return notification.recipient.strip() if _is_http_url(notification.recipient) else self.url

    def body(self, notification: Notification) -> bytes:
        """The exact bytes that are signed and sent."""
        document = {
            "message_id": notification.message_id,
            "subject": notification.subject,
            "body": notification.body,
            "payload": dict(notification.payload),
            "created_at": notification.created_at.isoformat(),
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode(
            "utf-8"
        )

    def send(self, notification: Notification) -> None:
        url = self.target(notification)

        def fail(
            detail: str, *, permanent: bool, status: int | None = None, retry_after: float | None = None
        ) -> DeliveryError:
            return DeliveryError(
                notification.channel,
                _redact(url),
                _scrubbed(detail, url),
                permanent=permanent,
                status=status,
                retry_after=retry_after,
                message_id=notification.message_id,
            )

        try:
            data = self.body(notification)
        except (TypeError, ValueError) as error:  # a payload that is not JSON: resending cannot fix it
            raise fail(f"payload is not JSON: {error}", permanent=True) from error
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self.user_agent,
            "Idempotency-Key": notification.message_id,
            WEBHOOK_ID: notification.message_id,
            WEBHOOK_TIMESTAMP: str(timestamp),
            WEBHOOK_SIGNATURE: sign_standard(notification.message_id, timestamp, data, self._secret),
            # Deprecated, for one release (see the module's text).
            SIGNATURE_HEADER: sign(data, self._secret),
            TIMESTAMP_HEADER: str(timestamp),
        }
        try:
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            # Once the status line said 2xx the receiver has the message: a
            # broken answer body must not make the outbox send it twice.
            with (
                self._opener.open(request, timeout=self.timeout) as response,
                contextlib.suppress(OSError, http.client.HTTPException),
            ):
                response.read(_MAX_READ)
        except urllib.error.HTTPError as error:
            status = error.code
            try:
                text = error.read(512).decode("utf-8", "replace").strip()
            except (OSError, http.client.HTTPException):
                text = ""
            finally:
                error.close()
            detail = f"HTTP {status} {error.reason}" + (f": {text}" if text else "")
            raise fail(
                detail,
                permanent=_permanent_status(status),
                status=status,
                retry_after=_retry_after(error.headers.get("Retry-After") if error.headers else None),
            ) from error
        except urllib.error.URLError as error:
            # Raised while connecting or sending: refused, DNS, TLS, timeout.
            reason = error.reason
            if isinstance(reason, TimeoutError):
                raise fail(f"timed out after {self.timeout:g} s", permanent=False) from error
            raise fail(f"cannot connect: {reason}", permanent=False) from error
        except TimeoutError as error:  # the answer did not come in time
            raise fail(f"timed out after {self.timeout:g} s", permanent=False) from error
        except ValueError as error:  # bad URL (unknown scheme, invalid host)
            raise fail(f"bad URL: {error}", permanent=True) from error
        except (OSError, http.client.HTTPException) as error:  # reset, closed without an answer
            raise fail(f"{type(error).__name__}: {error}", permanent=False) from error


def _permanent_status(status: int) -> bool:
    """4xx (except 408 and 429) will repeat; so will a 3xx, as redirects are not followed.
    5xx, 408 and 429 say "not now"."""
    if status in _RETRYABLE_4XX:
        return False
    return 300 <= status < 500
