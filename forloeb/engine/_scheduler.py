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

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ._errors import InvalidData
from .notifiers.digest import COPENHAGEN

if TYPE_CHECKING:
    from ._engine import Engine

_log = structlog.get_logger("forloeb")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_digest_time(value: str) -> tuple[int, int]:
    """(hour, minute) of "HH:MM", or InvalidData."""
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidData(
            f"digest_at must be a time HH:MM (e.g. 07:30), not {value!r}",
            detail_da=f"digest_at skal være et klokkeslæt TT:MM (fx 07:30), ikke {value!r}",
        )
    return int(match.group(1)), int(match.group(2))


def _check_interval(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86400:
        raise InvalidData(
            f"{name} must be a number of seconds between 0 and 86400, not {value!r}",
            detail_da=f"{name} skal være et antal sekunder mellem 0 og 86400, ikke {value!r}",
        )
    return float(value)


def _job(name: str, work: Callable[[], Any], describe: Callable[[Any], dict[str, Any]]) -> Callable[[], None]:
    """The job body: run, log the outcome; an error is logged and the next run tries again."""

    def run() -> None:
        started = time.perf_counter()
        try:
            result = work()
        except Exception:
            _log.exception(f"{name}_failed")
            return
        _log.info(f"{name}_run", ms=round((time.perf_counter() - started) * 1000, 1), **describe(result))

    run.__name__ = name
    return run


def build_scheduler(
    engine: Engine,
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
    sweep_s = _check_interval("sweep_every", sweep_every)
    dispatch_s = _check_interval("dispatch_every", dispatch_every)
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
        _job("sweep", engine.sweep, lambda raised: {"raised": len(raised)}),
        IntervalTrigger(seconds=sweep_s),
        id="sweep",
        next_run_time=first,
        misfire_grace_time=max(30, int(sweep_s)),
    )
    scheduler.add_job(
        _job(
            "dispatch",
            engine.dispatch,
            lambda r: {"delivered": r.delivered, "retried": r.retried, "dead": r.dead},
        ),
        IntervalTrigger(seconds=dispatch_s),
        id="dispatch",
        next_run_time=first,
        misfire_grace_time=max(30, int(dispatch_s)),
    )
    if digest is not None:
        scheduler.add_job(
            _job("digest", engine.send_digests, lambda ids: {"enqueued": len(ids)}),
            CronTrigger(hour=digest[0], minute=digest[1], timezone=COPENHAGEN),
            id="digest",
            # A digest is once a day: an hour late is still worth sending.
            misfire_grace_time=3600,
        )
    return scheduler
