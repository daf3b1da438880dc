"""Notifier plug-ins against real servers on localhost: aiosmtpd for e-mail,
``http.server`` for webhooks. Nothing is mocked on the wire, so header
encoding, status mapping and timeouts are what a real receiver sees.
"""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from helpers import capture_logs

import forloeb.engine as engine_api
from forloeb.engine import InvalidData
from forloeb.engine.notifiers import (
    DeliveryError,
    LogNotifier,
    Notification,
    Notifier,
    Route,
    Router,
    SmtpNotifier,
    WebhookNotifier,
    build_digest,
    digest_message_id,
    sign,
    verify_signature,
)

SUBJECT = "Påmindelse: forløb 7 står stille i Den fælles vej"
BODY = "Forløbet har stået stille i fasen «Den fælles vej» siden mandag.\nHusk at følge op — æøå ÆØÅ.\n"
SENDER = "sekretariat@example.dk"
SECRET = "hemmelig-nøgle"
CREATED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def note(**overrides: Any) -> Notification:
    values: dict[str, Any] = {
        "message_id": "0b6f3c1e-3d7a-4b7e-9a59-2f1d7c1e0a01",
        "channel": "email",
        "recipient": "leder@example.dk",
        "subject": SUBJECT,
        "body": BODY,
        "payload": {"engagement_id": 7, "workflow": "individual_course", "stage": "shared_path", "level": 1},
        "created_at": CREATED,
    }
    values.update(overrides)
    return Notification(**values)


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd's Controller cannot bind port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- SMTP servers --------------------------------------------------------------------------


@dataclass
class Collector:
    """An aiosmtpd handler that keeps every accepted envelope."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@dataclass
class Refuser(Collector):
    """Refuses every recipient with ``reply`` (e.g. 550 or 450)."""

    reply: str = "550 no such user"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        return self.reply


def start_smtp(handler: Any, **kwargs: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Collector]]:
    handler = Collector()
    controller = start_smtp(handler)
    yield controller, handler
    controller.stop()


def parse(envelope: Envelope) -> EmailMessage:
    content = envelope.original_content or envelope.content
    assert isinstance(content, bytes)
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def mailer(controller: Controller, **kwargs: Any) -> SmtpNotifier:
    return SmtpNotifier("127.0.0.1", controller.port, sender=SENDER, timeout=5, **kwargs)


# -- SMTP ---------------------------------------------------------------------------------


def test_smtp_delivers_one_message_with_danish_text_intact(
    smtp_server: tuple[Controller, Collector],
) -> None:
    controller, handler = smtp_server
    n = note()
    mailer(controller).send(n)

    assert len(handler.envelopes) == 1
    (envelope,) = handler.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["leder@example.dk"]
    message = parse(envelope)
    assert message["To"] == n.recipient
    assert message["From"] == SENDER
    assert message["Subject"] == SUBJECT
    assert message["Message-ID"] == f"<{n.message_id}@forloeb>"
    assert message["X-Forloeb-Message-Id"] == n.message_id
    assert message.get_content_charset() == "utf-8"
    # SMTP carries CRLF line ends; a mail client shows them as plain line breaks.
    assert message.get_content().replace("\r\n", "\n") == BODY
    assert email.utils.parsedate_to_datetime(message["Date"]) == CREATED
    # On the wire the subject is RFC 2047 encoded: plain ASCII headers.
    raw = envelope.original_content or b""
    assert b"Subject: =?utf-8?" in raw
    assert "ø".encode() not in raw.split(b"\r\n\r\n", 1)[0]


def test_a_resend_carries_the_same_message_id(smtp_server: tuple[Controller, Collector]) -> None:
    controller, handler = smtp_server
    n = note()
    mailer(controller).send(n)
    mailer(controller).send(n)
    ids = {parse(e)["Message-ID"] for e in handler.envelopes}
    assert ids == {f"<{n.message_id}@forloeb>"}


def test_smtp_server_down_is_a_temporary_failure() -> None:
    notifier = SmtpNotifier("127.0.0.1", free_port(), sender=SENDER, timeout=2)
    with pytest.raises(DeliveryError) as info:
        notifier.send(note())
    error = info.value
    assert error.permanent is False
    assert error.channel == "email"
    assert error.recipient == "leder@example.dk"
    assert error.message_id == note().message_id
    assert "refused" in error.detail


def test_a_silent_smtp_server_times_out_as_a_temporary_failure() -> None:
    with socket.socket() as listener:  # accepts (backlog) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        notifier = SmtpNotifier("127.0.0.1", listener.getsockname()[1], sender=SENDER, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(DeliveryError) as info:
            notifier.send(note())
    assert time.monotonic() - started < 3
    assert info.value.permanent is False
    assert "timed out" in info.value.detail


def test_recipient_refused_with_550_is_permanent() -> None:
    handler = Refuser(reply="550 no such user")
    controller = start_smtp(handler)
    try:
        with pytest.raises(DeliveryError) as info:
            mailer(controller).send(note())
    finally:
        controller.stop()
    assert info.value.permanent is True
    assert info.value.status == 550
    assert "no such user" in info.value.detail
    assert handler.envelopes == []


def test_recipient_refused_with_450_is_temporary() -> None:
    controller = start_smtp(Refuser(reply="450 mailbox busy"))
    try:
        with pytest.raises(DeliveryError) as info:
            mailer(controller).send(note())
    finally:
        controller.stop()
    assert info.value.permanent is False
    assert info.value.status == 450


def test_starttls_required_but_not_offered_fails_permanently_without_sending(
    smtp_server: tuple[Controller, Collector],
) -> None:
    controller, handler = smtp_server
    with pytest.raises(DeliveryError) as info:
        mailer(controller, starttls=True).send(note())
    assert info.value.permanent is True
    assert handler.envelopes == []


def test_a_recipient_that_is_no_address_fails_permanently_before_connecting() -> None:
    notifier = SmtpNotifier("127.0.0.1", free_port(), sender=SENDER)
    with pytest.raises(DeliveryError) as info:
        notifier.send(note(recipient="hanne.l"))
    assert info.value.permanent is True


def test_a_header_injection_attempt_is_refused_permanently(
    smtp_server: tuple[Controller, Collector],
) -> None:
    controller, handler = smtp_server
    with pytest.raises(DeliveryError) as info:
        mailer(controller).send(note(subject="Hej\r\nBcc: alle@example.dk"))
    assert info.value.permanent is True
    assert handler.envelopes == []


def test_delivery_error_speaks_danish_and_english() -> None:
    error = DeliveryError("email", "leder@example.dk", "550 no such user", permanent=True)
    assert "kan ikke lykkes" in error.message("da")
    assert "leder@example.dk" in error.message("da")
    assert str(error) == error.message("en")
    assert "retrying cannot help" in str(error)
    assert "prøves igen" in DeliveryError("email", "x@y.dk", "timeout", permanent=False).message("da")
    assert isinstance(error, engine_api.ForloebError)


def test_from_url_parses_every_setting() -> None:
    notifier = SmtpNotifier.from_url(
        "smtp://hanne%40sek:p%40ss%3Aw@mail.example.dk:587?starttls=1&from=sekretariat@example.dk&timeout=2.5"
    )
    assert notifier.host == "mail.example.dk"
    assert notifier.port == 587
    assert notifier.username == "hanne@sek"
    assert notifier.password == "p@ss:w"
    assert notifier.starttls is True
    assert notifier.implicit_tls is False
    assert notifier.sender == "sekretariat@example.dk"
    assert notifier.timeout == 2.5
    assert "p@ss" not in repr(notifier)


def test_from_url_defaults_and_smtps() -> None:
    plain = SmtpNotifier.from_url("smtp://localhost?from=a@example.dk")
    assert (plain.host, plain.port, plain.starttls, plain.username, plain.timeout) == (
        "localhost",
        25,
        False,
        None,
        10.0,
    )
    tls = SmtpNotifier.from_url("smtps://u:pw@mail.example.dk?from=a@example.dk")
    assert (tls.port, tls.implicit_tls, tls.starttls) == (465, True, False)
    overridden = SmtpNotifier.from_url("smtp://u:url-pw@h?from=a@example.dk", password="env-pw")
    assert overridden.password == "env-pw"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost?from=a@example.dk",  # wrong scheme
        "smtp://localhost",  # no sender
        "smtp://localhost?from=a@example.dk&startls=1",  # misspelt option
        "smtp://localhost?from=a@example.dk&starttls=maybe",
        "smtp://localhost?from=a@example.dk&timeout=soon",
        "smtps://localhost?from=a@example.dk&starttls=1",  # both kinds of TLS
    ],
)
def test_from_url_refuses_bad_settings(url: str) -> None:
    with pytest.raises(InvalidData):
        SmtpNotifier.from_url(url)


# -- TLS and login (needs the openssl tool for a throwaway certificate) --------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    # An EC key: generated in milliseconds, where RSA would slow the suite down.
    command = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]  # the client checks the name it dialled
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


def server_context(files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*files)
    return context


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"hanne@sek",
        b"p@ss:w",
    )
    # handled=False: aiosmtpd then answers 535 itself (handled=True would leave the client waiting)
    return AuthResult(success=ok, handled=False)


def test_starttls_and_login_deliver(tls_files: tuple[Path, Path]) -> None:
    handler = Collector()
    controller = start_smtp(
        handler,
        tls_context=server_context(tls_files),
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    try:
        url = f"smtp://hanne%40sek:p%40ss%3Aw@127.0.0.1:{controller.port}?starttls=1&from={SENDER}&timeout=5"
        client = ssl.create_default_context(cafile=str(tls_files[0]))
        SmtpNotifier.from_url(url, ssl_context=client).send(note())
        wrong = url.replace("p%40ss", "nope")
        with pytest.raises(DeliveryError) as info:
            SmtpNotifier.from_url(wrong, ssl_context=client).send(note())
    finally:
        controller.stop()
    assert len(handler.envelopes) == 1
    assert parse(handler.envelopes[0])["Subject"] == SUBJECT
    assert info.value.permanent is True  # 535: the password will not get better
    assert info.value.status == 535


def test_implicit_tls_delivers(tls_files: tuple[Path, Path]) -> None:
    handler = Collector()
    controller = start_smtp(handler, ssl_context=server_context(tls_files))
    try:
        client = ssl.create_default_context(cafile=str(tls_files[0]))
        SmtpNotifier.from_url(
            f"smtps://127.0.0.1:{controller.port}?from={SENDER}&timeout=5", ssl_context=client
        ).send(note())
    finally:
        controller.stop()
    assert [parse(e)["Subject"] for e in handler.envelopes] == [SUBJECT]


# -- webhook server -------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HookServer:
    url: str
    requests: list[Recorded]


@pytest.fixture
def hook_server() -> Iterator[Callable[..., HookServer]]:
    """Starts real HTTP servers answering ``status`` after ``delay`` seconds."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []
    release = threading.Event()  # ends a sleeping handler at teardown

    def start(status: int = 200, delay: float = 0.0, headers: dict[str, str] | None = None) -> HookServer:
        requests: list[Recorded] = []

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
                if delay:
                    release.wait(delay)
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the client gave up (timeout test)
                    pass

            do_POST = _record
            do_GET = _record

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits up to one interval, per server.
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return HookServer(f"http://127.0.0.1:{server.server_address[1]}/hooks/forloeb", requests)

    yield start
    release.set()
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- webhook ---------------------------------------------------------------------------------


def test_webhook_posts_signed_json_once(hook_server: Callable[..., HookServer]) -> None:
    server = hook_server()
    n = note(channel="webhook", recipient="hanne.l")  # not a URL: the configured url is used
    WebhookNotifier(server.url, secret=SECRET, timeout=5).send(n)

    assert len(server.requests) == 1
    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == "/hooks/forloeb"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["Idempotency-Key"] == n.message_id
    assert abs(int(request.headers["X-Forloeb-Timestamp"]) - time.time()) < 60
    document = json.loads(request.body.decode("utf-8"))
    assert document == {
        "message_id": n.message_id,
        "subject": SUBJECT,
        "body": BODY,
        "payload": dict(n.payload),
        "created_at": CREATED.isoformat(),
    }
    assert "står stille".encode() in request.body  # UTF-8 as is, not \\u escapes

    header = request.headers["X-Forloeb-Signature"]
    assert header.startswith("sha256=")
    assert verify_signature(request.body, header, SECRET)
    assert verify_signature(request.body, header, SECRET.encode())
    assert not verify_signature(request.body.replace(b"7", b"8"), header, SECRET)
    assert not verify_signature(request.body, header, "en anden nøgle")
    assert not verify_signature(request.body, None, SECRET)
    assert not verify_signature(request.body, header.replace("sha256=", "sha1="), SECRET)
    assert not verify_signature(request.body, "sha256=æøå", SECRET)
    assert not verify_signature(request.body, sign(request.body, ""), "")


def test_a_url_recipient_overrides_the_configured_url(hook_server: Callable[..., HookServer]) -> None:
    configured, other = hook_server(), hook_server()
    WebhookNotifier(configured.url, secret=SECRET).send(note(channel="webhook", recipient=other.url))
    assert (len(configured.requests), len(other.requests)) == (0, 1)


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (503, False), (400, True), (404, True), (408, False), (429, False), (302, True)],
)
def test_webhook_status_mapping(hook_server: Callable[..., HookServer], status: int, permanent: bool) -> None:
    server = hook_server(status=status, headers={"Location": "/elsewhere", "Retry-After": "30"})
    with pytest.raises(DeliveryError) as info:
        WebhookNotifier(server.url, secret=SECRET).send(note(channel="webhook"))
    assert info.value.permanent is permanent
    assert info.value.status == status
    assert info.value.channel == "webhook"
    assert info.value.retry_after == 30.0
    # A redirect is not followed: urllib would repeat a POST as a body-less GET.
    assert [r.method for r in server.requests] == ["POST"]


def test_a_slow_webhook_times_out_as_temporary(hook_server: Callable[..., HookServer]) -> None:
    server = hook_server(delay=5.0)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        WebhookNotifier(server.url, secret=SECRET, timeout=0.5).send(note(channel="webhook"))
    assert time.monotonic() - started < 3
    assert info.value.permanent is False
    assert "timed out" in info.value.detail


def test_a_webhook_nobody_listens_on_is_temporary() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook?token=abc"
    with pytest.raises(DeliveryError) as info:
        WebhookNotifier(url, secret=SECRET, timeout=2).send(note(channel="webhook"))
    assert info.value.permanent is False
    assert "token" not in str(info.value)  # tokens in hook URLs stay out of logs


def test_a_payload_that_is_not_json_fails_permanently() -> None:
    notifier = WebhookNotifier("http://127.0.0.1:9/hook", secret=SECRET)
    with pytest.raises(DeliveryError) as info:
        notifier.send(note(channel="webhook", payload={"x": object()}))
    assert info.value.permanent is True
    # datetimes are forgiven: ISO text, like created_at
    body = json.loads(notifier.body(note(payload={"due_at": CREATED})))
    assert body["payload"]["due_at"] == CREATED.isoformat()


def test_webhook_refuses_bad_settings() -> None:
    with pytest.raises(InvalidData):
        WebhookNotifier("ftp://example.dk/hook", secret=SECRET)
    with pytest.raises(InvalidData):
        WebhookNotifier("https://example.dk/hook", secret="")
    assert SECRET not in repr(WebhookNotifier("https://example.dk/hook/t0ken", secret=SECRET))
    assert "t0ken" not in repr(WebhookNotifier("https://example.dk/hook/t0ken", secret=SECRET))


# -- protocol, log ------------------------------------------------------------------------------


def test_any_object_with_send_is_a_notifier() -> None:
    class Sms:
        def __init__(self) -> None:
            self.sent: list[Notification] = []

        def send(self, notification: Notification) -> None:
            self.sent.append(notification)

    assert isinstance(Sms(), Notifier)
    assert not isinstance(object(), Notifier)
    for shipped in (LogNotifier(), SmtpNotifier(sender=SENDER), WebhookNotifier("http://x.dk", secret="s")):
        assert isinstance(shipped, Notifier)


def test_log_notifier_logs_one_line() -> None:
    n = note(channel="log")
    with capture_logs() as logs:
        LogNotifier().send(n)
    assert logs == [
        {
            "event": "notification",
            "log_level": "info",
            "message_id": n.message_id,
            "channel": "log",
            "recipient": n.recipient,
            "subject": SUBJECT,
        }
    ]


def test_notification_needs_an_aware_time_and_an_id() -> None:
    with pytest.raises(InvalidData):
        note(created_at=datetime(2026, 3, 2, 9, 30))
    with pytest.raises(InvalidData):
        note(message_id=" ")
    with pytest.raises(AttributeError):
        note().subject = "x"  # type: ignore[misc]


def test_the_engine_package_re_exports_the_public_names() -> None:
    for name in (
        "Notification",
        "Notifier",
        "DeliveryError",
        "SmtpNotifier",
        "WebhookNotifier",
        "LogNotifier",
        "Router",
        "Route",
        "verify_signature",
    ):
        assert name in engine_api.__all__
        assert getattr(engine_api, name) is not None


# -- routing ----------------------------------------------------------------------------------

CONFIG: dict[str, Any] = {
    "notifiers": {
        "email": {"url": "smtp://localhost:2525?from=sekretariat@example.dk"},
        "webhook": {"url": "https://hooks.example.dk/forloeb", "secret_env": "FORLOEB_WEBHOOK_SECRET"},
    },
    "routes": [
        {"team": "social", "level": 2, "channel": "email", "recipient": "leder@example.dk"},
        {"recipient_role": "supervisor", "channel": "email"},
        {"workflow": "civil_society", "channel": "webhook"},
        {"channel": "log"},
    ],
    "address_book": {"hanne.l": "hanne@example.dk"},
}
ENV = {"FORLOEB_WEBHOOK_SECRET": "s3cret"}


@pytest.fixture
def router() -> Router:
    return Router.from_config(CONFIG, environ=ENV)


def test_from_config_builds_notifiers_and_routes(router: Router) -> None:
    assert isinstance(router.notifiers["email"], SmtpNotifier)
    assert isinstance(router.notifiers["webhook"], WebhookNotifier)
    assert isinstance(router.notifiers["log"], LogNotifier)  # always there
    assert router.routes[0] == Route(team="social", level=2, channel="email", recipient="leder@example.dk")
    assert router.routes[-1] == Route(channel="log")
    email_notifier = router.notifiers["email"]
    assert isinstance(email_notifier, SmtpNotifier)
    assert (email_notifier.port, email_notifier.sender) == (2525, "sekretariat@example.dk")


def test_team_and_level_match_plus_catch_all(router: Router) -> None:
    got = router.targets(
        team="social", workflow="individual_course", level=2, recipient_role="supervisor", recipient="hanne.l"
    )
    assert got == [
        ("email", "leder@example.dk"),
        ("email", "hanne@example.dk"),  # the supervisor, via the address book
        ("log", "hanne@example.dk"),
    ]


def test_other_level_falls_through_to_the_catch_all(router: Router) -> None:
    got = router.targets(team="social", workflow="individual_course", level=1, recipient_role="worker")
    assert got == [("log", "")]
    unknown_staff = router.targets(team="civil", level=1, recipient_role="worker", recipient="ali.k")
    assert unknown_staff == [("log", "ali.k")]


def test_workflow_match_and_no_repeats(router: Router) -> None:
    got = router.targets(
        team="civil", workflow="civil_society", level=1, recipient_role="supervisor", recipient="hanne.l"
    )
    assert got == [
        ("email", "hanne@example.dk"),
        ("webhook", "hanne@example.dk"),
        ("log", "hanne@example.dk"),
    ]
    twice = Router([Route(channel="log"), Route(channel="log")], {})
    assert twice.targets(recipient="x") == [("log", "x")]


def test_router_send_dispatches_by_channel() -> None:
    class Sms:
        def __init__(self) -> None:
            self.sent: list[Notification] = []

        def send(self, notification: Notification) -> None:
            self.sent.append(notification)

    sms = Sms()
    router = Router.from_config({"routes": [{"channel": "sms"}]}, notifiers={"sms": sms})
    n = note(channel="sms", recipient="+4512345678")
    router.send(n)
    assert sms.sent == [n]
    with pytest.raises(InvalidData):
        router.send(note(channel="pigeon"))


@pytest.mark.parametrize(
    "config",
    [
        {"routes": [{"channel": "email"}]},  # no email notifier
        {"routes": [{"channel": "log", "leve": 2}]},  # misspelt condition
        {"routes": [{"channel": "log", "level": True}]},
        {"routes": [{"channel": "log", "level": "2"}]},
        {"routes": [{"team": "social"}]},  # no channel
        {"notifiers": {"webhook": {"url": "https://x.dk/h", "secret_env": "NOT_SET"}}},
        {"notifiers": {"pager": {"url": "x"}}},  # unknown type
        {"notifiers": {"email": {"url": "smtp://h?from=a@b.dk", "pasword": "x"}}},
        {"route": []},  # unknown top-level key
        {"address_book": {"hanne.l": 7}},
    ],
)
def test_from_config_refuses_mistakes(config: dict[str, Any]) -> None:
    with pytest.raises(InvalidData):
        Router.from_config(config, environ=ENV)


def test_route_conditions() -> None:
    route = Route(channel="email", team="social", level=2)
    assert route.matches(team="social", level=2, workflow="any", recipient_role="any")
    assert not route.matches(team="social", level=3)
    assert not route.matches(team=None, level=2)  # a condition needs a value to match
    assert Route(channel="log").matches()


# -- digest ------------------------------------------------------------------------------------

REMINDERS: list[dict[str, Any]] = [
    {
        "engagement_id": 7,
        "workflow": "individual_course",
        "stage": "shared_path",
        "label": {"da": "Den fælles vej", "en": "The shared path"},
        "level": 1,
        "due_at": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
    },
    {"engagement_id": 12, "stage": "action", "label": "Handling", "level": 2, "due_at": "2026-02-27"},
    {"engagement_id": 31, "stage": "first_contact", "level": 1},
]
MORNING = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 07:00 in Copenhagen


def test_danish_digest_lists_every_reminder() -> None:
    n = build_digest("leder@example.dk", REMINDERS, now=MORNING)
    assert n.recipient == "leder@example.dk"
    assert n.channel == "email"
    assert n.subject == "Påmindelser 02.03.2026: 3 åbne"
    lines = n.body.splitlines()
    assert "- Forløb 7: Den fælles vej, niveau 1, frist 02.03.2026 kl. 09.00" in lines  # Danish time
    assert "- Forløb 12: Handling, niveau 2, frist 2026-02-27" in lines
    assert "- Forløb 31: first_contact, niveau 1, frist ingen" in lines
    assert n.payload["count"] == 3
    assert [r["engagement_id"] for r in n.payload["reminders"]] == [7, 12, 31]
    json.dumps(dict(n.payload))  # JSON-able as the outbox stores it


def test_english_digest() -> None:
    n = build_digest("leder@example.dk", REMINDERS[:1], "en", now=MORNING)
    assert n.subject == "Reminders 2026-03-02: 1 open"
    assert "- Engagement 7: The shared path, level 1, due 2026-03-02 09:00" in n.body.splitlines()


def test_digest_id_is_one_per_recipient_and_day() -> None:
    first = build_digest("leder@example.dk", REMINDERS, now=MORNING)
    later = build_digest("Leder@Example.dk", REMINDERS[:1], "en", now=MORNING + timedelta(hours=14))
    tomorrow = build_digest("leder@example.dk", REMINDERS, now=MORNING + timedelta(days=1))
    other = build_digest("hanne@example.dk", REMINDERS, now=MORNING)
    assert first.message_id == later.message_id  # 21:00 Danish time: the same day
    assert first.message_id != tomorrow.message_id
    assert first.message_id != other.message_id
    assert first.message_id == digest_message_id("leder@example.dk", MORNING.date())
    assert len(first.message_id) == 36  # fits the outbox's message_id column
    # 23:30 UTC on 2 March is already 3 March in Copenhagen.
    late = build_digest("leder@example.dk", REMINDERS, now=datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    assert late.message_id == tomorrow.message_id


def test_empty_digest_and_bad_input() -> None:
    empty = build_digest("leder@example.dk", [], now=MORNING)
    assert "Ingen åbne påmindelser" in empty.body
    with pytest.raises(InvalidData):
        build_digest("leder@example.dk", [{"stage": "action"}], now=MORNING)
    with pytest.raises(InvalidData):
        build_digest("leder@example.dk", REMINDERS, now=datetime(2026, 3, 2, 7, 0))


def test_a_digest_goes_through_smtp_intact(smtp_server: tuple[Controller, Collector]) -> None:
    controller, handler = smtp_server
    n = build_digest("leder@example.dk", REMINDERS, now=MORNING)
    mailer(controller).send(n)
    message = parse(handler.envelopes[0])
    assert message["Subject"] == n.subject
    assert message.get_content().replace("\r\n", "\n") == n.body
