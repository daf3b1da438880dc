"""PostgreSQL connection settings: timeouts that keep a dead network from
blocking a command (or a scheduler's shutdown) indefinitely.

libpq waits for the operating system by default: a statement sent into a
network that silently drops packets waits for an answer that never comes
(more than 100 s in the reliability run, and SIGTERM waited with it). Four
settings bound that, each configurable in the URL's query like the pool's:

``statement_timeout`` (seconds, default 30; 0 turns it off)
    The server cancels a statement that runs longer (``-c
    statement_timeout`` in the connection's ``options``), and the client
    gives up on a unit of work (a write transaction, a read, an audit query)
    that has taken that long plus one second: it cuts the connection
    (:class:`Watchdog`), so a network that stopped delivering fails the
    command with ``StoreUnavailable`` instead of hanging. (The server's
    timeout alone cannot help there: its cancellation is lost with the
    network.) Migrations run without either: building an index may take
    longer. Streaming the whole event log (``audit verify``) is not a unit
    with a deadline; keepalives and ``tcp_user_timeout`` bound it.
``keepalives``, ``keepalives_idle``, ``keepalives_interval``, ``keepalives_count``
    libpq's TCP keepalives (default on, 10 s idle, then a probe every 5 s, 3
    unanswered: a silent peer is found in about 25 s).
``tcp_user_timeout`` (milliseconds, libpq's unit; default 30000)
    Data the server has not acknowledged for this long closes the connection.

The last two are libpq's own parameters: a value in the URL goes to libpq
as given; only their defaults are set here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .base import StoreUnavailable

DEFAULT_STATEMENT_TIMEOUT = 30.0  # seconds
# The client waits this much longer than the server's timeout, so that the
# server's own cancellation (a clean error; the connection stays usable)
# arrives first whenever the network still carries it.
CLIENT_GRACE = 1.0  # seconds
# libpq parameters and the defaults we give them when the URL does not.
LIBPQ_DEFAULTS: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
OWN_OPTIONS = ("statement_timeout",)


def statement_timeout(query: Mapping[str, Any]) -> float:
    """``?statement_timeout=N`` (seconds) from a server URL, checked; the default when absent."""
    if "statement_timeout" not in query:
        return DEFAULT_STATEMENT_TIMEOUT
    raw = query["statement_timeout"]
    try:
        value = float(raw if isinstance(raw, str) else raw[-1])
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses NaN
        raise StoreUnavailable(f"statement_timeout must be a number of seconds (0 or more), not {raw!r}")
    return value


def connect_args(query: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """libpq arguments for the settings the URL leaves out, and the statement timeout."""
    args: dict[str, Any] = {k: v for k, v in LIBPQ_DEFAULTS.items() if k not in query}
    if timeout > 0:
        ms = max(1, round(timeout * 1000))
        given = query.get("options")
        given = given if given is None or isinstance(given, str) else given[-1]
        if given is None or "statement_timeout" not in given:
            args["options"] = f"{given} -c statement_timeout={ms}" if given else f"-c statement_timeout={ms}"
    return args


class Watchdog:
    """Gives up on PostgreSQL work that gets no answer in time.

    The store arms it with a connection's socket when a unit of work starts
    (a write transaction, a read, an audit query, a checkout's ping) and
    disarms it when the unit ends; a thread that wakes every ``tick``
    seconds shuts down the socket of any unit armed for longer than
    ``limit``. The driver, blocked waiting for an answer, then sees the
    connection closed and fails (an OperationalError without SQLSTATE, which
    the store reports as ``StoreUnavailable`` and the pool discards). Only
    the socket is touched, so this works whatever the driver's version, and
    arming costs a lock and a dict insert, not a thread switch.

    A socket is shut down only while its unit is armed (both under one lock),
    so a connection back in the pool is never cut.
    """

    def __init__(self, limit: float, *, tick: float = 0.25) -> None:
        self.limit = limit
        self.tick = tick
        self._lock = threading.Lock()
        self._armed: dict[int, tuple[float, int]] = {}
        self._next = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._cut: set[int] = set()  # tokens whose socket was shut down, until disarmed
        self.cut = 0  # sockets shut down so far (for tests and logs)

    @property
    def message(self) -> str:
        return f"no answer from the database within {self.limit:g} s; connection closed"

    def arm(self, fileno: int) -> int:
        """Start watching the socket ``fileno``; the token to disarm with."""
        if self._pid != os.getpid():  # first use, or a forked child: no thread yet
            self._start()
        with self._lock:
            self._next += 1
            self._armed[self._next] = (time.monotonic() + self.limit, fileno)
            return self._next

    def disarm(self, token: int) -> bool:
        """Stop watching; True when the deadline passed and the socket was cut."""
        with self._lock:
            if self._armed.pop(token, None) is not None:
                return False
            if token in self._cut:
                self._cut.discard(token)
                return True
            return False

    @contextmanager
    def watching(self, fileno: int | None) -> Iterator[None]:
        """Watch the socket for the block; a failure after a cut is ``StoreUnavailable``
        saying so (the driver only knows the server "closed the connection")."""
        if fileno is None:
            yield
            return
        token = self.arm(fileno)
        try:
            yield
        except BaseException as exc:
            if self.disarm(token):
                raise StoreUnavailable(self.message) from exc
            raise
        else:
            self.disarm(token)

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and self._pid == os.getpid() and thread is not threading.current_thread():
            thread.join(timeout=self.tick * 4)

    def _start(self) -> None:
        with _START_LOCK:
            if self._pid == os.getpid():
                return  # another thread started it
            # In a forked child the parent's lock may have been held at the
            # fork, and its thread and armed units are the parent's: start afresh.
            self._lock = threading.Lock()
            self._armed = {}
            self._cut = set()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="forloeb-pg-watchdog", daemon=True)
            self._thread.start()
            self._pid = os.getpid()

    def _run(self) -> None:
        stop = self._stop
        while not stop.wait(self.tick):
            now = time.monotonic()
            with self._lock:
                late = [token for token, (deadline, _) in self._armed.items() if deadline <= now]
                for token in late:
                    _, fileno = self._armed.pop(token)
                    _shut_down(fileno)
                    self._cut.add(token)
                    self.cut += 1


_START_LOCK = threading.Lock()


def _new_start_lock() -> None:
    global _START_LOCK
    _START_LOCK = threading.Lock()


# Held by another thread at a fork, the child's copy would never be released.
os.register_at_fork(after_in_child=_new_start_lock)


def _shut_down(fileno: int) -> None:
    """Shut the socket down for both directions (through a duplicate of its
    descriptor, which is closed again; the driver's own stays open until the
    driver closes it, so the number is never reused under its feet)."""
    with contextlib.suppress(OSError):
        dup = socket.socket(fileno=os.dup(fileno))
        try:
            dup.shutdown(socket.SHUT_RDWR)
        finally:
            dup.close()


def client_deadline(timeout: float) -> float | None:
    """How long the client waits for a unit of work: the server's timeout plus
    :data:`CLIENT_GRACE` (None when the timeout is off)."""
    return timeout + CLIENT_GRACE if timeout > 0 else None
