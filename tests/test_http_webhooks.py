"""Webhook deliveries follow the Standard Webhooks specification: a real local
HTTP receiver gets them and verifies them with the ``standardwebhooks``
package (what a receiver in any language would use); the deprecated
X-Forloeb-Signature is still sent for one release."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from forloeb.engine import Notification, WebhookNotifier, verify_signature
from forloeb.engine.notifiers import sign_standard, standard_key


class Receiver:
    """A real HTTP server on a loopback port that keeps what it was sent."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                outer.received.append(
                    (self.rfile.read(length), {k.lower(): v for k, v in self.headers.items()})
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def _note(message_id: str = "msg-7f3a") -> Notification:
    return Notification(
        message_id=message_id,
        channel="webhook",
        recipient="leder",
        subject="Påmindelse: forløb 7",
        body="Forløb 7 har ventet for længe i »Den fælles vej«.",
        payload={"engagement_id": 7, "level": 1},
        created_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    )


def test_a_plain_secret_verifies_with_the_standard_library(receiver: Receiver) -> None:
    secret = "hemmelig-nøgle-til-kommunen"
    WebhookNotifier(receiver.url, secret=secret).send(_note())
    ((body, headers),) = receiver.received
    # The library takes a non-whsec secret as its raw bytes.
    payload = Webhook(secret.encode()).verify(body, headers)
    assert payload["payload"] == {"engagement_id": 7, "level": 1}
    assert headers["webhook-id"] == "msg-7f3a" == headers["idempotency-key"]
    assert headers["webhook-signature"].startswith("v1,")
    # The deprecated header, still sent for one release, still verifies.
    assert verify_signature(body, headers["x-forloeb-signature"], secret)
    assert headers["x-forloeb-timestamp"] == headers["webhook-timestamp"]


def test_a_whsec_secret_verifies_with_the_standard_library(receiver: Receiver) -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    WebhookNotifier(receiver.url, secret=secret).send(_note("msg-2"))
    ((body, headers),) = receiver.received
    assert Webhook(secret).verify(body, headers)["message_id"] == "msg-2"
    assert standard_key(secret) == base64.b64decode(secret[6:])


def test_tampering_and_replay_are_detected(receiver: Receiver) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    WebhookNotifier(receiver.url, secret=secret).send(_note())
    ((body, headers),) = receiver.received
    hook = Webhook(secret)
    with pytest.raises(WebhookVerificationError):
        hook.verify(body.replace(b"7", b"8"), headers)  # another body
    # An old timestamp: refused as too old, and re-signing it needs the secret.
    old = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 3600)}
    with pytest.raises(WebhookVerificationError):
        hook.verify(body, old)
    resigned = {
        **old,
        "webhook-signature": sign_standard(old["webhook-id"], int(old["webhook-timestamp"]), body, secret),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        hook.verify(body, resigned)
    with pytest.raises(WebhookVerificationError):
        Webhook(base64.b64encode(b"wrong key").decode()).verify(body, headers)


def test_signature_is_over_id_timestamp_and_body() -> None:
    expected = Webhook(b"abc").sign(
        msg_id="m1", timestamp=datetime.fromtimestamp(1700000000, UTC), data='{"a":1}'
    )
    assert sign_standard("m1", 1700000000, b'{"a":1}', "abc") == expected
