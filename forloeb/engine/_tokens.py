"""``engine.tokens``: bearer tokens of the HTTP API, each acting as an entry of
the staff register (issue 14).

A token is ``flb_<id>_<secret>``: ``id`` is a public prefix (64 random bits, by
which the token is found, listed and revoked) and ``secret`` 256 random bits.
The secret is shown once, when the token is created; the database keeps only
the SHA-256 digest of the whole token. A fast digest is right here, unlike
for passwords: a 256-bit random secret cannot be guessed from its digest by
trying candidates, so a slow, salted hash (bcrypt, Argon2) would only cost
every request time. The digests are compared in constant time.

Only admins create, list and revoke tokens (as they manage the register);
each of those is an entry of the access log. A token grants what its entry
grants, checked on every request: :meth:`Tokens.authenticate` returns the
plain actor (its id, no roles), and every command resolves it in the
register as it resolves any actor. Nothing in a request can add a role. A
deactivated entry's tokens stop working with it.

A failed authentication raises :class:`AuthenticationFailed` (never naming
the token's secret); when the token's id is known (revoked, expired, a wrong
secret) the attempt is also a refusal in the access log, attributed to the
token's staff member.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ._checks import check_text
from ._errors import ForloebError, InvalidData
from ._i18n import DEFAULT_LANG, Lang
from ._kernel import Kernel
from ._logging import get_logger
from ._register import ADMIN, StaffMember
from ._types import Actor

MANAGERS = frozenset({ADMIN})
PREFIX = "flb"
# flb_<16 hex>_<43 url-safe base64 characters>
_TOKEN = re.compile(r"^flb_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
MAX_DAYS = 3650

_log = get_logger()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def token_digest(token: str) -> str:
    """The SHA-256 digest kept in place of the token (hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class ApiToken:
    """What is kept about a token (never its secret)."""

    id: str
    staff_id: str
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> ApiToken:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    def status(self, now: datetime) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "staff_id": self.staff_id,
            "name": self.name,
            "created_at": _iso(self.created_at),
            "created_by": self.created_by,
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "revoked_by": self.revoked_by,
        }


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is the secret to hand over (shown once), ``info`` what is kept."""

    token: str
    info: ApiToken


class AuthenticationFailed(ForloebError):
    """A request without a usable credential: no token, a malformed, unknown,
    expired or revoked one, or one whose staff member is deactivated. The
    message never repeats the token."""

    code = "authentication_failed"

    def __init__(self, reason: str) -> None:
        # reason: missing, malformed, unknown, expired, revoked, inactive
        self.reason = reason
        super().__init__(reason=reason)

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        da, en = _REASONS.get(self.reason, _REASONS["unknown"])
        return da if lang == "da" else en


_REASONS: dict[str, tuple[str, str]] = {
    "missing": (
        "Anmodningen mangler en API-nøgle (Authorization: Bearer …).",
        "The request has no API token (Authorization: Bearer …).",
    ),
    "malformed": ("API-nøglen har ikke den rigtige form.", "The API token is not well-formed."),
    "unknown": ("API-nøglen er ukendt.", "The API token is not known."),
    "expired": ("API-nøglen er udløbet.", "The API token has expired."),
    "revoked": ("API-nøglen er tilbagekaldt.", "The API token has been revoked."),
    "inactive": (
        "Medarbejderen, som API-nøglen tilhører, er ikke aktiv i personaleregistret.",
        "The staff member the API token belongs to is not active in the staff register.",
    ),
}


class Tokens:
    """Bound to one engine: ``engine.tokens``."""

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel

    def create(
        self, admin: Actor, staff_id: str, *, name: str, expires_in_days: int | None = None
    ) -> IssuedToken:
        """A new token acting as ``staff_id`` (an active entry of the register), named
        ``name`` (what it is for), valid ``expires_in_days`` days (None: until revoked).
        Admins only. The secret is in the result and nowhere else."""
        role = self._kernel.role_for(admin, MANAGERS, "create an API token")
        staff_id = check_text("staff", staff_id, name_da="medarbejder")
        name = check_text("name", name, name_da="navn")
        if expires_in_days is not None and (
            isinstance(expires_in_days, bool)
            or not isinstance(expires_in_days, int)
            or not 1 <= expires_in_days <= MAX_DAYS
        ):
            raise InvalidData(
                f"expires_in_days must be a whole number from 1 to {MAX_DAYS}",
                detail_da=f"udløb i dage skal være et helt tal fra 1 til {MAX_DAYS}",
            )
        entry = self._kernel.staff_entry(staff_id)
        if entry is None or not entry.active:
            raise InvalidData(
                f"no active staff member {staff_id!r}", detail_da=f"ingen aktiv medarbejder {staff_id!r}"
            )
        token_id = secrets.token_hex(8)
        token = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        now = self._kernel.clock()
        acting = self._kernel.resolve(admin)
        values = {
            "id": token_id,
            "staff_id": entry.id,
            "name": name,
            "secret_hash": token_digest(token),
            "created_at": now,
            "created_by": acting.id,
            "expires_at": now + timedelta(days=expires_in_days) if expires_in_days else None,
            "revoked_at": None,
            "revoked_by": None,
        }
        info = ApiToken.from_row(values)
        with self._kernel.write() as tx:
            tx.insert_api_token(values)
            criteria = {k: v for k, v in info.to_dict().items() if v is not None}
            self._kernel.log_access(admin, "token_create", criteria=criteria, role=role)
        return IssuedToken(token, info)

    def list(self, admin: Actor, *, staff_id: str | None = None) -> builtins.list[ApiToken]:
        """Every token (or ``staff_id``'s), oldest first; secrets are not kept. Admins only."""
        self._kernel.role_for(admin, MANAGERS, "list API tokens")
        with self._kernel.read() as tx:
            return [ApiToken.from_row(r) for r in tx.list_api_tokens(staff_id)]

    def revoke(self, admin: Actor, token_id: str) -> ApiToken:
        """Revoke the token ``token_id`` (its prefix): refused on every request from now on.
        Revoking twice keeps the first revocation. Admins only."""
        role = self._kernel.role_for(admin, MANAGERS, "revoke an API token")
        token_id = check_text("token", token_id, name_da="nøgle")
        with self._kernel.write() as tx:
            row = tx.lock_api_token(token_id)
            if row is None:
                raise InvalidData(f"no API token {token_id!r}", detail_da=f"ingen API-nøgle {token_id!r}")
            if row["revoked_at"] is not None:
                return ApiToken.from_row(row)
            acting = self._kernel.resolve(admin)
            changes = {"revoked_at": self._kernel.clock(), "revoked_by": acting.id}
            tx.revoke_api_token(token_id, changes)
            self._kernel.log_access(
                admin, "token_revoke", criteria={"id": token_id, "staff_id": row["staff_id"]}, role=role
            )
        return ApiToken.from_row({**row, **changes})

    def authenticate(self, token: str) -> Actor:
        """The actor a bearer ``token`` acts as (its staff id; the roles and teams come
        from the register on every command), or AuthenticationFailed."""
        found = _TOKEN.match(token) if isinstance(token, str) else None
        if found is None:
            raise self._failed("malformed")
        token_id = found["id"]
        # One read transaction for the token and its staff entry (a request's
        # whole cost of authenticating; the command resolves the actor again).
        with self._kernel.read() as tx:
            row = tx.get_api_token(token_id)
            staff = tx.get_api_token_staff(row["staff_id"]) if row is not None else None
        if row is None:
            raise self._failed("unknown", token_id)
        info = ApiToken.from_row(row)
        if not hmac.compare_digest(row["secret_hash"], token_digest(token)):
            raise self._failed("unknown", token_id, info.staff_id)
        status = info.status(self._kernel.clock())
        if status != "active":
            raise self._failed(status, token_id, info.staff_id)
        entry = StaffMember.from_row(staff) if staff is not None else None
        if entry is None or not entry.active:
            raise self._failed("inactive", token_id, info.staff_id)
        return Actor(entry.id)

    def _failed(self, reason: str, token_id: str | None = None, staff_id: str | None = None) -> ForloebError:
        # Never the token itself: its id (a public prefix) at most.
        _log.warning("authentication_failed", reason=reason, token_id=token_id)
        if staff_id is not None:
            self._kernel.refused(Actor(staff_id), f"authenticate with API token {token_id}", reason=reason)
        return AuthenticationFailed(reason)


__all__ = ["MANAGERS", "ApiToken", "AuthenticationFailed", "IssuedToken", "Tokens", "token_digest"]
