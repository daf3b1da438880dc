"""E-mail over SMTP with the standard library.

One connection per message: notifications are few (reminders, escalations, a
daily digest), and a fresh connection never trips over a server that dropped
an idle one. The ``Message-ID`` is derived from the notification's stable id,
so when an acknowledgement is lost after the server accepted the message and
the outbox retries, the copy carries the same id and mail clients, archives and
journaling systems can recognise it as the same message.
"""

from __future__ import annotations

import email.policy
import email.utils
import smtplib
import ssl
from email.message import EmailMessage
from typing import Final
from urllib.parse import parse_qs, unquote, urlsplit

from .._errors import InvalidData
from .base import DeliveryError, Notification

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})
_QUERY_KEYS: Final = frozenset({"starttls", "from", "timeout"})


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidData(
        f"{name} must be 1/0, true/false or yes/no, not {value!r}",
        detail_da=f"{name} skal være 1/0, true/false eller yes/no, ikke {value!r}",
    )


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class SmtpNotifier:
    """Sends each notification as one e-mail to ``notification.recipient``.

    ``implicit_tls=True`` is TLS from the first byte (``smtps://``, port 465); ``starttls=True``
    upgrades a plain connection (port 587 or 25) and fails rather than send
    in clear text if the server does not offer STARTTLS.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int | None = None,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        implicit_tls: bool = False,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if starttls and implicit_tls:
            raise InvalidData(
                "choose either implicit TLS (smtps) or STARTTLS, not both",
                detail_da="vælg enten implicit TLS (smtps) eller STARTTLS, ikke begge",
            )
        if not sender or "@" not in email.utils.parseaddr(sender)[1]:
            raise InvalidData(
                f"the sender (from) must be an e-mail address, not {sender!r}",
                detail_da=f"afsenderen (from) skal være en e-mailadresse, ikke {sender!r}",
            )
        if timeout <= 0:
            raise InvalidData(
                f"timeout must be positive, not {timeout!r}",
                detail_da=f"timeout skal være positiv, ikke {timeout!r}",
            )
        self.host = host
        self.port = port if port is not None else (465 if implicit_tls else 25)
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> SmtpNotifier:
        """Build from ``smtp://user:pass@host:port?starttls=1&from=a@b.dk&timeout=10``.

        ``smtps://`` means implicit TLS. User and password are percent-decoded;
        ``password`` overrides the one in the URL, so a config file can keep the
        secret in the environment instead.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise InvalidData(
                f"an SMTP URL starts with smtp:// or smtps://, not {parts.scheme or '?'}://",
                detail_da=f"en SMTP-URL skal begynde med smtp:// eller smtps://, ikke {parts.scheme or '?'}://",
            )
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = set(query) - _QUERY_KEYS
        if unknown:  # a misspelt "starttls" would otherwise send in clear text
            raise InvalidData(
                f"unknown SMTP URL option(s): {', '.join(sorted(unknown))}",
                detail_da=f"ukendt(e) SMTP-URL-indstilling(er): {', '.join(sorted(unknown))}",
            )
        options = {key: values[-1] for key, values in query.items()}
        try:
            port = parts.port
            timeout = float(options.get("timeout", "10"))
        except ValueError as error:
            # The error is Python's own (urllib.parse, float()), English only.
            raise InvalidData(f"bad SMTP URL: {error}", detail_da=f"ugyldig SMTP-URL: {error}") from None
        if password is None and parts.password:
            password = unquote(parts.password)
        return cls(
            parts.hostname or "localhost",
            port,
            sender=options.get("from", ""),
            username=unquote(parts.username) if parts.username else None,
            password=password,
            starttls=_flag("starttls", options.get("starttls", "0")),
            implicit_tls=parts.scheme == "smtps",
            timeout=timeout,
            ssl_context=ssl_context,
            local_hostname=local_hostname,
        )

    def __repr__(self) -> str:  # never show the password (logs, tracebacks)
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        return f"SmtpNotifier({scheme}://{user}{self.host}:{self.port}, starttls={self.starttls})"

    def build_message(self, notification: Notification) -> EmailMessage:
        """The e-mail for ``notification``; public so that callers can preview it."""
        # policy.SMTP: CRLF line ends, RFC 2047 encoded words for a Danish
        # subject, and it refuses CR/LF inside a header value (no injection).
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = self.sender
        msg["To"] = notification.recipient
        msg["Subject"] = notification.subject
        msg["Date"] = email.utils.format_datetime(notification.created_at)
        msg["Message-ID"] = f"<{notification.message_id}@forloeb>"
        msg["X-Forloeb-Message-Id"] = notification.message_id
        # Quoted-printable keeps mostly-ASCII Danish text readable in the raw
        # message and safe through relays that do not speak 8BITMIME.
        msg.set_content(notification.body, charset="utf-8", cte="quoted-printable")
        return msg

    def send(self, notification: Notification) -> None:
        recipient = notification.recipient.strip()

        def fail(detail: str, *, permanent: bool, status: int | None = None) -> DeliveryError:
            return DeliveryError(
                notification.channel,
                recipient,
                detail,
                permanent=permanent,
                status=status,
                message_id=notification.message_id,
            )

        if "@" not in recipient:
            # E.g. a staff id the address book did not know: no server can fix that.
            raise fail("the recipient is not an e-mail address", permanent=True)
        try:
            msg = self.build_message(notification)
        except (ValueError, TypeError) as error:  # CR/LF in a header, unparsable address
            raise fail(f"cannot build the e-mail: {error}", permanent=True) from error
        try:
            self._deliver(msg, recipient)
        except (smtplib.SMTPException, OSError) as error:
            permanent, status, detail = _classify(error, self.timeout)
            raise fail(detail, permanent=permanent, status=status) from error

    def _deliver(self, msg: EmailMessage, recipient: str) -> None:
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        else:
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
            )
        try:
            if self.starttls:
                # Raises SMTPNotSupportedError when the server does not offer
                # it: we never fall back to sending the message in clear text.
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username is not None:
                smtp.login(self.username, self.password or "")
            envelope_from = email.utils.parseaddr(self.sender)[1]
            smtp.send_message(msg, from_addr=envelope_from, to_addrs=[recipient])
        finally:
            # Once DATA was accepted the message is delivered: a failing QUIT
            # must not turn that into an error (the outbox would send it again).
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context if self.ssl_context is not None else ssl.create_default_context()


def _classify(error: BaseException, timeout: float) -> tuple[bool, int | None, str]:
    """(permanent, SMTP code, detail) for an smtplib or socket error.

    A 5xx reply means the server will say the same next time; a 4xx reply, a
    dropped or refused connection and a timeout may pass. The order of the
    checks matters: every smtplib exception is also an ``OSError``.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = list(error.recipients.items())
        codes = [code for _, (code, _) in refusals]
        detail = "; ".join(f"{addr}: {code} {_text(text)}" for addr, (code, text) in refusals)
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return permanent, (codes[0] if codes else None), f"recipient refused: {detail}"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        # The server lacks what we were configured to require (STARTTLS, AUTH,
        # SMTPUTF8): a configuration mismatch that retrying does not change.
        return True, None, f"not supported by the server: {error}"
    if isinstance(error, smtplib.SMTPConnectError):
        detail = f"the server refused the connection: {error.smtp_code} {_text(error.smtp_error)}"
        return False, error.smtp_code, detail
    if isinstance(error, smtplib.SMTPResponseException):
        # SMTPSenderRefused, SMTPDataError, SMTPAuthenticationError, SMTPHeloError …
        # RFC 5321/4954: 4xx is transient (even "454 temporary authentication
        # failure"), 5xx is not. A code outside both (e.g. -1) is treated as transient.
        code = error.smtp_code
        kind = type(error).__name__
        return 500 <= code < 600, code, f"{kind}: {code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return False, None, f"the server closed the connection: {error}"
    if isinstance(error, TimeoutError):
        return False, None, f"timed out after {timeout:g} s"
    if isinstance(error, ConnectionRefusedError):
        return False, None, "connection refused (is the mail server running?)"
    # Other socket, DNS and TLS errors, and bare SMTPException: may pass.
    return False, None, f"{type(error).__name__}: {error}"
