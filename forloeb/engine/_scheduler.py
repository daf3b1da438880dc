"""APScheduler 3.x wiring: the sweep, the dispatcher and the daily digest as interval jobs.

The jobs live in a :class:`MemoryJobStore` of each process: APScheduler 3.x
must never share a job store between schedulers (duplicate or missed runs,
DESIGN "Facts about the libraries"). Several processes on several nodes may
each run their own scheduler, because the work is safe to repeat: the sweep
locks rows and inserts reminders on a unique key, the dispatcher claims
outbox rows with a lease, and a digest's message id is unique per day.

``coalesce=True`` and ``max_instances=1``: a run that is late (a slow
database, a suspended laptop) is done once, not once per missed interval,
and never overlaps itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ._calendar import COPENHAGEN
from ._checks import check_interval, parse_digest_time
from ._errors import InvalidData
from ._logging import get_logger

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler


class Jobs(Protocol):
    """What the scheduler runs (the Engine is one): nothing else of it is touched."""

    def sweep(self) -> Any: ...

    def dispatch(self) -> Any: ...

    def send_digests(self) -> Any: ...


_log = get_logger()


def _job(name: str, work: Callable[[], Any], describe: Callable[[Any], dict[str, Any]]) -> Callable[[], None]:
    """The job body: run, log the outcome; an error is logged and the next run tries again.

    During an outage (the database gone for minutes) every run fails the same
    way: the first failure is logged with its traceback, the next ones not,
    and a line says when the job works again.
    """
    failing_since: list[float] = []

    def run() -> None:
        started = time.perf_counter()
        try:
            result = work()
        except Exception as exc:
            if not failing_since:
                failing_since.append(time.monotonic())
                _log.exception(f"{name}_failed")
            else:
                _log.debug(f"{name}_still_failing", error=type(exc).__name__)
            return
        if failing_since:
            _log.info(f"{name}_recovered", after_s=round(time.monotonic() - failing_since.pop(), 1))
        _log.info(f"{name}_run", ms=round((time.perf_counter() - started) * 1000, 1), **describe(result))

    run.__name__ = name
    return run


def build_scheduler(
    jobs: Jobs,
    *,
    background: bool,
    sweep_every: float = 60,
    dispatch_every: float = 15,
    digest_at: str | None = None,
) -> BaseScheduler:
    """A scheduler (not started) with the sweep and dispatch jobs, and the digest if ``digest_at``.

    ``background``: a :class:`BackgroundScheduler` for apps (a daemon thread),
    else a :class:`BlockingScheduler` whose ``start()`` runs until shutdown
    (``forloeb scheduler run``).
    """
    # Imported here: only processes that schedule pay for APScheduler.
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    sweep_s = check_interval("sweep_every", sweep_every)
    dispatch_s = check_interval("dispatch_every", dispatch_every)
    digest = parse_digest_time(digest_at) if digest_at is not None else None
    options: dict[str, Any] = {
        "jobstores": {"default": MemoryJobStore()},
        # Three jobs, each at most one instance: three threads never queue.
        "executors": {"default": ThreadPoolExecutor(max_workers=3)},
        "job_defaults": {
            "coalesce": True,
            "max_instances": 1,
            # A run late by up to one interval (at least 30 s) still runs;
            # later than that it is skipped and the next one catches up.
            "misfire_grace_time": 30,
        },
        "timezone": COPENHAGEN,
    }
    scheduler: BaseScheduler = BackgroundScheduler(**options) if background else BlockingScheduler(**options)
    # The first run at once: a restarted node catches up without waiting an interval.
    first = datetime.now(COPENHAGEN)
    scheduler.add_job(
        _job("sweep", jobs.sweep, lambda raised: {"raised": len(raised)}),
        IntervalTrigger(seconds=sweep_s),
        id="sweep",
        next_run_time=first,
        misfire_grace_time=max(30, int(sweep_s)),
    )
    scheduler.add_job(
        _job(
            "dispatch",
            jobs.dispatch,
            lambda r: {"delivered": r.delivered, "retried": r.retried, "dead": r.dead},
        ),
        IntervalTrigger(seconds=dispatch_s),
        id="dispatch",
        next_run_time=first,
        misfire_grace_time=max(30, int(dispatch_s)),
    )
    if digest is not None:
        scheduler.add_job(
            _job("digest", jobs.send_digests, lambda ids: {"enqueued": len(ids)}),
            CronTrigger(hour=digest[0], minute=digest[1], timezone=COPENHAGEN),
            id="digest",
            # A digest is once a day: an hour late is still worth sending.
            misfire_grace_time=3600,
        )
    return scheduler


def run_blocking(
    jobs: Jobs,
    *,
    sweep_every: float = 60,
    dispatch_every: float = 15,
    digest_at: str | None = None,
    stopping: threading.Event | None = None,
    on_start: Callable[[], None] | None = None,
) -> None:
    """Run the jobs in this (the main) thread until SIGINT or SIGTERM; a job in flight finishes.

    ``stopping`` is set first, so that a sweep or dispatch in flight stops
    between engagements or messages (the jobs ask it): shutdown then takes at
    most one delivery's own timeout."""
    import signal

    blocking = build_scheduler(
        jobs,
        background=False,
        sweep_every=sweep_every,
        dispatch_every=dispatch_every,
        digest_at=digest_at,
    )

    def stop(signum: int, _frame: Any) -> None:
        # From the handler, as APScheduler's BlockingScheduler expects:
        # wait=True lets a sweep or delivery in flight finish and record its
        # outcome; start() then returns in the main thread.
        if stopping is not None:
            stopping.set()
        if blocking.running:
            blocking.shutdown(wait=True)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if on_start is not None:
            on_start()
        blocking.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class SchedulerControl:
    """The engine's scheduler: at most one background scheduler per engine, and the
    flag that tells its jobs to stop between items when it shuts down."""

    def __init__(self, jobs: Jobs) -> None:
        self._jobs = jobs
        self._lock = threading.Lock()
        self._scheduler: BaseScheduler | None = None
        # Set while a scheduler shuts down: sweep and dispatch stop between
        # engagements and messages, so shutdown waits for one at most.
        self.stopping = threading.Event()

    def start(self, *, sweep_every: float, dispatch_every: float, digest_at: str | None) -> None:
        with self._lock:
            if self._scheduler is not None:
                raise InvalidData("the scheduler is already running", detail_da="scheduleren kører allerede")
            self.stopping.clear()
            scheduler = build_scheduler(
                self._jobs,
                background=True,
                sweep_every=sweep_every,
                dispatch_every=dispatch_every,
                digest_at=digest_at,
            )
            scheduler.start()
            self._scheduler = scheduler

    def stop(self, wait: bool = True) -> None:
        with self._lock:
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            self.stopping.set()
            scheduler.shutdown(wait=wait)

    def run(
        self,
        sweep_every: float,
        dispatch_every: float,
        digest_at: str | None,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        self.stopping.clear()
        run_blocking(
            self._jobs,
            sweep_every=sweep_every,
            dispatch_every=dispatch_every,
            digest_at=digest_at,
            stopping=self.stopping,
            on_start=on_start,
        )
