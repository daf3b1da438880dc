"""``engine.logins``: passwords and sessions of the web console (issue 15).

A member of staff logs in with their staff id (or the entry's login name)
and a password; the console then carries a session secret in a cookie.

*Passwords* are kept as argon2id hashes (``argon2.PasswordHasher``'s
defaults, which follow RFC 9106's recommendations), never as text. Unlike an
API token's 256 random bits, a password is chosen by a person and can be
guessed: a slow, salted, memory-hard hash is what makes a stolen table
expensive to attack. An admin sets anyone's password, a member of staff
their own (``set_password``; an access-log entry ``password_set``).

*Logging in* answers an unknown name, a wrong password and an entry without
a password with the same message, after the same work (an unknown name
verifies against a dummy hash), so that the answer does not tell whether a
name exists. Failed attempts on an entry are counted in their own committed
write (the row locked: two attempts at once both count); after
:data:`LOCKOUT_FAILURES` in a row the entry is locked for
:data:`LOCKOUT_MINUTES` minutes, during which even the right password is
refused. Every failure on a known entry is a refusal in the access log, a
success an entry ``login``. Neither the password nor the session secret is
ever logged or put in a message.

*Sessions*: the secret is 256 random bits, handed out once by :meth:`Logins.login`;
the table keeps its SHA-256 digest as the session's id (as for API tokens, a
fast digest suffices for a random secret). A session ends after
:data:`SESSION_IDLE_MINUTES` without a page view and never lives beyond
:data:`SESSION_MAX_HOURS` from the login. Looking a session up is one read
transaction; the idle expiry is moved on at most once a minute (a write), so
that a page view stays cheap. A session of a deactivated entry fails at its
next lookup (and is deleted). Each session has its own CSRF token for the
console's forms.

All times come from the kernel's clock.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ._calendar import COPENHAGEN
from ._checks import check_text
from ._errors import ForloebError, InvalidData
from ._i18n import DEFAULT_LANG, LANGS, Lang
from ._kernel import Kernel
from ._logging import get_logger
from ._register import ADMIN, StaffMember
from ._tokens import token_digest
from ._types import Actor

LOCKOUT_FAILURES = 5
LOCKOUT_MINUTES = 15
SESSION_IDLE_MINUTES = 30
SESSION_MAX_HOURS = 12
# A page view records itself (moving the idle expiry on) at most this often.
TOUCH_SECONDS = 60
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_CLIENT = 100
MANAGERS = frozenset({ADMIN})
# secrets.token_urlsafe(32): 43 URL-safe base64 characters.
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")
# What a client description keeps: printable characters of the Basic Multilingual Plane.
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]")

_log = get_logger()


# The SHA-256 digest kept in place of a session secret (hex): the session's id,
# made as an API token's is.
session_digest = token_digest


@dataclass(frozen=True, kw_only=True)
class WebSession:
    """A session of the web console. ``token`` is the secret for the cookie: only on
    the session :meth:`Logins.login` returns (None on lookups); it and the CSRF
    token are left out of ``repr`` so that a logged session shows neither."""

    token: str | None = field(repr=False)
    id: str
    staff_id: str
    display_name: str
    # The entry's roles and teams as the register holds them at this lookup.
    roles: frozenset[str]
    teams: frozenset[str]
    csrf: str = field(repr=False)
    lang: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class LoginFailed(ForloebError):
    """A login or a session lookup that did not succeed. ``reason``: ``wrong`` (an
    unknown name, a wrong password, or no password set: one message for all three),
    ``locked`` (``until``: when to try again), ``inactive`` (the right password of a
    deactivated entry), ``expired`` (a session expired, logged out, unknown or of a
    deactivated entry) or ``malformed``. Never names the password or the secret."""

    code = "login_failed"

    def __init__(self, reason: str, *, until: datetime | None = None) -> None:
        self.reason = reason if reason in _REASONS else "wrong"
        self.until = until
        super().__init__(reason=self.reason)

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        da, en = _REASONS[self.reason]
        text = da if lang == "da" else en
        if self.until is not None:
            return text.format(time=self.until.astimezone(COPENHAGEN).strftime("%H:%M"))
        return text.format(time="?")


_REASONS: dict[str, tuple[str, str]] = {
    "wrong": ("Forkert brugernavn eller adgangskode.", "Wrong user name or password."),
    "locked": (
        "For mange forkerte forsøg: kontoen er låst. Prøv igen efter kl. {time}.",
        "Too many failed attempts: the account is locked. Try again after {time} (Danish time).",
    ),
    "inactive": (
        "Medarbejderen er ikke aktiv i personaleregistret.",
        "The staff member is not active in the staff register.",
    ),
    "expired": (
        "Sessionen er udløbet eller logget ud. Log ind igen.",
        "The session has expired or was logged out. Log in again.",
    ),
    "malformed": (
        "Login-oplysningerne har ikke den rigtige form.",
        "The login details are not well-formed.",
    ),
}


class Logins:
    """Bound to one engine: ``engine.logins``."""

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel
        # argon2id with the library's defaults; a stored hash made with weaker
        # parameters is replaced at its next successful login.
        self._hasher = PasswordHasher()
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    # -- passwords ------------------------------------------------------------------

    def set_password(self, actor: Actor, staff_id: str, password: str) -> None:
        """Set the password of ``staff_id`` (an active entry): admins for anyone, a
        member of staff for themself. 12 to 1024 characters, not the staff id or login
        name. Lifts a lockout. An access-log entry ``password_set`` (never the password)."""
        staff_id = check_text("staff", staff_id, name_da="medarbejder")
        if not isinstance(password, str):
            raise InvalidData("a password must be text", detail_da="en adgangskode skal være tekst")
        acting = self._kernel.resolve(actor)
        role = None
        if acting.id != staff_id:
            role = self._kernel.role_for(actor, MANAGERS, "set another staff member's password")
        entry = self._kernel.staff_entry(staff_id)
        if entry is None or not entry.active:
            raise InvalidData(
                f"no active staff member {staff_id!r}", detail_da=f"ingen aktiv medarbejder {staff_id!r}"
            )
        _check_policy(password, entry)
        values = {
            "staff_id": entry.id,
            "password_hash": self._hasher.hash(password),
            "changed_at": self._kernel.clock(),
            # The admin behind an impersonation is who set it.
            "changed_by": getattr(acting, "impersonator", None) or acting.id,
        }
        with self._kernel.write() as tx:
            tx.put_staff_password(values)
            self._kernel.log_access(actor, "password_set", criteria={"staff_id": entry.id}, role=role)

    def has_password(self, staff_id: str) -> bool:
        """Whether ``staff_id`` has a password (and so can log in to the console)."""
        with self._kernel.read() as tx:
            return tx.get_staff_password(check_text("staff", staff_id, name_da="medarbejder")) is not None

    # -- logging in -----------------------------------------------------------------------

    def login(
        self, name: str, password: str, *, client: str | None = None, lang: str | None = None
    ) -> WebSession:
        """A new session for the entry whose staff id or login name is ``name``, if
        ``password`` is its password; else LoginFailed (see the module's text).
        ``client``: what the console knows of the browser (an address, kept with the
        session, cut to 100 characters); ``lang``: "da" or "en", the session's language."""
        if lang is not None and lang not in LANGS:
            raise InvalidData("lang must be da or en", detail_da="sprog skal være da eller en")
        if (
            not isinstance(name, str)
            or not isinstance(password, str)
            or not name.strip()
            or len(name) > 200
            or "\x00" in name
            or not password
            or len(password) > MAX_PASSWORD
            or not _encodable(name, password)
        ):
            raise self._failed("malformed")
        name = name.strip()
        with self._kernel.read() as rtx:
            staff = rtx.get_staff(name) or rtx.get_staff_by_login(name)
            stored = rtx.get_staff_password(staff["id"]) if staff is not None else None
        if staff is None or stored is None:
            # The same work as a wrong password: whether the name exists stays unknown.
            self._matches(self._dummy_hash(), password)
            if staff is not None:
                self._kernel.refused(Actor(staff["id"]), "log in", reason="no_password")
            raise self._failed("wrong")
        staff_id = str(staff["id"])
        now = self._kernel.clock()
        if _locked(stored, now):
            self._kernel.refused(Actor(staff_id), "log in", reason="locked")
            raise self._failed("locked", until=stored["locked_until"])
        ok = self._matches(stored["password_hash"], password)
        rehash = self._hasher.hash(password) if ok and self._needs_rehash(stored["password_hash"]) else None
        outcome, until, session = self._settle(staff_id, stored, ok, rehash, now, client, lang)
        if session is None:
            raise self._failed(outcome, until=until)
        return session

    def _settle(
        self,
        staff_id: str,
        stored: Any,
        ok: bool,
        rehash: str | None,
        now: datetime,
        client: str | None,
        lang: str | None,
    ) -> tuple[str, datetime | None, WebSession | None]:
        """The outcome of a verified attempt, written in one transaction on the locked
        password row: a failure counted (committed, although login then raises), or
        a session opened."""
        with self._kernel.write() as tx:
            row = tx.lock_staff_password(staff_id)
            if row is None or row["password_hash"] != stored["password_hash"]:
                # Removed or changed since it was read: the attempt checked an old password.
                return "wrong", None, None
            if _locked(row, now):  # another attempt locked it meanwhile
                self._kernel.refused(Actor(staff_id), "log in", reason="locked")
                return "locked", row["locked_until"], None
            if not ok:
                count = int(row["failed_count"] or 0) + 1
                changes: dict[str, Any] = {"failed_count": count, "last_failure_at": now}
                if count >= LOCKOUT_FAILURES:
                    changes.update(failed_count=0, locked_until=now + timedelta(minutes=LOCKOUT_MINUTES))
                tx.update_staff_password(staff_id, changes)
                reason = "locked" if "locked_until" in changes else "wrong"
                self._kernel.refused(Actor(staff_id), "log in", reason=reason)
                return reason, changes.get("locked_until"), None
            entry = self._kernel.staff_entry(staff_id)
            if entry is None or not entry.active:
                self._kernel.refused(Actor(staff_id), "log in", reason="inactive")
                return "inactive", None, None
            changes = {}
            if row["failed_count"] or row["locked_until"] is not None:
                changes.update(failed_count=0, locked_until=None)
            if rehash is not None:
                changes["password_hash"] = rehash
            if changes:
                tx.update_staff_password(staff_id, changes)
            token = secrets.token_urlsafe(32)
            values = {
                "id": session_digest(token),
                "staff_id": staff_id,
                "csrf": secrets.token_urlsafe(32),
                "lang": lang,
                "created_at": now,
                "last_seen_at": now,
                "expires_at": _expiry(now, now),
                "client": _client(client),
            }
            tx.insert_web_session(values)
            criteria = {"client": values["client"]} if values["client"] else None
            self._kernel.log_access(Actor(staff_id), "login", criteria=criteria)
        return "ok", None, _session(values, entry, token)

    # -- sessions ------------------------------------------------------------------------

    def session(self, token: str) -> WebSession:
        """The session whose secret is ``token``, or LoginFailed("expired") when it is
        unknown, expired, logged out or of a deactivated entry. Moves the idle expiry
        on (written at most once a minute)."""
        digest = self._digest(token)
        with self._kernel.read() as tx:
            row = tx.get_web_session(digest)
            staff = tx.get_staff(row["staff_id"]) if row is not None else None
        now = self._kernel.clock()
        if row is None or not hmac.compare_digest(str(row["id"]), digest) or row["expires_at"] <= now:
            raise self._failed("expired", quiet=True)
        entry = StaffMember.from_row(staff) if staff is not None else None
        if entry is None or not entry.active:
            # Ended for good: reactivating the entry does not bring it back.
            with self._kernel.write() as wtx:
                wtx.delete_web_session(digest)
            raise self._failed("expired", quiet=True)
        values = dict(row)
        if now - row["last_seen_at"] >= timedelta(seconds=TOUCH_SECONDS):
            touched = {"last_seen_at": now, "expires_at": _expiry(row["created_at"], now)}
            with self._kernel.write() as wtx:
                if not wtx.update_web_session(digest, touched):
                    raise self._failed("expired", quiet=True)  # logged out meanwhile
            values.update(touched)
        return _session(values, entry, None)

    def logout(self, token: str) -> None:
        """End the session whose secret is ``token`` (an access-log entry ``logout``).
        Ending one that is not there (any more) does nothing."""
        try:
            digest = self._digest(token)
        except LoginFailed:
            return
        with self._kernel.write() as tx:
            staff_id = tx.delete_web_session(digest)
            if staff_id is not None:
                entry = self._kernel.staff_entry(staff_id)
                if entry is not None and entry.active:
                    self._kernel.log_access(Actor(staff_id), "logout")

    def set_lang(self, token: str, lang: str) -> None:
        """Keep ``lang`` ("da" or "en") as the language of the session ``token``."""
        if lang not in LANGS:
            raise InvalidData("lang must be da or en", detail_da="sprog skal være da eller en")
        found = self.session(token)
        with self._kernel.write() as tx:
            if not tx.update_web_session(found.id, {"lang": lang}):
                raise self._failed("expired")

    def purge_expired(self) -> int:
        """Delete the sessions that have expired; how many."""
        with self._kernel.write() as tx:
            return tx.delete_expired_web_sessions(self._kernel.clock())

    # -- helpers ----------------------------------------------------------------------------

    def _digest(self, token: str) -> str:
        if not isinstance(token, str) or _SECRET.match(token) is None:
            raise self._failed("malformed", quiet=True)
        return session_digest(token)

    def _matches(self, hashed: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(hashed, password))
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError):
            _log.warning("password_hash_unusable")
            return False

    def _needs_rehash(self, hashed: str) -> bool:
        try:
            return bool(self._hasher.check_needs_rehash(hashed))
        except (InvalidHashError, ValueError):  # pragma: no cover - verified just before
            return False

    def _dummy_hash(self) -> str:
        """A hash of a random password with the hasher's parameters, made once."""
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
            return self._dummy

    def _failed(self, reason: str, *, until: datetime | None = None, quiet: bool = False) -> LoginFailed:
        # The reason only: never the name tried (it may be a password typed in the
        # wrong field), the password or a secret. A stale cookie is routine (info);
        # a failed login is worth a warning.
        if quiet:
            _log.info("session_refused", reason=reason)
        else:
            _log.warning("login_failed", reason=reason)
        return LoginFailed(reason, until=until)


def _check_policy(password: str, entry: StaffMember) -> None:
    """The password rules: 12 to 1024 characters, not the staff id or login name.
    The messages never repeat the password."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidData(
            f"a password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long",
            detail_da=f"en adgangskode skal være {MIN_PASSWORD} til {MAX_PASSWORD} tegn lang",
        )
    names = {entry.id.casefold(), (entry.login or "").casefold()}
    if password.strip().casefold() in names:
        raise InvalidData(
            "a password may not be the staff id or the login name",
            detail_da="en adgangskode må ikke være medarbejderens id eller login-navn",
        )
    if not _encodable(password):
        raise InvalidData(
            "a password must be text (it holds undecodable characters)",
            detail_da="en adgangskode skal være tekst (den indeholder tegn, der ikke kan læses)",
        )


def _encodable(*texts: str) -> bool:
    """Whether every text is UTF-8 (no lone surrogates from undecodable bytes)."""
    try:
        for text in texts:
            text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _locked(row: Any, now: datetime) -> bool:
    return row["locked_until"] is not None and row["locked_until"] > now


def _expiry(created_at: datetime, now: datetime) -> datetime:
    """Idle expiry from ``now``, never beyond the session's maximum age."""
    return min(now + timedelta(minutes=SESSION_IDLE_MINUTES), created_at + timedelta(hours=SESSION_MAX_HOURS))


def _client(client: str | None) -> str | None:
    """What is kept of the client: printable characters, at most 100 of them."""
    if not isinstance(client, str) or not client.strip():
        return None
    return _UNPRINTABLE.sub("?", client.strip())[:MAX_CLIENT]


def _session(values: Any, entry: StaffMember, token: str | None) -> WebSession:
    return WebSession(
        token=token,
        id=values["id"],
        staff_id=values["staff_id"],
        display_name=entry.display_name or entry.id,
        roles=entry.roles,
        teams=entry.teams,
        csrf=values["csrf"],
        lang=values["lang"],
        created_at=values["created_at"],
        last_seen_at=values["last_seen_at"],
        expires_at=values["expires_at"],
    )


__all__ = [
    "LOCKOUT_FAILURES",
    "LOCKOUT_MINUTES",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
    "LoginFailed",
    "Logins",
    "WebSession",
    "session_digest",
]
