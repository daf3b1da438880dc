"""Outbox delivery against real receivers: aiosmtpd for e-mail, ``http.server`` for
webhooks. Counted at the receiver by message id: each message arrives exactly
once, however many dispatchers (threads, processes) run, and whatever fails.
Time is a FakeClock; only the receivers are real.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import structlog
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from helpers import FakeClock, capture_logs, counts, start
from sqlalchemy import func, select
from test_notifiers import Collector, Refuser, free_port, parse, start_smtp

from forloeb import Actor, Engine, PermissionDenied
from forloeb.cli import cli
from forloeb.engine import DeliveryError, DispatchResult, InvalidData, Notification, Router, verify_signature
from forloeb.persistence._tables import outbox, outbox_attempts
from forloeb.workflows import VERSION_1

SENDER = "forloeb@example.dk"
SECRET = "hemmelig-nøgle"
REFERRAL_DUE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
LEVEL_2_DUE = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
SUBJECT = "sag-Ærø-7"


def smtp_config(port: int, *, timeout: float = 5, **routes: Any) -> dict[str, Any]:
    return {
        "notifiers": {"email": {"url": f"smtp://127.0.0.1:{port}?from={SENDER}&timeout={timeout:g}"}},
        # Only escalations to the supervisor by e-mail; everything to the log.
        "routes": [{"level": 2, "channel": "email"}, {"channel": "log"}],
        "address_book": {"leder": "leder@example.dk", "anna": "anna@example.dk"},
    }


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Collector]]:
    handler = Collector()
    controller = start_smtp(handler)
    yield controller, handler
    controller.stop()


@pytest.fixture
def eng(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    # Delivery of the reminders of version 1's deadlines (REFERRAL_DUE, LEVEL_2_DUE).
    with Engine.open(db_url, migrate=True, clock=clock, workflows=VERSION_1) as engine:
        yield engine


def begin(eng: Engine, worker: Actor) -> int:
    return start(eng, worker, subject=SUBJECT, assignee="anna", supervisor="leder").id


def outbox_rows(eng: Engine) -> list[dict[str, Any]]:
    with eng.store.sa_engine.connect() as conn:  # type: ignore[attr-defined]
        return [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def message_ids(handler: Collector) -> list[str]:
    return [str(parse(e)["X-Forloeb-Message-Id"]) for e in handler.envelopes]


# -- one escalation by e-mail ----------------------------------------------------------


def test_the_supervisor_gets_exactly_one_escalation_by_email(
    eng: Engine, clock: FakeClock, worker: Actor, smtp: tuple[Controller, Collector]
) -> None:
    controller, handler = smtp
    eng.router = Router.from_config(smtp_config(controller.port))
    engagement_id = begin(eng, worker)
    clock.set(LEVEL_2_DUE)
    raised = eng.sweep()
    assert [r.level for r in raised] == [1, 2]
    with capture_logs() as logged:
        result = eng.dispatch()
    # L4: nor in the log channel.
    assert logged and SUBJECT not in repr(logged)
    # Level 1: log; level 2: e-mail and log.
    assert (result.delivered, result.retried, result.dead) == (3, 0, 0)
    (envelope,) = handler.envelopes
    message = parse(envelope)
    assert envelope.rcpt_tos == ["leder@example.dk"]
    assert message["To"] == "leder@example.dk"
    assert message["Subject"] == f"Eskalering til leder: forløb {engagement_id}"
    body = message.get_content()
    assert f"Forløb {engagement_id} har stået i fasen »Henvendelse / henvisning«" in body
    # L4: no subject reference leaves forloeb in an e-mail (it outlives an erasure).
    assert SUBJECT not in message["Subject"] + body
    (row,) = [r for r in outbox_rows(eng) if r["channel"] == "email"]
    assert message["Message-ID"] == f"<{row['message_id']}@forloeb>"
    assert (row["status"], row["attempts"], row["delivered_at"]) == ("delivered", 1, LEVEL_2_DUE)
    # Again and again: nothing is sent twice.
    assert eng.sweep() == []
    assert eng.dispatch(LEVEL_2_DUE + timedelta(days=30)) == DispatchResult()
    assert len(handler.envelopes) == 1
    (attempt,) = eng.outbox_attempts(row["id"])
    assert (attempt["attempt"], attempt["outcome"], attempt["error"]) == (1, "delivered", None)


def test_smtp_down_then_back_delivers_once_with_every_attempt_recorded(
    eng: Engine, clock: FakeClock, worker: Actor
) -> None:
    port = free_port()
    eng.router = Router.from_config(smtp_config(port, timeout=2))
    begin(eng, worker)
    clock.set(LEVEL_2_DUE)
    eng.sweep()
    first = eng.dispatch()
    assert first.retried == 1 and first.delivered == 2  # the two log messages went
    (row,) = [r for r in outbox_rows(eng) if r["channel"] == "email"]
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "connection refused" in row["last_error"]
    # Backoff: 30 s ± 20 % after the first failure, then 60 s ± 20 %.
    assert timedelta(seconds=24) <= row["next_attempt_at"] - LEVEL_2_DUE <= timedelta(seconds=36)
    assert eng.dispatch(LEVEL_2_DUE + timedelta(seconds=20)) == DispatchResult()  # not yet due
    clock.advance(minutes=1)
    assert eng.dispatch().retried == 1
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(minutes=5)
        assert eng.dispatch().delivered == 1
        clock.advance(hours=1)
        assert eng.dispatch() == DispatchResult()
        assert message_ids(handler) == [row["message_id"]]
    finally:
        controller.stop()
    assert [(a["attempt"], a["outcome"]) for a in eng.outbox_attempts(row["id"])] == [
        (1, "failed"),
        (2, "failed"),
        (3, "delivered"),
    ]


def test_a_permanent_550_is_dead_and_listed_as_failed(
    eng: Engine, clock: FakeClock, worker: Actor, db_url: str
) -> None:
    handler = Refuser(reply="550 5.1.1 mailbox unavailable")
    controller = start_smtp(handler)
    try:
        eng.router = Router.from_config(smtp_config(controller.port))
        begin(eng, worker)
        clock.set(LEVEL_2_DUE)
        eng.sweep()
        result = eng.dispatch()
    finally:
        controller.stop()
    assert result.dead == 1 and result.delivered == 2
    (dead,) = eng.outbox(status="dead")
    assert dead.status == "dead" and dead.attempts == 1 and dead.next_attempt_at is None
    assert "550" in (dead.last_error or "")
    clock.advance(days=1)
    assert eng.dispatch() == DispatchResult()  # dead stays dead
    runner = CliRunner(env={"FORLOEB_DB": None, "FORLOEB_CONFIG": None})
    try:
        out = runner.invoke(cli, ["--db", db_url, "--lang", "en", "reminders", "list", "--failed"])
        assert out.exit_code == 0, out.output
        assert "leder@example.dk" in out.output and "550" in out.output
        out = runner.invoke(cli, ["--db", db_url, "reminders", "list", "--failed", "--json"])
    finally:
        # The CLI configures structlog for the process (level warning): undo it
        # so that later tests capturing log lines see them.
        structlog.reset_defaults()
    assert out.exit_code == 0, out.output
    (listed,) = json.loads(out.output)
    assert listed["id"] == dead.id and "550" in listed["last_error"]


def test_a_channel_without_notifier_is_left_for_a_configured_node(eng: Engine, worker: Actor) -> None:
    # A node started without the mail settings must not dead-letter e-mail.
    eng.router = Router.from_config({"notifiers": {"email": {"url": f"smtp://127.0.0.1:1?from={SENDER}"}}})
    begin(eng, worker)
    eng.sweep(REFERRAL_DUE)
    eng.router = Router([], {})
    assert eng.dispatch(REFERRAL_DUE) == DispatchResult()
    assert [r["status"] for r in outbox_rows(eng)] == ["pending"]


# -- webhooks --------------------------------------------------------------------------


class _Hook:
    """A webhook receiver answering the statuses in ``answers`` in turn (then 200)."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with hook.lock:
                    hook.requests.append((dict(self.headers.items()), body))
                    status = hook.answers.pop(0) if hook.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02})
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/forloeb"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def test_a_webhook_answering_500_then_200_is_retried_and_delivered_once(
    eng: Engine, clock: FakeClock, worker: Actor
) -> None:
    hook = _Hook([500])
    try:
        eng.router = Router.from_config(
            {
                "notifiers": {"webhook": {"url": hook.url, "secret": SECRET}},
                "routes": [{"channel": "webhook"}],
            }
        )
        begin(eng, worker)
        clock.set(REFERRAL_DUE)
        eng.sweep()
        assert eng.dispatch().retried == 1
        clock.advance(minutes=2)
        assert eng.dispatch().delivered == 1
        clock.advance(hours=2)
        assert eng.dispatch() == DispatchResult()
    finally:
        hook.close()
    (row,) = outbox_rows(eng)
    assert len(hook.requests) == 2
    for headers, body in hook.requests:
        assert headers["Idempotency-Key"] == row["message_id"]
        assert verify_signature(body, headers["X-Forloeb-Signature"], SECRET)
    assert json.loads(hook.requests[1][1])["message_id"] == row["message_id"]
    assert [a["outcome"] for a in eng.outbox_attempts(row["id"])] == ["failed", "delivered"]


# -- several dispatchers -----------------------------------------------------------------


def _fill_outbox(eng: Engine, n: int, now: datetime) -> set[str]:
    ids = set()
    with eng.store.write() as tx:
        for i in range(n):
            message_id = str(uuid.uuid4())
            ids.add(message_id)
            tx.insert_outbox(
                {
                    "message_id": message_id,
                    "reminder_id": None,
                    "channel": "email",
                    "recipient": f"leder{i % 7}@example.dk",
                    "subject": f"Påmindelse {i}",
                    "body": "Husk opfølgning – æøå",
                    "payload": {"i": i},
                    "created_at": now,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": None,
                    "delivered_at": None,
                }
            )
    return ids


def test_two_dispatcher_threads_deliver_each_message_exactly_once(
    eng: Engine, smtp: tuple[Controller, Collector]
) -> None:
    controller, handler = smtp
    eng.router = Router.from_config(smtp_config(controller.port))
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    expected = _fill_outbox(eng, 200, now)
    results: list[DispatchResult] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(eng.dispatch(now, batch=10))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    received = Counter(message_ids(handler))
    assert set(received) == expected
    assert max(received.values()) == 1
    assert sum(r.delivered for r in results) == 200
    assert all(r.delivered > 0 for r in results)  # both took part
    assert {r["status"] for r in outbox_rows(eng)} == {"delivered"}


def _dispatch_in_process(db_url: str, port: int, now: datetime, barrier: Any, results: Any) -> None:
    engine = Engine.open(db_url, router=Router.from_config(smtp_config(port)))
    try:
        barrier.wait()
        results.put(engine.dispatch(now, batch=10).delivered)
    finally:
        engine.close()


def test_two_dispatcher_processes_deliver_each_message_exactly_once(
    eng: Engine, db_url: str, smtp: tuple[Controller, Collector]
) -> None:
    controller, handler = smtp
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    expected = _fill_outbox(eng, 200, now)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_dispatch_in_process, args=(db_url, controller.port, now, barrier, results))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    delivered = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    received = Counter(message_ids(handler))
    assert set(received) == expected
    assert max(received.values()) == 1
    assert sum(delivered) == 200


# -- a dispatcher that dies mid-delivery --------------------------------------------------------


class _Crash(BaseException):
    """The process dying between claim and record (not an Exception: nothing catches it)."""


class _CrashOnce:
    def __init__(self, real: Any) -> None:
        self.real = real
        self.crashed = False

    def send(self, notification: Notification) -> None:
        if not self.crashed:
            self.crashed = True
            raise _Crash
        self.real.send(notification)


def test_a_claim_whose_dispatcher_died_is_delivered_after_the_lease_once(
    eng: Engine, clock: FakeClock, worker: Actor, smtp: tuple[Controller, Collector]
) -> None:
    controller, handler = smtp
    real = Router.from_config(smtp_config(controller.port)).notifiers["email"]
    eng.router = Router.from_config(
        {"routes": [{"channel": "email", "level": 1}], "address_book": {"anna": "anna@example.dk"}},
        notifiers={"email": _CrashOnce(real)},
    )
    begin(eng, worker)
    clock.set(REFERRAL_DUE)
    eng.sweep()
    with pytest.raises(_Crash):
        eng.dispatch()
    (row,) = outbox_rows(eng)
    # Claimed: leased for 60 s, nothing recorded.
    assert (row["status"], row["attempts"]) == ("pending", 0)
    assert row["next_attempt_at"] == REFERRAL_DUE + timedelta(seconds=60)
    clock.advance(seconds=30)
    assert eng.dispatch() == DispatchResult()  # the lease still holds
    clock.advance(seconds=31)
    assert eng.dispatch().delivered == 1
    clock.advance(hours=1)
    assert eng.dispatch() == DispatchResult()
    assert message_ids(handler) == [row["message_id"]]
    assert [a["outcome"] for a in eng.outbox_attempts(row["id"])] == ["delivered"]


# -- digests -------------------------------------------------------------------------------


def test_the_daily_digest_is_queued_once_per_supervisor_and_day(
    eng: Engine, clock: FakeClock, worker: Actor, smtp: tuple[Controller, Collector]
) -> None:
    controller, handler = smtp
    config = smtp_config(controller.port)
    config["routes"] = []  # no routes: the reminder channel (email) to the staff id's address
    eng.router = Router.from_config(config)
    first = begin(eng, worker)
    second = start(eng, worker, subject="sag-2", assignee="anna", supervisor="leder").id
    start(eng, worker, subject="sag-3", assignee="anna")  # no supervisor: no digest
    clock.set(REFERRAL_DUE)
    eng.sweep()
    before = counts(eng)["outbox"]
    (message_id,) = eng.send_digests()
    assert eng.send_digests(REFERRAL_DUE + timedelta(hours=3)) == []  # same day: nothing
    assert counts(eng)["outbox"] == before + 1
    eng.dispatch()
    digests = [parse(e) for e in handler.envelopes if parse(e)["X-Forloeb-Message-Id"] == message_id]
    (digest,) = digests
    assert digest["To"] == "leder@example.dk"
    assert digest["Subject"] == "Påmindelser 09.03.2026: 2 åbne"
    body = digest.get_content()
    assert f"Forløb {first}: Henvendelse / henvisning, niveau 1" in body
    assert f"Forløb {second}:" in body
    assert len(eng.send_digests(REFERRAL_DUE + timedelta(days=1))) == 1  # the next day: a new one


def test_dispatch_refuses_bad_arguments(eng: Engine) -> None:
    before = counts(eng)
    with pytest.raises(InvalidData):
        eng.dispatch(datetime(2026, 3, 2, 9, 0))  # naive
    with pytest.raises(InvalidData):
        eng.dispatch(batch=0)
    with pytest.raises(InvalidData):
        eng.send_digests(datetime(2026, 3, 2, 9, 0))
    assert counts(eng) == before


def test_dispatch_takes_little_time_per_message(eng: Engine, smtp: tuple[Controller, Collector]) -> None:
    controller, _ = smtp
    eng.router = Router.from_config(smtp_config(controller.port))
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    _fill_outbox(eng, 100, now)
    started = time.perf_counter()
    assert eng.dispatch(now).delivered == 100
    elapsed = time.perf_counter() - started
    print(f"dispatch: 100 e-mails to a local aiosmtpd in {elapsed * 1000:.0f} ms")
    assert elapsed < 20


# -- the CLI's view of one message's attempts --------------------------------------------------


class _FailOnce:
    """Refuses the first delivery (a temporary error), accepts the rest."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        if not self.sent:
            self.sent.append(notification)
            raise DeliveryError("email", notification.recipient, "421 try again later", permanent=False)
        self.sent.append(notification)


def test_cli_reminders_attempts_lists_each_attempt(
    eng: Engine, clock: FakeClock, worker: Actor, db_url: str
) -> None:
    eng.router = Router.from_config(
        {"routes": [{"channel": "email", "level": 1}], "address_book": {"anna": "anna@example.dk"}},
        notifiers={"email": _FailOnce()},
    )
    begin(eng, worker)
    clock.set(REFERRAL_DUE)
    eng.sweep()
    assert eng.dispatch().retried == 1
    clock.advance(minutes=2)
    assert eng.dispatch().delivered == 1
    (row,) = outbox_rows(eng)
    runner = CliRunner(env={"FORLOEB_DB": None, "FORLOEB_CONFIG": None, "FORLOEB_LANG": None})
    try:
        human = runner.invoke(cli, ["--db", db_url, "reminders", "attempts", str(row["id"])])
        english = runner.invoke(
            cli, ["--db", db_url, "--lang", "en", "reminders", "attempts", str(row["id"])]
        )
        as_json = runner.invoke(cli, ["--db", db_url, "reminders", "attempts", str(row["id"]), "--json"])
        unknown = runner.invoke(cli, ["--db", db_url, "reminders", "attempts", "999999"])
        unknown_json = runner.invoke(cli, ["--db", db_url, "--json", "reminders", "attempts", "999999"])
    finally:
        structlog.reset_defaults()
    assert human.exit_code == 0, human.output
    lines = human.stdout.splitlines()
    assert lines[0].split() == ["Forsøg", "Tidspunkt", "Udfald", "Fejl"]
    assert len(lines) == 3
    assert lines[1].split()[0] == "1" and "fejlede" in lines[1] and "421 try again later" in lines[1]
    assert lines[2].split()[0] == "2" and "leveret" in lines[2]
    assert "delivered" in english.stdout and "failed" in english.stdout
    assert as_json.exit_code == 0, as_json.output
    attempts = json.loads(as_json.stdout)
    assert [(a["attempt"], a["outcome"]) for a in attempts] == [(1, "failed"), (2, "delivered")]
    assert attempts[0]["error"] and datetime.fromisoformat(attempts[1]["at"]) == REFERRAL_DUE + timedelta(
        minutes=2
    )
    assert unknown.exit_code == 1 and unknown.stdout == ""
    (line,) = [line for line in unknown.stderr.splitlines() if line.strip()]
    assert line == "Fejl: Besked 999999 findes ikke i udbakken."
    assert unknown_json.exit_code == 1
    assert json.loads(unknown_json.stderr)["error"] == "outbox_not_found"


def test_cli_reminders_attempts_of_a_message_not_tried_yet(eng: Engine, db_url: str) -> None:
    (pending,) = _fill_outbox(eng, 1, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    (row,) = [r for r in outbox_rows(eng) if r["message_id"] == pending]
    runner = CliRunner(env={"FORLOEB_DB": None, "FORLOEB_LANG": None})
    try:
        out = runner.invoke(cli, ["--db", db_url, "reminders", "attempts", str(row["id"])])
        as_json = runner.invoke(cli, ["--db", db_url, "--json", "reminders", "attempts", str(row["id"])])
    finally:
        structlog.reset_defaults()
    assert out.exit_code == 0, out.output
    assert out.stdout.strip() == f"Besked {row['id']} er ikke forsøgt leveret endnu."
    assert json.loads(as_json.stdout) == []


# -- purging finished messages ------------------------------------------------------------

PURGE_NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def _message(
    eng: Engine, status: str, created_at: datetime, attempts: int = 2, channel: str = "email"
) -> int:
    """An outbox message of ``status`` created at ``created_at``, with ``attempts`` attempt rows."""
    message_id = str(uuid.uuid4())
    with eng.store.write() as tx:
        tx.insert_outbox(
            {
                "message_id": message_id,
                "reminder_id": None,
                "channel": channel,
                "recipient": "leder@example.dk",
                "subject": "Påmindelse",
                "body": "Husk opfølgning – æøå",
                "payload": {},
                "created_at": created_at,
                "status": status,
                "attempts": attempts,
                "next_attempt_at": created_at if status == "pending" else None,
                "last_error": None,
                "delivered_at": created_at if status == "delivered" else None,
            }
        )
    (outbox_id,) = [r["id"] for r in outbox_rows(eng) if r["message_id"] == message_id]
    with eng.store.write() as tx:
        for n in range(1, attempts + 1):
            outcome = "failed" if n < attempts or status == "pending" else status
            tx.insert_outbox_attempt(
                {"outbox_id": outbox_id, "attempt": n, "at": created_at, "outcome": outcome, "error": None}
            )
    return int(outbox_id)


def by_status(eng: Engine) -> dict[str, tuple[int, int]]:
    """(messages, their attempt rows) per status."""
    stmt = (
        select(outbox.c.status, func.count(func.distinct(outbox.c.id)), func.count(outbox_attempts.c.id))
        .select_from(outbox.outerjoin(outbox_attempts, outbox_attempts.c.outbox_id == outbox.c.id))
        .group_by(outbox.c.status)
    )
    with eng.store.sa_engine.connect() as conn:  # type: ignore[attr-defined]
        return {str(s): (int(m), int(a)) for s, m, a in conn.execute(stmt)}


def _seed_for_purge(eng: Engine, now: datetime) -> dict[str, list[int]]:
    """Per status: messages older than 90 days (to go, unless pending), exactly 90
    days old and newer (to stay)."""
    ages = {"old": timedelta(days=91), "limit": timedelta(days=90), "new": timedelta(days=89)}
    seeded: dict[str, list[int]] = {}
    for status in ("delivered", "dead", "pending"):
        for label, age in ages.items():
            copies = 3 if label == "old" else 1
            for _ in range(copies):
                seeded.setdefault(f"{status}_{label}", []).append(_message(eng, status, now - age))
    return seeded


def test_purge_outbox_deletes_old_finished_messages_with_their_attempts(
    eng: Engine, clock: FakeClock, supervisor: Actor
) -> None:
    # A message that really went through sweep and dispatch, months ago: delivered.
    begin(eng, Actor("anna", ["worker"]))
    clock.set(REFERRAL_DUE)
    eng.sweep()
    assert eng.dispatch().delivered == 1
    clock.set(PURGE_NOW)
    seeded = _seed_for_purge(eng, PURGE_NOW)
    assert by_status(eng) == {"delivered": (6, 11), "dead": (5, 10), "pending": (5, 10)}
    before = counts(eng)

    assert eng.purge_outbox(actor=supervisor) == 7  # 3 delivered + 3 dead + the real one
    assert by_status(eng) == {"delivered": (2, 4), "dead": (2, 4), "pending": (5, 10)}
    after = counts(eng)
    assert before["outbox"] - after["outbox"] == 7
    assert before["outbox_attempts"] - after["outbox_attempts"] == 13
    # Nothing else is touched (the engagement, its events and reminders stay).
    assert {k: v for k, v in after.items() if not k.startswith("outbox")} == {
        k: v for k, v in before.items() if not k.startswith("outbox")
    }
    left = {r["id"] for r in outbox_rows(eng)}
    for key, ids in seeded.items():
        gone = key in ("delivered_old", "dead_old")
        assert all((i in left) is not gone for i in ids), key
        for i in ids:
            assert (eng.outbox_attempts(i) == []) is gone, key
    # Again: nothing left to purge. A day later the 90-day-old ones are due, pending never.
    assert eng.purge_outbox(actor=supervisor) == 0
    assert eng.purge_outbox(now=PURGE_NOW + timedelta(days=1), actor=supervisor) == 2
    assert eng.purge_outbox(older_than_days=1, now=PURGE_NOW + timedelta(days=1), actor=supervisor) == 2
    assert by_status(eng) == {"pending": (5, 10)}


def test_purge_outbox_runs_in_batches(eng: Engine, clock: FakeClock, supervisor: Actor) -> None:
    from forloeb.engine._dispatch import purge_outbox

    for i in range(11):
        _message(eng, ("delivered", "dead")[i % 2], PURGE_NOW - timedelta(days=100 + i), attempts=1)
    _message(eng, "pending", PURGE_NOW - timedelta(days=300))
    assert purge_outbox(eng._kernel, now=PURGE_NOW, actor=supervisor, batch=3) == 11
    assert by_status(eng) == {"pending": (1, 2)}


def test_purge_outbox_dry_run_writes_nothing(eng: Engine, supervisor: Actor) -> None:
    _seed_for_purge(eng, PURGE_NOW)
    before, statuses = counts(eng), by_status(eng)
    assert eng.purge_outbox(now=PURGE_NOW, actor=supervisor, dry_run=True) == 6
    assert eng.purge_outbox(older_than_days=1, now=PURGE_NOW, actor=supervisor, dry_run=True) == 10
    assert counts(eng) == before and by_status(eng) == statuses
    assert eng.purge_outbox(now=PURGE_NOW, actor=supervisor) == 6  # what the dry run said


@pytest.mark.parametrize("who", ["worker", "auditor"])
def test_purge_outbox_is_for_supervisors_and_a_refusal_writes_nothing(
    eng: Engine, who: str, request: pytest.FixtureRequest
) -> None:
    _seed_for_purge(eng, PURGE_NOW)
    before = counts(eng)
    for dry_run in (False, True):
        with pytest.raises(PermissionDenied):
            eng.purge_outbox(now=PURGE_NOW, actor=request.getfixturevalue(who), dry_run=dry_run)
    assert counts(eng) == before


@pytest.mark.parametrize("days", [0, -1, True, 2.5, "90", None, 10**9])
def test_purge_outbox_refuses_a_bad_age_and_writes_nothing(eng: Engine, supervisor: Actor, days: Any) -> None:
    _seed_for_purge(eng, PURGE_NOW)
    before = counts(eng)
    with pytest.raises(InvalidData):
        eng.purge_outbox(older_than_days=days, now=PURGE_NOW, actor=supervisor)
    assert counts(eng) == before


def test_purge_outbox_refuses_a_naive_now(eng: Engine, supervisor: Actor) -> None:
    _seed_for_purge(eng, PURGE_NOW)
    before = counts(eng)
    with pytest.raises(InvalidData):
        eng.purge_outbox(now=datetime(2026, 9, 1, 9, 0), actor=supervisor)
    assert counts(eng) == before


def test_the_purge_reads_the_partial_index(eng: Engine) -> None:
    """Each batch is a range scan on ix_outbox_finished_created_at: its cost follows
    the messages purged, not the size of the outbox."""
    from forloeb.persistence._outbox import OutboxSql

    sa_engine = eng.store.sa_engine  # type: ignore[attr-defined]
    dialect = sa_engine.dialect.name
    sql = OutboxSql(dialect).finished_before
    with sa_engine.connect() as conn:
        if dialect == "sqlite":
            params: dict[str, Any] = {"before": "2026-01-01 00:00:00.000000", "limit": 500}
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
        else:
            # An empty table: without this the planner rightly prefers a scan.
            conn.exec_driver_sql("SET enable_seqscan = off")
            params = {"before": PURGE_NOW, "limit": 500}
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + sql, params))
    assert "ix_outbox_finished_created_at" in plan, plan


def test_cli_retention_purge_outbox(eng: Engine, db_url: str) -> None:
    now = datetime.now(UTC)
    for status in ("delivered", "dead", "pending"):
        _message(eng, status, now - timedelta(days=200))
        _message(eng, status, now - timedelta(days=10))
    before = counts(eng)
    boss = ["--db", db_url, "--as", "leder", "--role", "supervisor"]
    runner = CliRunner(
        env={"FORLOEB_DB": None, "FORLOEB_ACTOR": None, "FORLOEB_ROLE": None, "FORLOEB_LANG": None}
    )

    def run(*args: str, input: str | None = None) -> Any:
        return runner.invoke(cli, [*args], input=input)

    try:
        dry = run(*boss, "--json", "retention", "purge-outbox", "--dry-run")
        no_yes = run(*boss, "--json", "retention", "purge-outbox")
        declined = run(*boss, "retention", "purge-outbox", input="n\n")
        denied = run("--db", db_url, "--as", "anna", "retention", "purge-outbox", "--yes")
        bad = run(*boss, "retention", "purge-outbox", "--older-than-days", "0", "--yes")
        after_refusals = counts(eng)
        fewer_days = run(
            *boss, "--lang", "en", "retention", "purge-outbox", "--older-than-days", "5", "--dry-run"
        )
        done = run(*boss, "retention", "purge-outbox", "--yes")
        again = run(*boss, "--json", "retention", "purge-outbox", "--yes")
        nothing = run(*boss, "--lang", "en", "retention", "purge-outbox")
    finally:
        structlog.reset_defaults()
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout) == {"messages": 2, "older_than_days": 90, "dry_run": True}
    assert no_yes.exit_code == 2
    assert declined.exit_code == 1
    assert "2 leverede eller opgivne beskeder ældre end 90 dage ville blive slettet" in declined.stdout
    assert denied.exit_code == 1 and "Fejl:" in denied.output
    assert bad.exit_code == 2
    assert after_refusals == before
    assert fewer_days.exit_code == 0, fewer_days.output
    assert fewer_days.stdout.startswith("4 delivered or dead messages older than 5 days would be deleted")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("2 leverede eller opgivne beskeder ældre end 90 dage slettet")
    assert json.loads(again.stdout) == {"messages": 0, "older_than_days": 90, "dry_run": False}
    assert nothing.exit_code == 0 and nothing.stdout.strip() == (
        "No delivered or dead messages older than 90 days in the outbox."
    )
    after = counts(eng)
    assert (before["outbox"] - after["outbox"], before["outbox_attempts"] - after["outbox_attempts"]) == (
        2,
        4,
    )
    assert by_status(eng) == {"delivered": (1, 2), "dead": (1, 2), "pending": (2, 4)}
