"""``engine.logins`` (issue 15): the web console's passwords and sessions, on both
backends, with the tests' clock (``clocked_engine``) moved instead of waiting.

The passwords are hashed for real (argon2id, the library's default cost): each
hash or verify costs a fraction of a second, so the tests log in sparingly.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from helpers import FakeClock, capture_logs, counts

import forloeb
from forloeb import Actor, Engine, InvalidData, LoginFailed, PermissionDenied, WebSession
from forloeb.engine._logins import (
    LOCKOUT_FAILURES,
    LOCKOUT_MINUTES,
    SESSION_IDLE_MINUTES,
    SESSION_MAX_HOURS,
)

ADMIN = Actor("tester")
ANNA = Actor("anna", ["worker"])
PASSWORD = "korrekt hest batteri hæfteklamme"
OTHER = "en helt anden adgangskode"


def _password_row(engine: Engine, staff_id: str) -> Any:
    with engine.store.read() as tx:
        return tx.get_staff_password(staff_id)


def _session_row(engine: Engine, session_id: str) -> Any:
    with engine.store.read() as tx:
        return tx.get_web_session(session_id)


def _access(engine: Engine, action: str | None = None) -> list[Any]:
    entries = engine.audit.access(Actor("revisor"))
    return [e for e in entries if action is None or e.action == action]


def _refusals(engine: Engine, actor: str) -> list[str]:
    return [
        e.criteria["reason"]
        for e in _access(engine, "refused")
        if e.actor == actor and e.criteria and e.criteria.get("attempted") == "log in"
    ]


def _dump(engine: Engine) -> str:
    """Every row of every table, as text (to look for what must not be stored)."""
    from sqlalchemy import select

    from forloeb.persistence._tables import ALL_TABLES

    with engine.store.sa_engine.connect() as conn:  # type: ignore[attr-defined]
        return repr([list(conn.execute(select(t))) for t in ALL_TABLES])


def _failure(engine: Engine, name: str, password: str) -> LoginFailed:
    with pytest.raises(LoginFailed) as info:
        engine.logins.login(name, password)
    return info.value


# -- passwords -------------------------------------------------------------------------


def test_the_hash_is_argon2id_and_never_the_password(clocked_engine: Engine) -> None:
    assert not clocked_engine.logins.has_password("anna")
    clocked_engine.logins.set_password(ADMIN, "anna", PASSWORD)
    row = _password_row(clocked_engine, "anna")
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    assert (row["changed_by"], row["failed_count"], row["locked_until"]) == ("tester", 0, None)
    assert clocked_engine.logins.has_password("anna")
    assert PASSWORD not in _dump(clocked_engine)


def test_anyone_sets_their_own_password_an_admin_anyones(clocked_engine: Engine) -> None:
    clocked_engine.logins.set_password(ANNA, "anna", PASSWORD)
    assert _password_row(clocked_engine, "anna")["changed_by"] == "anna"
    before = counts(clocked_engine)
    entries = len(_access(clocked_engine, "password_set"))
    with pytest.raises(PermissionDenied) as info:
        clocked_engine.logins.set_password(ANNA, "bo", OTHER)
    assert "adgangskode" in info.value.message("da")
    assert counts(clocked_engine) == before
    assert len(_access(clocked_engine, "password_set")) == entries
    refusal = _access(clocked_engine, "refused")[-1]
    assert (refusal.actor, refusal.criteria["reason"]) == ("anna", "role")
    # An admin acting as anna (impersonation) sets anna's; the admin is recorded.
    from forloeb.engine import Impersonation

    clocked_engine.logins.set_password(Impersonation("anna", "tester"), "anna", OTHER)
    assert _password_row(clocked_engine, "anna")["changed_by"] == "tester"


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("kort", "12 til 1024"),
        ("x" * 1025, "12 til 1024"),
        ("annaannaanna", None),  # fine: the id is only 4 characters
        (12345678901234, "tekst"),
        ("a\udcff" * 7, "tekst"),
    ],
)
def test_the_password_policy_writes_nothing(clocked_engine: Engine, password: Any, words: str | None) -> None:
    before = counts(clocked_engine), len(_access(clocked_engine))
    if words is None:
        clocked_engine.logins.set_password(ADMIN, "anna", password)
        return
    with pytest.raises(InvalidData) as info:
        clocked_engine.logins.set_password(ADMIN, "anna", password)
    assert words in info.value.message("da")
    assert isinstance(password, int) or password not in info.value.message("da")
    assert (counts(clocked_engine), len(_access(clocked_engine))) == before


def test_the_password_is_not_the_id_or_the_login(clocked_engine: Engine) -> None:
    clocked_engine.staff.add(ADMIN, "bente.kristensen", login="bente.k.lokal", roles=["worker"])
    before = counts(clocked_engine)
    for password in ("bente.kristensen", "BENTE.K.LOKAL", " bente.kristensen "):
        with pytest.raises(InvalidData) as info:
            clocked_engine.logins.set_password(ADMIN, "bente.kristensen", password)
        assert "id eller login-navn" in info.value.message("da")
        assert "staff id or the login name" in info.value.message("en")
    assert counts(clocked_engine) == before
    with pytest.raises(InvalidData):
        clocked_engine.logins.set_password(ADMIN, "nobody", PASSWORD)
    clocked_engine.staff.deactivate(ADMIN, "carl")
    with pytest.raises(InvalidData):
        clocked_engine.logins.set_password(ADMIN, "carl", PASSWORD)
    assert counts(clocked_engine)["staff_passwords"] == 0


# -- logging in -----------------------------------------------------------------------


def test_a_login_opens_a_session(clocked_engine: Engine, clock: FakeClock) -> None:
    clocked_engine.staff.update(ADMIN, "anna", login="anna.a")
    clocked_engine.logins.set_password(ADMIN, "anna", PASSWORD)
    session = clocked_engine.logins.login("anna.a", PASSWORD, client="10.0.0.7 Firefox", lang="da")
    assert isinstance(session, WebSession)
    assert session.token is not None and len(session.token) >= 43
    assert (session.staff_id, session.display_name, session.lang) == ("anna", "Anna Andersen", "da")
    assert session.created_at == session.last_seen_at == clock.now
    assert session.expires_at == clock.now + timedelta(minutes=SESSION_IDLE_MINUTES)
    # Only the digest is stored, never the secret.
    row = _session_row(clocked_engine, session.id)
    assert row["id"] != session.token and session.token not in _dump(clocked_engine)
    assert row["client"] == "10.0.0.7 Firefox"
    assert session.token not in repr(session) and session.csrf not in repr(session)
    # By the staff id too; each session has its own secret and CSRF token.
    other = clocked_engine.logins.login("anna", PASSWORD)
    assert other.token != session.token and other.csrf != session.csrf and other.id != session.id
    (login, _) = _access(clocked_engine, "login")
    assert (login.actor, login.criteria) == ("anna", {"client": "10.0.0.7 Firefox"})
    assert counts(clocked_engine)["web_sessions"] == 2


def test_wrong_password_unknown_user_and_no_password_say_the_same(clocked_engine: Engine) -> None:
    clocked_engine.logins.set_password(ADMIN, "anna", PASSWORD)
    wrong = _failure(clocked_engine, "anna", OTHER)
    unknown = _failure(clocked_engine, "ingen.saadan", OTHER)
    no_password = _failure(clocked_engine, "bo", OTHER)
    for lang in ("da", "en"):
        assert wrong.message(lang) == unknown.message(lang) == no_password.message(lang)
    assert wrong.reason == unknown.reason == no_password.reason == "wrong"
    assert wrong.message("da") == "Forkert brugernavn eller adgangskode."
    assert wrong.code == "login_failed" and str(wrong) == "Wrong user name or password."
    # The known entries' failures are refusals in the access log; the unknown name is not kept.
    assert _refusals(clocked_engine, "anna") == ["wrong"]
    assert _refusals(clocked_engine, "bo") == ["no_password"]
    assert "ingen.saadan" not in repr(_access(clocked_engine))
    assert _password_row(clocked_engine, "anna")["failed_count"] == 1
    assert counts(clocked_engine)["web_sessions"] == 0


def test_five_failures_lock_the_entry_for_fifteen_minutes(clocked_engine: Engine, clock: FakeClock) -> None:
    clocked_engine.logins.set_password(ADMIN, "anna", PASSWORD)
    for attempt in range(1, LOCKOUT_FAILURES):
        assert _failure(clocked_engine, "anna", OTHER).reason == "wrong"
        assert _password_row(clocked_engine, "anna")["failed_count"] == attempt
    locked = _failure(clocked_engine, "anna", OTHER)
    until = clock.now + timedelta(minutes=LOCKOUT_MINUTES)
    assert (locked.reason, locked.until) == ("locked", until)
    assert "10:15" in locked.message("da") and "Prøv igen" in locked.message("da")  # 09:00 UTC + 15 min
    assert "10:15" in locked.message("en") and "Try again" in locked.message("en")
    assert _password_row(clocked_engine, "anna")["locked_until"] == until
    # The right password is refused while locked, and that is not counted.
    clock.advance(minutes=LOCKOUT_MINUTES - 1)
    assert _failure(clocked_engine, "anna", PASSWORD).reason == "locked"
    assert counts(clocked_engine)["web_sessions"] == 0
    clock.advance(minutes=1)
    session = clocked_engine.logins.login("anna", PASSWORD)
    assert session.staff_id == "anna"
    row = _password_row(clocked_engine, "anna")
    assert (row["failed_count"], row["locked_until"]) == (0, None)
    assert _refusals(clocked_engine, "anna") == ["wrong"] * (LOCKOUT_FAILURES - 1) + ["locked", "locked"]


def test_a_success_resets_the_count_and_a_new_password_lifts_a_lockout(
    clocked_engine: Engine, clock: FakeClock
) -> None:
    clocked_engine.logins.set_password(ADMIN, "anna", PASSWORD)
    for _ in range(LOCKOUT_FAILURES - 1):
        _failure(clocked_engine, "anna", OTHER)
    clocked_engine.logins.login("anna", PASSWORD)
    assert _password_row(clocked_engine, "anna")["failed_count"] == 0
    for _ in range(LOCKOUT_FAILURES):
        _failure(clocked_engine, "anna", OTHER)
    assert _failure(clocked_engine, "anna", PASSWORD).reason == "locked"
    clocked_engine.logins.set_password(ADMIN, "anna", OTHER)
    row = _password_row(clocked_engine, "anna")
    assert (row["failed_count"], row["locked_until"]) == (0, None)
    assert row["last_failure_at"] == clock.now
    assert clocked_engine.logins.login("anna", OTHER).staff_id == "anna"


def test_a_weaker_hash_is_replaced_at_login(clocked_engine: Engine) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with clocked_engine.store.write() as tx:
        tx.put_staff_password({"staff_id": "anna", "password_hash": weak})
    clocked_engine.logins.login("anna", PASSWORD)
    stored = _password_row(clocked_engine, "anna")["password_hash"]
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)
    assert clocked_engine.logins.login("anna", PASSWORD).staff_id == "anna"


@pytest.mark.parametrize(
    ("name", "password"),
    [("", PASSWORD), ("  ", PASSWORD), ("anna", ""), (None, PASSWORD), ("anna", 42), ("a\x00", PASSWORD)],
)
def test_malformed_logins(clocked_engine: Engine, name: Any, password: Any) -> None:
    before = counts(clocked_engine), len(_access(clocked_engine))
    assert _failure(clocked_engine, name, password).reason == "malformed"
    assert (counts(clocked_engine), len(_access(clocked_engine))) == before


def test_a_login_with_another_language_is_refused(clocked_engine: Engine) -> None:
    with pytest.raises(InvalidData):
        clocked_engine.logins.login("anna", PASSWORD, lang="de")


def test_a_deactivated_entry_cannot_log_in_and_its_sessions_end(clocked_engine: Engine) -> None:
    clocked_engine.logins.set_password(ADMIN, "anna", PASSWORD)
    session = clocked_engine.logins.login("anna", PASSWORD)
    assert session.token is not None
    clocked_engine.staff.deactivate(ADMIN, "anna")
    assert _failed_lookup(clocked_engine, session.token) == "expired"
    assert _session_row(clocked_engine, session.id) is None  # gone for good
    clocked_engine.staff.update(ADMIN, "anna", active=True)
    assert _failed_lookup(clocked_engine, session.token) == "expired"
    clocked_engine.staff.deactivate(ADMIN, "anna")
    # The right password says "inactive"; a wrong one says only "wrong".
    assert _failure(clocked_engine, "anna", PASSWORD).reason == "inactive"
    assert _failure(clocked_engine, "anna", OTHER).reason == "wrong"
    assert counts(clocked_engine)["web_sessions"] == 0


# -- sessions ---------------------------------------------------------------------------


def _failed_lookup(engine: Engine, token: str) -> str:
    with pytest.raises(LoginFailed) as info:
        engine.logins.session(token)
    return info.value.reason


@pytest.fixture
def logged_in(clocked_engine: Engine) -> tuple[Engine, WebSession, str]:
    clocked_engine.logins.set_password(ADMIN, "anna", PASSWORD)
    session = clocked_engine.logins.login("anna", PASSWORD, lang="en")
    assert session.token is not None
    return clocked_engine, session, session.token


def test_a_session_is_looked_up_and_kept_alive(
    logged_in: tuple[Engine, WebSession, str], clock: FakeClock
) -> None:
    engine, first, token = logged_in
    found = engine.logins.session(token)
    assert found.token is None
    assert (found.id, found.staff_id, found.csrf, found.lang) == (first.id, "anna", first.csrf, "en")
    # Within a minute nothing is written (a page view is one read).
    clock.advance(seconds=50)
    assert engine.logins.session(token).last_seen_at == first.last_seen_at
    assert _session_row(engine, first.id)["last_seen_at"] == first.last_seen_at
    # After a minute the idle expiry moves on.
    clock.advance(seconds=20)
    moved = engine.logins.session(token)
    assert moved.last_seen_at == clock.now
    assert moved.expires_at == clock.now + timedelta(minutes=SESSION_IDLE_MINUTES)
    assert _session_row(engine, first.id)["expires_at"] == moved.expires_at


def test_a_session_expires_when_idle(logged_in: tuple[Engine, WebSession, str], clock: FakeClock) -> None:
    engine, _, token = logged_in
    clock.advance(minutes=SESSION_IDLE_MINUTES - 1)
    engine.logins.session(token)
    clock.advance(minutes=SESSION_IDLE_MINUTES - 1)
    engine.logins.session(token)
    clock.advance(minutes=SESSION_IDLE_MINUTES)
    assert _failed_lookup(engine, token) == "expired"
    message = LoginFailed("expired").message("da")
    assert "udløbet" in message and "Log ind igen" in message


def test_a_session_never_lives_beyond_its_maximum(
    logged_in: tuple[Engine, WebSession, str], clock: FakeClock
) -> None:
    engine, first, token = logged_in
    end = first.created_at + timedelta(hours=SESSION_MAX_HOURS)
    while clock.now + timedelta(minutes=20) < end:
        clock.advance(minutes=20)
        assert engine.logins.session(token).expires_at <= end
    assert engine.logins.session(token).expires_at == end
    clock.set(end)
    assert _failed_lookup(engine, token) == "expired"


def test_logout_ends_the_session_and_may_be_repeated(logged_in: tuple[Engine, WebSession, str]) -> None:
    engine, first, token = logged_in
    engine.logins.logout(token)
    assert _failed_lookup(engine, token) == "expired"
    engine.logins.logout(token)
    engine.logins.logout("not a token")
    assert [e.actor for e in _access(engine, "logout")] == ["anna"]
    assert _failed_lookup(engine, "not a token") == "malformed"
    assert _failed_lookup(engine, first.id) == "malformed"  # the digest is no key


def test_the_language_is_kept_on_the_session(logged_in: tuple[Engine, WebSession, str]) -> None:
    engine, _, token = logged_in
    engine.logins.set_lang(token, "da")
    assert engine.logins.session(token).lang == "da"
    with pytest.raises(InvalidData):
        engine.logins.set_lang(token, "sv")
    engine.logins.logout(token)
    with pytest.raises(LoginFailed):
        engine.logins.set_lang(token, "en")


def test_expired_sessions_are_purged(logged_in: tuple[Engine, WebSession, str], clock: FakeClock) -> None:
    engine, _, token = logged_in
    clock.advance(minutes=10)
    fresh = engine.logins.login("anna", PASSWORD)
    assert engine.logins.purge_expired() == 0
    clock.advance(minutes=SESSION_IDLE_MINUTES - 5)
    assert engine.logins.purge_expired() == 1
    assert fresh.token is not None and engine.logins.session(fresh.token).staff_id == "anna"
    assert _failed_lookup(engine, token) == "expired"
    assert counts(engine)["web_sessions"] == 1


# -- what is logged -----------------------------------------------------------------------


def test_no_password_or_secret_in_the_logs(clocked_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        clocked_engine.logins.set_password(ADMIN, "anna", PASSWORD)
        with pytest.raises(InvalidData):
            clocked_engine.logins.set_password(ADMIN, "anna", "for kort")
        for name in ("anna", "ingen.saadan", "bo"):
            _failure(clocked_engine, name, OTHER)
        session = clocked_engine.logins.login("anna", PASSWORD)
        assert session.token is not None
        clocked_engine.logins.session(session.token)
        clocked_engine.logins.logout(session.token)
        _failed_lookup(clocked_engine, session.token)
    failures = [e for e in logs if e["event"] == "login_failed"]
    assert [e["reason"] for e in failures] == ["wrong"] * 3
    assert all(set(e) == {"event", "reason", "log_level"} for e in failures)
    text = repr(logs) + caplog.text + repr(_access(clocked_engine))
    for secret in (PASSWORD, OTHER, "for kort", session.token, session.csrf, "ingen.saadan"):
        assert secret not in text
    assert session.token not in _dump(clocked_engine)
    criteria = [e.criteria for e in _access(clocked_engine, "password_set")]
    assert criteria == [{"staff_id": "anna"}]


def test_the_names_are_public() -> None:
    assert forloeb.LoginFailed is LoginFailed and forloeb.WebSession is WebSession
    assert issubclass(LoginFailed, forloeb.ForloebError)


# -- two attempts at once ------------------------------------------------------------------


@pytest.mark.postgresql
def test_failures_at_the_same_time_all_count(pg_url: str) -> None:
    # Four wrong passwords at once: each write locks the row, so none is lost.
    # (Without the lock most rounds lose one; three rounds make a pass by luck rare.)
    threads = LOCKOUT_FAILURES - 1
    with Engine.open(pg_url, migrate=True, pool_size=threads + 2) as engine:
        for _round in range(3):
            engine.logins.set_password(ADMIN, "anna", PASSWORD)  # the count starts at 0
            barrier = threading.Barrier(threads)
            reasons: list[str] = []

            def attempt(barrier: threading.Barrier = barrier, reasons: list[str] = reasons) -> None:
                barrier.wait()
                try:
                    engine.logins.login("anna", OTHER)
                except LoginFailed as exc:
                    reasons.append(exc.reason)

            workers = [threading.Thread(target=attempt) for _ in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            assert reasons == ["wrong"] * threads
            row = _password_row(engine, "anna")
            assert (row["failed_count"], row["locked_until"]) == (threads, None)
        # The next one is the fifth in a row.
        assert _failure(engine, "anna", OTHER).reason == "locked"
