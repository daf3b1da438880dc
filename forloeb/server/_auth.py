"""Who a request acts as: its bearer token, or (behind a trusted single-sign-on
proxy) the staff login the proxy vouches for.

* ``Authorization: Bearer <token>``: the token's staff entry (``engine.tokens``).
* The trusted header (``ServerConfig.trusted_header``, off by default): the
  login the authenticating proxy put there, mapped to its staff entry as the
  CLI maps an operating-system login — only when the request comes from one
  of ``trusted_proxies``. From any other address the header is ignored (and
  logged): a client cannot name itself.

Either way the result is the plain actor (an id); every command resolves
its roles and teams in the staff register, so nothing in a request can
claim a role. Failures are counted per reason (``Failures``) and logged
without the token.
"""

from __future__ import annotations

import threading
from collections import Counter

from starlette.requests import Request

from forloeb.engine import Actor, AuthenticationFailed, Engine, NotInRegister, get_logger

from ._config import ServerConfig

_log = get_logger("forloeb.http")


class Failures:
    """Failed authentications per reason, since the process started (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, reason: str) -> None:
        with self._lock:
            self._counts[reason] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


def authenticate(request: Request, engine: Engine, config: ServerConfig, failures: Failures) -> Actor:
    """The actor of ``request``, or AuthenticationFailed (counted and logged)."""
    header = request.headers.get("authorization")
    host = request.client.host if request.client is not None else None
    try:
        if header is None and config.trusted_header:
            login = request.headers.get(config.trusted_header)
            if login is not None:
                if config.trusts(host):
                    try:
                        actor = engine.staff.actor_for_login(login)
                    except NotInRegister as exc:  # a login the register does not know: 403
                        failures.add(f"sso_{exc.reason}")
                        _log.warning("authentication_failed", reason=f"sso_{exc.reason}", client=host)
                        raise
                    request.state.staff_id = actor.id
                    return actor
                _log.warning("trusted_header_ignored", client=host, header=config.trusted_header)
        if header is None:
            raise AuthenticationFailed("missing")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("malformed")
        actor = engine.tokens.authenticate(token.strip())
    except AuthenticationFailed as exc:
        failures.add(exc.reason)
        _log.warning("authentication_failed", reason=exc.reason, client=host)
        raise
    request.state.staff_id = actor.id
    return actor


__all__ = ["Failures", "authenticate"]
